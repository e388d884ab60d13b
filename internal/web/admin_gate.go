package web

import (
	"context"
	"net/http"
	"strings"

	"cheeseshop/internal/account"
	"cheeseshop/internal/index"
	"cheeseshop/internal/recovery"
)

// adminPages serves the administrators' pages of account recovery, of
// the giveaway, of names and users. (The critical projects page, adminCritical, is still a
// method of Server.)
type adminPages struct {
	s    *Server           // shared helpers: the administrator gate, rendering
	rec  *recovery.Service // nil: no account recovery
	idx  *index.Service    // look-alike reviews, prohibited names
	acct *account.Service  // disabling accounts
	// The giveaway (s.opts.Promo) is read at each request: it may be
	// replaced after New.
}

// The administrators' pages answer strangers as paths that do not exist:
// adminOnly for every request under /admin/, administrator for each page
// (which also requires the administrator's two-factor authentication).

// isAdminPath reports whether a request path is under /admin/, the
// administrators' pages.
func isAdminPath(p string) bool { return p == "/admin" || strings.HasPrefix(p, "/admin/") }

// adminOnly answers every request under /admin/ of anybody who is not a
// signed-in administrator as the server answers a path that does not
// exist, whatever the method, before the cross-origin and form-token
// checks (whose 403 would tell that the route exists) and before the mux
// (whose 405 and redirects would). Administrators go on to the pages,
// which also require their two-factor authentication.
func (s *Server) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAdminPath(r.URL.Path) {
			// The state is kept for s.ui: the session is looked up once.
			r = r.WithContext(context.WithValue(r.Context(), uiKey{}, &uiState{w: w}))
			if c := s.current(r); c == nil || !c.User.IsAdmin {
				notFound(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// notFound answers as the server does for a path it does not serve, so
// that a page reserved to administrators does not reveal itself to
// others (with the baseline headers of securityHeaders, not the UI's,
// which an unknown path lacks).
func notFound(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Security-Policy"] = hdrBaseCSP
	h.Del("Cache-Control")
	http.NotFound(w, r)
}

// administrator lets through administrators with two-factor
// authentication (theirs are the accounts most worth stealing): anybody
// else gets the answer of a path that does not exist, and an
// administrator without it the page tmpl (with forbidden as its data, a
// 403) saying how to set it up. It returns the administrator, or nil when
// it answered.
func (s *Server) administrator(w http.ResponseWriter, r *http.Request, tmpl, title string, forbidden any) *account.Current {
	c := s.current(r)
	if c == nil || !c.User.IsAdmin {
		notFound(w, r)
		return nil
	}
	has, err := s.hasTwoFactor(r.Context(), c.User.ID)
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	if !has {
		s.render(w, r, http.StatusForbidden, tmpl, title, forbidden)
		return nil
	}
	return c
}
