package web

// The security-key giveaway in the web UI: a signed-in user learns whether
// it may claim a code (and if not, why and what else it can do), names its
// shipping country and claims; administrators see the stock.

import (
	"net/http"
	"time"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/promo"
)

const giveawayPath = "/manage/account/security-keys-giveaway/"

// giveawayView is what promo.html shows.
type giveawayView struct {
	Status *promo.Status
	// Error is the refusal of a claim ("": none).
	Error       string
	Countries   []string
	Country     string // the country chosen in the form
	KeysPerCode int
	// LastDay is the last day of the giveaway (zero: it does not end).
	LastDay time.Time
}

// Claimed reports whether the user holds a code (Status.Code).
func (v giveawayView) Claimed() bool { return v.Status.Reason == promo.Claimed }

// Eligible reports whether the user may claim.
func (v giveawayView) Eligible() bool { return v.Status.Eligible() }

// Unverified reports whether the user must verify its email address
// before it may claim.
func (v giveawayView) Unverified() bool { return v.Status.Reason == promo.Unverified }

func (s *Server) renderGiveaway(w http.ResponseWriter, r *http.Request, status int, v giveawayView) {
	cfg := s.opts.Promo.Config()
	v.Countries, v.KeysPerCode = cfg.Countries, promo.KeysPerCode
	if !cfg.End.IsZero() {
		v.LastDay = cfg.End.Add(-time.Nanosecond)
	}
	s.render(w, r, status, "promo", "Security-key giveaway", v)
}

// giveawayPage tells the user what the giveaway offers it.
func (s *Server) giveawayPage(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	st, err := s.opts.Promo.Eligibility(r.Context(), c.User, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderGiveaway(w, r, http.StatusOK, giveawayView{Status: st})
}

// giveawayClaim claims a code for the chosen country.
func (s *Server) giveawayClaim(w http.ResponseWriter, r *http.Request) {
	c := s.requireUser(w, r)
	if c == nil {
		return
	}
	country := r.PostFormValue("country")
	_, err := s.opts.Promo.Claim(r.Context(), c.User, country, meta(r))
	if err == nil {
		s.addFlash(w, r, "ok", "Your code is ready: redeem it as explained below.")
		redirect(w, r, giveawayPath)
		return
	}
	pe, ok := problem.As(err)
	if !ok {
		s.fail(w, r, err)
		return
	}
	st, err := s.opts.Promo.Eligibility(r.Context(), c.User, country)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st.Eligible() || st.Reason == promo.Country {
		// A country not chosen, or not eligible: say so beside the form.
		st.Reason, st.Message = "", ""
	}
	s.renderGiveaway(w, r, statusOf(pe), giveawayView{Status: st, Error: pe.Message, Country: country})
}

// adminPromoView is what admin_promo.html shows.
type adminPromoView struct {
	NeedTwoFactor bool
	Stock         *promo.Stock
	Config        promo.Config
	LastDay       time.Time
}

// MinRoleAge writes Config.MinRoleAge in days.
func (v adminPromoView) MinRoleAge() string { return promo.Days(v.Config.MinRoleAge) }

// adminPromo shows the stock of codes and the claims per country to
// administrators with two-factor authentication (the rules of
// /admin/critical/: anybody else gets the answer of a path that does not
// exist, an administrator without two-factor authentication a 403).
func (s *Server) adminPromo(w http.ResponseWriter, r *http.Request) {
	const title = "Security-key giveaway"
	if s.administrator(w, r, "admin_promo", title, adminPromoView{NeedTwoFactor: true}) == nil {
		return
	}
	var err error
	v := adminPromoView{Config: s.opts.Promo.Config()}
	if !v.Config.End.IsZero() {
		v.LastDay = v.Config.End.Add(-time.Nanosecond)
	}
	if v.Stock, err = s.opts.Promo.Stock(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin_promo", title, v)
}
