package web

// The administrators' page of the security-key giveaway (/admin/promo/):
// the stock of codes and the claims per country.

import (
	"net/http"
	"time"

	"cheeseshop/internal/promo"
	"cheeseshop/internal/words"
)

// adminPromoView is what admin_promo.html shows.
type adminPromoView struct {
	NeedTwoFactor bool
	Stock         *promo.Stock
	Config        promo.Config
	LastDay       time.Time
}

// MinRoleAge writes Config.MinRoleAge in days.
func (v adminPromoView) MinRoleAge() string { return words.Duration(v.Config.MinRoleAge) }

// adminPromo shows the stock of codes and the claims per country to
// administrators with two-factor authentication (the rules of
// /admin/critical/: anybody else gets the answer of a path that does not
// exist, an administrator without two-factor authentication a 403).
func (a *adminPages) adminPromo(w http.ResponseWriter, r *http.Request) {
	const title = "Security-key giveaway"
	if a.s.administrator(w, r, "admin_promo", title, adminPromoView{NeedTwoFactor: true}) == nil {
		return
	}
	var err error
	v := adminPromoView{Config: a.s.opts.Promo.Config()}
	if !v.Config.End.IsZero() {
		v.LastDay = v.Config.End.Add(-time.Nanosecond)
	}
	if v.Stock, err = a.s.opts.Promo.Stock(r.Context()); err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.s.render(w, r, http.StatusOK, "admin_promo", title, v)
}
