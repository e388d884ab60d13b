package web

// recoveryRoutes registers account recovery: the request, confirmation
// and cancel pages of a user who lost every second factor, and the
// administrators' page of requests. Without a recovery service, none.
func (s *Server) recoveryRoutes(mux *routeMux) {
	if s.opts.Recovery == nil {
		return
	}
	mux.Handle("GET /account/recovery/{$}", s.ui(s.recoveryRequestPage))
	mux.Handle("POST /account/recovery/{$}", s.ui(s.recoveryRequestPost))
	mux.Handle("GET /account/recovery/confirm/{$}", s.ui(s.recoveryConfirmPage))
	mux.Handle("POST /account/recovery/confirm/{$}", s.ui(s.recoveryConfirmPost))
	mux.Handle("GET /account/recovery/cancel/{$}", s.ui(s.recoveryCancelPage))
	mux.Handle("POST /account/recovery/cancel/{$}", s.ui(s.recoveryCancelPost))

	mux.Handle("GET /admin/recovery/{$}", s.ui(s.adminRecovery))
	mux.Handle("POST /admin/recovery/{id}/approve", s.ui(s.adminRecoveryApprove))
	mux.Handle("POST /admin/recovery/{id}/reject", s.ui(s.adminRecoveryReject))
}
