package web

// promoRoutes registers the security-key giveaway: the claim page of a
// signed-in user and the administrators' view of the stock.
func (s *Server) promoRoutes(mux *routeMux) {
	if s.opts.Promo == nil {
		return
	}
	mux.Handle("GET /manage/account/security-keys-giveaway/{$}", s.ui(s.giveawayPage))
	mux.Handle("POST /manage/account/security-keys-giveaway/{$}", s.ui(s.giveawayClaim))
	mux.Handle("GET /admin/promo/{$}", s.ui(s.adminPromo))
}
