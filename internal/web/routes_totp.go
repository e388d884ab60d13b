package web

import "net/http"

// totpRoutes registers the authenticator-app and recovery-code pages:
// set-up, removal, and the second step of signing in.
func (s *Server) totpRoutes(mux *http.ServeMux) {
}
