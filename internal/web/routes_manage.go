package web

import "net/http"

// manageRoutes registers the project management pages and the management
// API.
func (s *Server) manageRoutes(mux *http.ServeMux) {
}
