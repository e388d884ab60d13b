package web

// twoFactorRoutes registers the second step of signing in, the set-up
// pages of second factors and re-authentication.
func (s *Server) twoFactorRoutes(mux *routeMux) {
	mux.Handle("GET /account/two-factor/{$}", s.ui(s.twoFactorChooser))
	mux.Handle("GET /manage/account/two-factor/{$}", s.ui(s.twoFactorManage))
	mux.Handle("GET /manage/account/reauth/{$}", s.ui(s.reauthPage))
	mux.Handle("POST /manage/account/reauth/{$}", s.ui(s.reauthPost))
	s.totpRoutes(mux)
	s.webauthnRoutes(mux)
}
