package web

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/useragent"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names. Over https the session cookie takes the __Host- prefix,
// which browsers only accept with Secure, Path=/ and no Domain.
const (
	cookieSession  = "session"
	cookieAnon     = "csrf"
	cookieFlash    = "flash"
	formTokenName  = "csrf_token"
	headerToken    = "X-CSRF-Token"
	maxUIFormBytes = 1 << 20
)

// templates holds one template set per page: the layout plus the page.
type templates map[string]*template.Template

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day":      func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"describe": func(e *store.Event) string { return audit.Describe(e) },
	"bytes":    byteSize,
	// A client's own words (a User-Agent, an address), bounded and
	// printable; device summarises a User-Agent.
	"printable": useragent.Printable,
	"device":    useragent.Summary,
}

func loadTemplates() (templates, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := templates{}
	for _, p := range pages {
		name := path.Base(p)
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[strings.TrimSuffix(name, ".html")] = t
	}
	return out, nil
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind string // "ok", "error", "warning"
	Text string
}

// view is what every page template receives.
type view struct {
	Title   string
	Me      *store.User // nil when nobody is signed in
	CSRF    string
	Flashes []flash
	Path    string
	Query   string // the search box's text
	BaseURL string
	Data    any
	// Mandate is the banner about the signed-in user's critical and
	// opted-in projects (nil: none).
	Mandate *mandateBanner
	// Publishing says whether trusted publishing is on: the navigation
	// links to its pages.
	Publishing bool
	// Registration says whether anyone may create an account here
	// (--registration): the pages link to the form only then.
	Registration bool
}

// uiState is the per-request state of a UI page: who is signed in, and
// the binding of its form tokens.
type uiState struct {
	once    sync.Once
	current *account.Current
	err     error
	anon    string // the anonymous cookie's value
	device  string // the browser's device id (Server.deviceID)
	w       http.ResponseWriter
}

type uiKey struct{}

func stateOf(r *http.Request) *uiState {
	st, _ := r.Context().Value(uiKey{}).(*uiState)
	return st
}

// current returns the signed-in session of the request, or nil. A pending
// session (password given, second factor awaited) is not signed in.
func (s *Server) current(r *http.Request) *account.Current {
	c := s.session(r)
	if c == nil || c.Pending() {
		return nil
	}
	return c
}

// session returns the request's session, pending or not, or nil.
func (s *Server) session(r *http.Request) *account.Current {
	st := stateOf(r)
	if st == nil {
		return nil
	}
	st.once.Do(func() {
		ck, err := r.Cookie(s.cookieName(cookieSession))
		if err != nil {
			return
		}
		st.current, st.err = s.acct.Session(r.Context(), ck.Value)
		if st.err != nil {
			s.log.ErrorContext(r.Context(), "session lookup", "err", st.err)
		}
	})
	return st.current
}

func (s *Server) secure() bool { return strings.HasPrefix(s.idx.Config().BaseURL, "https://") }

func (s *Server) cookieName(name string) string {
	if s.secure() {
		return "__Host-" + name
	}
	return name
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
}

// binding is what the request's form tokens are bound to: its session,
// or else its anonymous cookie (created on first use).
func (s *Server) binding(w http.ResponseWriter, r *http.Request, create bool) string {
	if c := s.session(r); c != nil {
		return "s:" + c.Session.IDHash
	}
	st := stateOf(r)
	if st == nil {
		return ""
	}
	if st.anon == "" {
		if ck, err := r.Cookie(s.cookieName(cookieAnon)); err == nil && len(ck.Value) >= 26 && len(ck.Value) <= 64 {
			st.anon = ck.Value
		} else if create {
			st.anon = rand.Text()
			s.setCookie(w, cookieAnon, st.anon, 0)
		}
	}
	if st.anon == "" {
		return ""
	}
	return "a:" + st.anon
}

// meta is the request's origin, for security events.
func meta(r *http.Request) audit.Meta {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return audit.Meta{IP: host, UserAgent: r.UserAgent()}
}

// ui wraps every web-UI handler: it gives the request its state, refuses
// unsafe requests without the right form token (cross-origin requests are
// refused earlier, by http.CrossOriginProtection), and sets the headers
// that keep pages out of frames and shared caches.
func (s *Server) ui(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r); st == nil { // adminOnly may have made it
			r = r.WithContext(context.WithValue(r.Context(), uiKey{}, &uiState{w: w}))
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			r.Body = http.MaxBytesReader(w, r.Body, maxUIFormBytes)
			token := r.Header.Get(headerToken)
			if token == "" {
				token = r.PostFormValue(formTokenName)
			}
			if !s.acct.CheckCSRF(s.binding(w, r, false), token) {
				if err := bodyTooSlow(r); err != nil {
					s.renderError(w, r, http.StatusRequestTimeout, "Request Timeout: "+err.Error()+". Check the network and try again.")
					return
				}
				s.renderError(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
				return
			}
		}
		if !s.gateTwoFactor(w, r) {
			return
		}
		h(w, r)
	})
}

// render executes a page template inside the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t, ok := s.tmpl[name]
	if !ok {
		panic("web: no template " + name)
	}
	v := view{Title: title, Path: r.URL.Path, BaseURL: s.idx.Config().BaseURL, Data: data, CSRF: s.acct.CSRFToken(s.binding(w, r, true)),
		Publishing: s.opts.Publish != nil, Registration: !s.opts.RegistrationClosed}
	if c := s.current(r); c != nil {
		v.Me = c.User
		v.Mandate = s.mandateNotices(r.Context(), c.User.ID)
	}
	v.Flashes = s.takeFlashes(w, r)
	if name == "search" {
		v.Query = r.URL.Query().Get("q")
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.log.ErrorContext(r.Context(), "render", "template", name, "err", err)
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// renderError shows a message on an error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := http.StatusText(status)
	s.render(w, r, status, "error", title, map[string]any{"Status": status, "Message": msg})
}

// fail shows a domain refusal with its status, or logs a failure and
// shows a 503 (a fault) or a 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	s.logFailure(r, "ui", status, err)
	setRetryAfter(w, status, err)
	s.renderError(w, r, status, userMessage(err, status))
}

// addFlash queues a message for the next page the browser shows.
func (s *Server) addFlash(w http.ResponseWriter, r *http.Request, kind, text string) {
	var fl []flash
	if ck, err := r.Cookie(s.cookieName(cookieFlash)); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil {
			_ = json.Unmarshal(b, &fl)
		}
	}
	fl = append(fl, flash{Kind: kind, Text: text})
	b, _ := json.Marshal(fl)
	s.setCookie(w, cookieFlash, base64.RawURLEncoding.EncodeToString(b), 0)
}

func (s *Server) takeFlashes(w http.ResponseWriter, r *http.Request) []flash {
	ck, err := r.Cookie(s.cookieName(cookieFlash))
	if err != nil {
		return nil
	}
	s.setCookie(w, cookieFlash, "", -1)
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var fl []flash
	if json.Unmarshal(b, &fl) != nil || len(fl) > 5 {
		return nil
	}
	return fl
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// requireUser returns the signed-in user, or redirects to the login page
// (coming back here afterwards) and returns nil.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request) *account.Current {
	if c := s.current(r); c != nil {
		return c
	}
	next := r.URL.Path
	if r.Method != http.MethodGet {
		next = "/"
	} else if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	redirect(w, r, "/account/login/?next="+url.QueryEscape(next))
	return nil
}

// safeNext returns next if it is a path on this site, else "/": a login
// link must never send the user elsewhere (an open redirect).
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
