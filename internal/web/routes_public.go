package web

import "net/http"

// publicRoutes registers the public pages: projects, releases, users and
// search.
func (s *Server) publicRoutes(mux *http.ServeMux) {
}
