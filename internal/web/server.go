// Package web is cheeseshop's HTTP surface: the PyPI protocol (the
// legacy upload API, the simple repository API, the JSON API and file
// downloads), the web UI, the JSON management API, the administrators'
// pages and the operations endpoints. Handlers stay thin: they parse the
// request, call the domain (index, account, twofactor, ...), and render
// its answer; they never reach the store.
//
// routes.go is the one route table: every method and pattern, its
// middleware and its handler, in sections by audience. The handlers are
// methods of one type per audience, in files named after it:
//
//	pypiAPI         pypi_*.go          /simple/, /files/, /pypi/…/json, /legacy/
//	public          ui_home.go, ui_help.go, ui_public*.go, ui_stats.go
//	accountPages    ui_session.go, ui_account_*.go
//	twoFactorPages  ui_twofactor*.go
//	managePages     ui_manage_*.go
//	manageAPI       api_*.go           /api/…
//	adminPages      admin_*.go         /admin/…
//
// Server holds the middleware — securityHeaders (headers.go), recoverer
// and observe (server.go), realClient (clientaddr.go), adminOnly
// (admin_gate.go), ui and its gateTwoFactor (ui.go, ui_twofactor.go),
// manageAction (ui_manage_projects.go), api (api_manage.go), uploadSlots
// (transport.go) — and the helpers the groups share: sessions, form tokens, templates, flash messages and
// error answers (ui.go, errors.go), the mandate's banner and badges
// (ui_mandate.go). ops.go serves the probes, /metrics and the static
// files; transport.go, coalesce.go and clientaddr.go are the connection
// layer that NewHTTPServer builds.
//
// The groups stay in one package: splitting them into packages would
// export dozens of these shared helpers for little gain.
package web

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/account"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/promo"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/report"
	"cheeseshop/internal/stats"
	"cheeseshop/internal/twofactor"
)

// Options configure the HTTP surface.
type Options struct {
	// AccessLog logs every request at Info level.
	AccessLog bool
	// Ready reports whether the server can take traffic (for /readyz): nil,
	// or a *Unready naming the part that cannot (its error is logged, never
	// shown).
	Ready func() error
	// TwoFactor enables the second factors (sign-in step, set-up pages,
	// the site-wide requirement). Nil: no second factors.
	TwoFactor *twofactor.Service
	// Mandate tells collaborators about their critical and opted-in
	// projects (banner, badges, the admin page). Nil: nothing is shown.
	Mandate *mandate.Service
	// CountDownload, when set, is told of every complete download of a
	// distribution file: a GET answered 200 whose body was written
	// without error (not HEAD, 304, 206, .metadata or an error), with the
	// time it ended, the client's address and user agent (with a
	// Presigner: a GET redirected, without a Range header); it reports
	// whether the download counted. It must be cheap
	// (downloads.Counter.Count). Nil: no counting.
	CountDownload func(downloads.Download) bool
	// Presigner, when set, answers GET and HEAD of a distribution file
	// and of its metadata with a 302 to a URL from which the blob store
	// serves it, valid for RedirectTTL (--storage-redirect), instead of
	// sending the bytes. The redirect is what counts as a download (a
	// GET of a distribution file without a Range header). Nil: the
	// server sends the files.
	Presigner   blob.Presigner
	RedirectTTL time.Duration
	// Recovery runs account recovery (the request pages, the admin
	// page). Nil: none.
	Recovery *recovery.Service
	// Promo runs the security-key giveaway (the claim page, the admin
	// page). Nil: no giveaway.
	Promo *promo.Service
	// Reports takes users' reports of projects (the report form, the
	// administrators' queue). Nil: no reports.
	Reports *report.Service
	// Stats publishes the two-factor figures: /stats/2fa, its JSON and
	// gauges on /metrics. Nil: none of them.
	Stats *stats.Service
	// OIDC and Publish run trusted publishing: /_/oidc/audience and
	// /_/oidc/mint-token, which exchanges a CI's ID token for a
	// short-lived upload token, and the management API's publisher
	// routes. Nil: the first two answer PyPI's not-enabled refusal, the
	// others that trusted publishing is off.
	OIDC    *oidc.Verifier
	Publish *publish.Service
	// MaxUploadsPerClient caps the uploads in progress from one client
	// address (as Limits.MaxConnsPerClient counts them); one more is
	// answered 429 with Retry-After. 0: no cap.
	MaxUploadsPerClient int
	// HSTSMaxAge is the max-age of the Strict-Transport-Security header
	// sent on every response when the base URL is https. 0: none.
	HSTSMaxAge time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// MetricsElsewhere leaves /metrics out of the server's routes: it is
	// served on a listener of its own (MetricsHandler).
	MetricsElsewhere bool
	// RegistrationClosed refuses registration on the site: the
	// administrators create the accounts (--registration closed, the
	// default of an index with authenticated reads, which anybody who
	// registers could otherwise read).
	RegistrationClosed bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (see TrustedProxies); none: every request is its peer's.
	TrustedProxies TrustedProxies
	// FileCacheBytes bounds the memory holding the bytes of small files
	// (at most 64 KiB each), sent from there instead of the blob store
	// (--file-cache-size). 0: none are held.
	FileCacheBytes int64
}

