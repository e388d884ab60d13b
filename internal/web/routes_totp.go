package web

// totpRoutes registers the authenticator-app and recovery-code pages:
// set-up, removal, and the second step of signing in.
func (s *Server) totpRoutes(mux *routeMux) {
	mux.Handle("GET /manage/account/recovery-codes/{$}", s.ui(s.recoveryCodesPage))
	mux.Handle("POST /manage/account/recovery-codes/{$}", s.ui(s.recoveryCodesGenerate))
	mux.Handle("POST /manage/account/recovery-codes/confirm", s.ui(s.recoveryCodesConfirm))

	mux.Handle("GET /manage/account/totp/{$}", s.ui(s.totpPage))
	mux.Handle("POST /manage/account/totp/begin", s.ui(s.totpBegin))
	mux.Handle("POST /manage/account/totp/confirm", s.ui(s.totpConfirm))
	mux.Handle("POST /manage/account/totp/remove", s.ui(s.totpRemove))

	mux.Handle("GET /account/two-factor/totp/{$}", s.ui(s.twoStepTOTPPage))
	mux.Handle("POST /account/two-factor/totp/{$}", s.ui(s.twoStepTOTPPost))
	mux.Handle("GET /account/two-factor/recovery-code/{$}", s.ui(s.twoStepRecoveryPage))
	mux.Handle("POST /account/two-factor/recovery-code/{$}", s.ui(s.twoStepRecoveryPost))
}
