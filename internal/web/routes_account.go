package web

// accountRoutes registers the account pages: registration, email
// verification, password reset and the account settings.
func (s *Server) accountRoutes(mux *routeMux) {
	mux.Handle("GET /account/register/{$}", s.ui(s.registerPage))
	mux.Handle("POST /account/register/{$}", s.ui(s.registerPost))
	mux.Handle("GET /account/verify-email/{$}", s.ui(s.verifyEmailPage))
	mux.Handle("POST /account/verify-email/{$}", s.ui(s.verifyEmailPost))
	mux.Handle("GET /account/reset-password/{$}", s.ui(s.resetRequestPage))
	mux.Handle("POST /account/reset-password/{$}", s.ui(s.resetRequestPost))
	mux.Handle("GET /account/reset-password/confirm/{$}", s.ui(s.resetConfirmPage))
	mux.Handle("POST /account/reset-password/confirm/{$}", s.ui(s.resetConfirmPost))

	mux.Handle("GET /manage/account/{$}", s.ui(s.manageAccountPage))
	mux.Handle("POST /manage/account/email/{$}", s.ui(s.changeEmailPost))
	mux.Handle("POST /manage/account/password/{$}", s.ui(s.changePasswordPost))
	mux.Handle("POST /manage/account/resend-verification/{$}", s.ui(s.resendVerificationPost))
	mux.Handle("POST /manage/account/sessions/logout-all/{$}", s.ui(s.logoutAllPost))
	mux.Handle("GET /manage/account/security-history/{$}", s.ui(s.securityHistoryPage))
}
