package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Reads of a private index (--read-access authenticated) and of private
// projects (on any index): who reads is decided once per request, before
// the mux (readGate), and the handlers ask the index whether that reader
// may read the project at hand (index.Service.CanRead), before any
// validator is looked at, so that a 304 or an ETag never tells a reader
// who may not read about a project. The caching headers of every read
// answer come from cachePolicy: an answer that depends on who asks is
// never shareable.

// readKind is how readGate treats a path.
type readKind int

const (
	// readPage: a page of the web UI; a reader who did not sign in is
	// sent to the sign-in page (a Basic dialog in a browser is hostile).
	readPage readKind = iota
	// readProtocol: the PyPI protocol's reads (simple API, JSON API,
	// files) and the JSON statistics, which installers and scripts read:
	// 401 with a Basic challenge, which pip and uv answer from the index
	// URL, .netrc or a keyring.
	readProtocol
	// readExempt: signing in and everything it needs (the account pages,
	// static files), operations (probes, metrics with its own token),
	// uploads and trusted publishing (their own tokens), and the
	// management and administration routes, which need a session or a
	// token of their own.
	readExempt
)

// readKindOf classifies a request path. TestEveryReadRouteGated checks it
// against every route.
func readKindOf(path string) readKind {
	switch {
	case path == "/simple" || strings.HasPrefix(path, "/simple/"),
		strings.HasPrefix(path, "/pypi/"),
		strings.HasPrefix(path, "/files/"),
		path == "/stats/2fa.json":
		return readProtocol
	case strings.HasPrefix(path, "/account/"),
		strings.HasPrefix(path, "/static/"),
		path == "/healthz", path == "/readyz", path == "/metrics",
		strings.HasPrefix(path, "/_/oidc/"),
		path == "/legacy" || strings.HasPrefix(path, "/legacy/"),
		strings.HasPrefix(path, "/manage/"),
		strings.HasPrefix(path, "/api/"),
		isAdminPath(path):
		return readExempt
	}
	return readPage
}

type readerKey struct{}

// reader returns who reads the request, as readGate decided; anonymous
// when it did not look (public reads without credentials).
func (s *Server) reader(r *http.Request) *index.Reader {
	if rd, ok := r.Context().Value(readerKey{}).(*index.Reader); ok {
		return rd
	}
	return s.idx.Anonymous()
}

// readGate decides who reads every request that is not exempt
// (readKindOf): an API token in the Authorization header (HTTP Basic
// with the username __token__, as pip and uv send it, or Bearer), else
// the signed-in session, else nobody, who, with authenticated reads, is
// answered 401 (protocol) or sent to sign in (pages). A wrong, expired
// or revoked token, or one of a disabled account, is a 401 even where a
// session would do: a wrong token must be loud, never read as anonymous.
// No password is ever checked on a read. With public reads, only a
// __token__ credential or a session is looked at (a wrong token is
// refused): anything else, such as a reverse proxy's own Basic
// authentication or an OAuth proxy's bearer token, reads as anonymous,
// who reads every public project.
func (s *Server) readGate(next http.Handler) http.Handler {
	authenticated := s.idx.ReadRequiresAuth()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := readKindOf(r.URL.Path)
		if kind == readExempt {
			next.ServeHTTP(w, r)
			return
		}
		cred := readCredentials(r)
		if !authenticated && cred.kind != credIndexToken && (cred.kind != credNone || !s.hasSession(r)) {
			next.ServeHTTP(w, r)
			return
		}
		if cred.kind == credNone && stateOf(r) == nil {
			// The session is looked up once, here or by s.ui.
			r = r.WithContext(context.WithValue(r.Context(), uiKey{}, &uiState{w: w}))
		}
		rd, err := s.resolveReader(r, cred)
		if err != nil {
			if problem.KindOf(err) != problem.Unauthenticated {
				s.serverError(w, r, err)
				return
			}
			s.authRequired(w, r, problem.MessageOf(err))
			return
		}
		if !rd.Authenticated() && authenticated {
			if kind == readProtocol {
				s.authRequired(w, r, "")
				return
			}
			back := r.URL.Path
			if r.Method != http.MethodGet {
				back = "/"
			} else if r.URL.RawQuery != "" {
				back += "?" + r.URL.RawQuery
			}
			w.Header()["Cache-Control"] = hdrNoStore
			redirect(w, r, "/account/login/?next="+url.QueryEscape(back))
			return
		}
		if authenticated && kind == readPage && rd.Scoped() {
			// A scoped token reads its projects through the PyPI API;
			// the pages (lists of every project, descriptions) are not
			// filtered by scope.
			notFoundRead(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), readerKey{}, rd)))
	})
}

// hasSession reports whether the request carries a session cookie.
func (s *Server) hasSession(r *http.Request) bool {
	_, err := r.Cookie(s.cookieName(cookieSession))
	return err == nil
}

// credKind is what a request's Authorization header holds, for reads.
type credKind int

const (
	credNone       credKind = iota // no Authorization header
	credIndexToken                 // Basic with the username __token__: an API token, as pip and uv send it
	credBearer                     // Bearer (or "token"): an API token, as scripts send it
	credForeign                    // anything else: a password, another scheme, garbage
)

