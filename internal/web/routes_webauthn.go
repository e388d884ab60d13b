package web

// webauthnRoutes registers the security-key pages: registration, renaming,
// removal, the second step of signing in, and re-authentication.
func (s *Server) webauthnRoutes(mux *routeMux) {
	mux.Handle("GET /manage/account/webauthn/{$}", s.ui(s.webauthnManage))
	mux.Handle("POST /manage/account/webauthn/options", s.ui(s.webauthnRegisterOptions))
	mux.Handle("POST /manage/account/webauthn/register", s.ui(s.webauthnRegister))
	mux.Handle("POST /manage/account/webauthn/{id}/rename", s.ui(s.webauthnRename))
	mux.Handle("POST /manage/account/webauthn/{id}/remove", s.ui(s.webauthnRemove))

	mux.Handle("GET /account/two-factor/webauthn/{$}", s.ui(s.webauthnSecondStep))
	mux.Handle("POST /account/two-factor/webauthn/options", s.ui(s.webauthnLoginOptions))
	mux.Handle("POST /account/two-factor/webauthn/verify", s.ui(s.webauthnLoginVerify))

	mux.Handle("POST /manage/account/reauth/webauthn/options", s.ui(s.webauthnReauthOptions))
	mux.Handle("POST /manage/account/reauth/webauthn/verify", s.ui(s.webauthnReauthVerify))
}
