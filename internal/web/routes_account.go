package web

import "net/http"

// accountRoutes registers the account pages: registration, email
// verification, password reset and the account settings.
func (s *Server) accountRoutes(mux *http.ServeMux) {
}