// readCredential is the credential of a read: its kind and, for a
// token, its secret.
type readCredential struct {
	kind   credKind
	secret string
}

// readCredentials parses the Authorization header of a read.
func readCredentials(r *http.Request) readCredential {
	h := r.Header["Authorization"]
	if len(h) == 0 {
		return readCredential{}
	}
	scheme, rest, _ := strings.Cut(h[0], " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if user, pass, _ := strings.Cut(string(raw), ":"); err == nil && user == "__token__" {
			return readCredential{kind: credIndexToken, secret: pass}
		}
	case strings.EqualFold(scheme, "bearer"), strings.EqualFold(scheme, "token"):
		return readCredential{kind: credBearer, secret: rest}
	}
	return readCredential{kind: credForeign}
}

// resolveReader finds who reads r: its token, else its session, else
// anonymous.
func (s *Server) resolveReader(r *http.Request, cred readCredential) (*index.Reader, error) {
	switch cred.kind {
	case credIndexToken, credBearer:
		return s.idx.ReaderForToken(r.Context(), cred.secret, meta(r))
	case credForeign:
		return nil, problem.Errorf(problem.Unauthenticated, "Only API tokens read this index, never passwords.")
	}
	if c := s.current(r); c != nil {
		return s.idx.ReaderForUser(r.Context(), c.User)
	}
	return s.idx.Anonymous(), nil
}

// readAuthMessage tells a client without (valid) credentials what to send.
const readAuthMessage = "This index needs authentication: use the username __token__ and an API token as the password " +
	"(in the index URL, .netrc or a keyring)."

// authRequired answers 401 with a Basic challenge, which makes pip and uv
// look for credentials (keyring) and retry, never cached by anybody; why
// says what was wrong with the credentials given, if any.
func (s *Server) authRequired(w http.ResponseWriter, r *http.Request, why string) {
	msg := readAuthMessage
	if why != "" {
		msg = why + " " + msg
	}
	h := w.Header()
	h.Set("WWW-Authenticate", s.challenge)
	h.Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/pypi/") || strings.HasSuffix(r.URL.Path, ".json") {
		jsonError(w, http.StatusUnauthorized, msg)
		return
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

// basicChallenge is the WWW-Authenticate value of a 401, its realm the
// host of the base URL.
func basicChallenge(baseURL string) string {
	host := "cheeseshop"
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return `Basic realm="` + host + `", charset="UTF-8"`
}

// notFoundRead answers a read of a project that does not exist, or that
// the reader may not read (the same answer), never cacheable: a shared
// cache must not replay it to a reader who may read the project.
func notFoundRead(w http.ResponseWriter, r *http.Request) {
	w.Header()["Cache-Control"] = hdrNoStore
	http.Error(w, "Not Found: no such project or file on this index.", http.StatusNotFound)
}

// cachePolicy is the caching headers of the read answers about a
// project: shareable when anybody may read it, the reader's own
// otherwise.
type cachePolicy struct {
	page, jsonAPI, file []string // Cache-Control
	pageVary, docVary   []string // Vary of simple pages; of the JSON API and files (nil: none)
	anyOrigin           bool     // Access-Control-Allow-Origin: *
}

var (
	hdrNoStore = []string{"no-store"}
	// sharedReads: anybody may read the index, so the answers do not
	// depend on who asks, and CDNs may keep them.
	sharedReads = &cachePolicy{
		page:      []string{"max-age=600, public"},
		jsonAPI:   []string{"max-age=900, public"},
		file:      []string{"public, max-age=31536000, immutable"},
		pageVary:  []string{"Accept, Accept-Encoding"},
		anyOrigin: true,
	}
	// privateReads: the answer is the reader's own. Never "public": a
	// shared cache may store an answer to a request with Authorization
	// when it says so (RFC 9111 §3.5); "private" lets pip's own cache
	// keep it.
	privateReads = &cachePolicy{
		page:     []string{"private, max-age=600"},
		jsonAPI:  []string{"private, max-age=900"},
		file:     []string{"private, max-age=31536000, immutable"},
		pageVary: []string{"Accept, Accept-Encoding, Authorization, Cookie"},
		docVary:  []string{"Authorization, Cookie"},
	}
	// sharedListVaryAuth: the list of projects everybody reads, when
	// some are private: their readers get another list, so a shared
	// cache that keeps it must key it on their credentials.
	sharedListVaryAuth = &cachePolicy{
		page:     sharedReads.page,
		pageVary: privateReads.pageVary,
	}
)

// readPolicy returns the caching headers of read answers about proj.
func (s *Server) readPolicy(proj *store.Project) *cachePolicy {
	if s.idx.Shareable(proj) {
		return sharedReads
	}
	return privateReads
}

// rootPolicy returns the caching headers of the project list page.
func (s *Server) rootPolicy(page *index.RootPage) *cachePolicy {
	switch {
	case page.Personal || s.idx.ReadRequiresAuth():
		return privateReads
	case page.AnyPrivate:
		return sharedListVaryAuth
	}
	return sharedReads
}
