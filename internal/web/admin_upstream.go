package web

// The administrators' page of the rules on upstream names
// (/admin/upstream/, with the access rules of the other /admin/ pages):
// the rules with their expiry, a form to add one and a button to remove
// each. The proxy of every replica reads the rules again within seconds.

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// adminUpstreamView is what admin_upstream.html shows.
type adminUpstreamView struct {
	// NeedTwoFactor: the administrator has no two-factor authentication
	// and sees only how to set it up.
	NeedTwoFactor bool
	// Proxying: the index proxies upstream indexes (--upstream).
	Proxying bool
	Rules    []adminUpstreamRule
}

// adminUpstreamRule is a rule as the page shows it.
type adminUpstreamRule struct {
	store.UpstreamRule
	Expired bool
}

const adminUpstreamTitle = "Upstream rules"

func (a *adminPages) adminUpstream(w http.ResponseWriter, r *http.Request) {
	if a.s.administrator(w, r, "admin_upstream", adminUpstreamTitle, adminUpstreamView{NeedTwoFactor: true}) == nil {
		return
	}
	rs, err := a.idx.UpstreamRules(r.Context())
	if err != nil {
		a.s.fail(w, r, err)
		return
	}
	v := adminUpstreamView{Proxying: a.idx.Proxying()}
	now := time.Now()
	for _, rule := range rs {
		v.Rules = append(v.Rules, adminUpstreamRule{UpstreamRule: rule, Expired: !rule.ExpiresAt.IsZero() && !now.Before(rule.ExpiresAt)})
	}
	a.s.render(w, r, http.StatusOK, "admin_upstream", adminUpstreamTitle, v)
}

// adminUpstreamAdd adds the rule of the form (or replaces the rule of its
// pattern). A break glass of the minimum release age needs a recent
// re-authentication: it lets files in that nothing has vetted.
func (a *adminPages) adminUpstreamAdd(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_upstream", adminUpstreamTitle, adminUpstreamView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	rule := store.UpstreamRule{Pattern: r.PostFormValue("pattern"), Action: r.PostFormValue("action"),
		SkipMinAge: r.PostFormValue("skip_min_age") != "", Reason: r.PostFormValue("reason")}
	if rule.SkipMinAge && !a.s.requireRecentAuth(w, r, c, "/admin/upstream/") {
		return
	}
	expires, err := parseExpiry(r.PostFormValue("expires"))
	if err == nil && expires > 0 {
		rule.ExpiresAt = time.Now().Add(expires)
	}
	if err == nil {
		rule, err = a.idx.AddUpstreamRule(r.Context(), c.User, meta(r), rule)
	}
	a.done(w, r, err, "/admin/upstream/", func() string {
		msg := "Rule added: " + rule.Action + " " + rule.Pattern
		if rule.SkipMinAge {
			msg += ", through the minimum release age; every administrator was told"
		}
		return msg + "."
	})
}

// adminUpstreamRemove removes the rule of the form's pattern.
func (a *adminPages) adminUpstreamRemove(w http.ResponseWriter, r *http.Request) {
	c := a.s.administrator(w, r, "admin_upstream", adminUpstreamTitle, adminUpstreamView{NeedTwoFactor: true})
	if c == nil {
		return
	}
	rule, err := a.idx.RemoveUpstreamRule(r.Context(), c.User, meta(r), r.PostFormValue("pattern"))
	a.done(w, r, err, "/admin/upstream/", func() string { return "Rule removed: " + rule.Action + " " + rule.Pattern + "." })
}

// parseExpiry reads how long a rule lasts: "" (never), a Go duration
// (72h) or a number of days (7d).
func parseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || d <= 0 || d > 10*365*24*time.Hour {
		return 0, problem.Errorf(problem.Invalid, "'%s' is not an expiry: give a duration such as 72h or 7d, or nothing for never.", s)
	}
	return d, nil
}
