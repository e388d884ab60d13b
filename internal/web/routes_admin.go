package web

// adminRoutes registers the administrators' pages. To anybody else they
// answer as paths that do not exist.
func (s *Server) adminRoutes(mux *routeMux) {
	mux.Handle("GET /admin/critical/{$}", s.ui(s.adminCritical))
}
