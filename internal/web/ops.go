package web

// Operations: the health and readiness probes, the metrics endpoint and
// the static files of the web UI.

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"cheeseshop/internal/problem"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves GET /metrics, behind Options.MetricsToken when it
// is set, for a listener of its own (Options.MetricsElsewhere); anything
// else is a 404.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsEndpoint(false))
	return s.securityHeaders(mux)
}

// metricsEndpoint is the Prometheus exposition of s.reg, behind the
// bearer token when one is configured. Without one, on the index's own
// address (onIndex) of an index that only its users may read, it wants
// an API token of a reader, as the simple pages do: its figures (users,
// projects, their 2FA) are the index's own, not public as PyPI's.
func (s *Server) metricsEndpoint(onIndex bool) http.Handler {
	prom := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
	if s.opts.MetricsToken == "" {
		if !onIndex || !s.idx.ReadRequiresAuth() {
			return prom
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cred := readCredentials(r)
			if cred.kind != credIndexToken && cred.kind != credBearer {
				s.authRequired(w, r, "The metrics of this index want an API token.")
				return
			}
			rd, err := s.resolveReader(r, cred)
			switch {
			case err != nil && problem.KindOf(err) != problem.Unauthenticated:
				s.serverError(w, r, err)
				return
			case err != nil:
				s.authRequired(w, r, problem.MessageOf(err))
				return
			case !rd.Authenticated() || rd.Scoped():
				s.authRequired(w, r, "The metrics of this index want an API token that reads every project.")
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			prom.ServeHTTP(w, r)
		})
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

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Unready is the error of Options.Ready when a part the server needs does
// not work: /readyz names the part and nothing else, since the error may
// name the database's host, user and name, and anybody may ask /readyz.
// Whoever probed logs the error.
type Unready struct {
	// Part is what does not work: "database" or "storage".
	Part string
	// Err is why.
	Err error
}

func (u *Unready) Error() string { return u.Part + " unavailable: " + u.Err.Error() }

func (u *Unready) Unwrap() error { return u.Err }

// readyz answers whether the server can take traffic: "ready", or 503
// "not ready: <part> unavailable" with Retry-After.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			msg := "not ready"
			if u, ok := errors.AsType[*Unready](err); ok {
				msg += ": " + u.Part + " unavailable"
			} else {
				s.log.WarnContext(r.Context(), "not ready", "err", err)
			}
			setRetryAfter(w, http.StatusServiceUnavailable, err)
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}

func (s *Server) staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // files only, no listing of the folder
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// As a file's: no answer to many ranges, no cached error.
		http.StripPrefix("/static/", fsrv).ServeHTTP(newContentWriter(w), limitRanges(r))
	})
}
