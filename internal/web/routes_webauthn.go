package web

import "net/http"

// webauthnRoutes registers the security-key pages: registration, renaming,
// removal, the second step of signing in, and re-authentication.
func (s *Server) webauthnRoutes(mux *http.ServeMux) {
}
