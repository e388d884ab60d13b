package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Answers that must not tell strangers more than they may know: the
// administrators' pages, and the metrics endpoint.

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

// MetricsHandler serves GET /metrics, behind Options.MetricsToken when it
// is set, for a listener of its own (Options.MetricsElsewhere); anything
// else is a 404.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsEndpoint())
	return s.securityHeaders(mux)
}

// metricsEndpoint is the Prometheus exposition of s.reg, behind the
// bearer token when one is configured.
func (s *Server) metricsEndpoint() http.Handler {
	prom := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
	if s.opts.MetricsToken == "" {
		return prom
	}
	want := sha256.Sum256([]byte(s.opts.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		// Hashing first makes the comparison's time independent of the
		// token's length too.
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "Unauthorized: send the metrics token as Authorization: Bearer <token>.", http.StatusUnauthorized)
			return
		}
		prom.ServeHTTP(w, r)
	})
}
