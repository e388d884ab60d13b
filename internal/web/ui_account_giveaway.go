package web

// The security-key giveaway in the web UI: a signed-in user learns whether
// it may claim a code (and if not, why and what else it can do), names its
// shipping country and claims. Administrators see the stock in
// admin_promo.go.

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

func (a *accountPages) renderGiveaway(w http.ResponseWriter, r *http.Request, status int, v giveawayView) {
	cfg := a.s.opts.Promo.Config()
	v.Countries, v.KeysPerCode = cfg.Countries, promo.KeysPerCode
	if !cfg.End.IsZero() {
		v.LastDay = cfg.End.Add(-time.Nanosecond)
	}
	a.s.render(w, r, status, "promo", "Security-key giveaway", v)
}

// giveawayPage tells the user what the giveaway offers it.
func (a *accountPages) giveawayPage(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	st, err := a.s.opts.Promo.Eligibility(r.Context(), c.User, "")
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	a.renderGiveaway(w, r, http.StatusOK, giveawayView{Status: st})
}

// giveawayClaim claims a code for the chosen country.
func (a *accountPages) giveawayClaim(w http.ResponseWriter, r *http.Request) {
	c := a.s.requireUser(w, r)
	if c == nil {
		return
	}
	country := r.PostFormValue("country")
	_, err := a.s.opts.Promo.Claim(r.Context(), c.User, country, meta(r))
	if err == nil {
		a.s.addFlash(w, r, "ok", "Your code is ready: redeem it as explained below.")
		redirect(w, r, giveawayPath)
		return
	}
	pe, ok := problem.As(err)
	if !ok {
		a.s.fail(w, r, err)
		return
	}
	st, err := a.s.opts.Promo.Eligibility(r.Context(), c.User, country)
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	if st.Eligible() || st.Reason == promo.Country {
		// A country not chosen, or not eligible: say so beside the form.
		st.Reason, st.Message = "", ""
	}
	a.renderGiveaway(w, r, statusOf(pe), giveawayView{Status: st, Error: pe.Message, Country: country})
}
