package web

// statsRoutes registers the public two-factor statistics (the page, its
// JSON) and puts the live figures on /metrics. Without Options.Stats there
// is none of them.
func (s *Server) statsRoutes(mux *routeMux) {
	if s.opts.Stats == nil {
		return
	}
	s.reg.MustRegister(&statsCollector{svc: s.opts.Stats, log: s.log})
	mux.Handle("GET /stats/2fa", s.ui(s.statsPage))
	mux.HandleFunc("GET /stats/2fa.json", s.statsJSON)
}