// Server serves the HTTP API of an index and its web UI.
type Server struct {
	idx     *index.Service
	acct    *account.Service
	tf      *twofactor.Service // nil: no second factors
	md      *mandate.Service   // nil: no mandate notices
	tmpl    templates
	log     *slog.Logger
	opts    Options
	reg     *prometheus.Registry
	metrics *metrics
	bodies  *fileBodies // small files' bytes
	handler http.Handler
	// patterns lists every route registered, in order.
	patterns []string
	// uploads counts the uploads in progress per client address (nil:
	// no cap).
	uploads *perClient
	// challenge is the WWW-Authenticate header of a read refused for
	// want of credentials (authRequired).
	challenge string
	// statusWriters recycles observe's writers: one allocation less per
	// request. A handler never keeps its writer past its return (net/http
	// forbids it), so a writer is free again once the request is observed.
	statusWriters sync.Pool
}

// New returns a Server for idx and acct. Its metrics are registered in
// reg, which /metrics exposes.
func New(idx *index.Service, acct *account.Service, log *slog.Logger, reg *prometheus.Registry, opts Options) *Server {
	tmpl, err := loadTemplates()
	if err != nil {
		panic(err) // the templates are embedded: a parse error is a bug
	}
	s := &Server{idx: idx, acct: acct, tf: opts.TwoFactor, md: opts.Mandate, tmpl: tmpl, log: log, opts: opts, reg: reg, metrics: newMetrics(reg),
		bodies: newFileBodies(opts.FileCacheBytes), challenge: basicChallenge(idx.Config().BaseURL)}
	if opts.MaxUploadsPerClient > 0 {
		s.uploads = newPerClient(opts.MaxUploadsPerClient)
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cheeseshop_cache_project_pages", Help: "Project pages held in the cache."},
			func() float64 { n, _ := idx.Cache().Stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cheeseshop_cache_bytes", Help: "Estimated memory of the cached project pages (bounded by --cache-size)."},
			func() float64 { _, b := idx.Cache().Stats(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cheeseshop_cache_file_bytes", Help: "Estimated memory of the small files held (bounded by --file-cache-size)."},
			func() float64 { _, b := s.bodies.stats(); return float64(b) }),
	)
	if opts.Stats != nil {
		reg.MustRegister(&statsCollector{svc: opts.Stats, log: log})
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	routed := s.routes(mux)
	s.patterns = mux.patterns
	// Browsers say where a request comes from: refuse cross-origin
	// form posts before any handler runs. Clients that are not browsers
	// (twine, pip) send no such headers and pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cross-origin request refused: submit the form from this site.", http.StatusForbidden)
	}))
	// Outermost, the security headers, so that every response has them;
	// then the administrators' pages are hidden from everybody else before
	// anything can tell that they exist.
	// realClient comes before the access log and every handler, so that
	// they all see the same client address. With authenticated reads,
	// readGate then decides who reads (after the access log, which shows
	// its 401s, and after adminOnly, so that /admin/ stays a 404 to
	// strangers), before the mux's redirects and 405s can answer.
	s.handler = s.securityHeaders(s.recoverer(s.realClient(s.observe(s.adminOnly(s.readGate(cop.Handler(routed)))))))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				http.Error(w, "Internal server error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// failed is set when writing the body failed (the client went away).
	failed bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	w.failed = w.failed || err != nil
	return n, err
}

// ReadFrom keeps the underlying writer's fast path (sendfile) reachable
// through io.Copy.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	w.failed = w.failed || err != nil
	return n, err
}

// Unwrap lets http.ResponseController (and hijacking) reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe records the request in the metrics and, optionally, the access log.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw, _ := s.statusWriters.Get().(*statusWriter)
		if sw == nil {
			sw = new(statusWriter)
		}
		*sw = statusWriter{ResponseWriter: w}
		defer func() {
			*sw = statusWriter{}
			s.statusWriters.Put(sw)
		}()
		next.ServeHTTP(hijackable(sw), r)
		if sw.status == 0 {
			sw.status = http.StatusOK // hijacked or empty
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		method := r.Method
		if route == "unmatched" {
			method = "any" // unbounded client input must not become labels
		}
		rm := s.metrics.route(route, method, sw.status)
		rm.requests.Inc()
		rm.duration.Observe(d.Seconds())
		if s.opts.AccessLog {
			s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr, "ua", r.UserAgent())
		}
	})
}

func statusClass(code int) string {
	switch {
	case code < 200:
		return "1xx"
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	}
	return "5xx"
}

// setStatus records the status and body size of a response written on a
// hijacked connection.
func (w *statusWriter) setStatus(code, bytes int) { w.status, w.bytes = code, int64(bytes) }
