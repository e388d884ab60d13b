package web

import (
	"bytes"
	"cheeseshop/internal/account"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/twofactor"
)

// testServer is a real server on a loopback port over a fresh database.
type testServer struct {
	t      testing.TB
	URL    string
	st     *store.Store
	idx    *index.Service
	acct   *account.Service
	client *http.Client
	// outbox is the folder the server's emails go to (mail.ReadOutbox).
	outbox string
	tf     *twofactor.Service
	md     *mandate.Service
	srv    *Server
	// hasher is the server's password hasher: its Verifications count the
	// guesses that reached argon2id.
	hasher *auth.Hasher
	rec    *recovery.Service
	// http is the HTTP server (NewHTTPServer, as cmd/cheeseshop serves).
	http *HTTPServer
	// files is the blob store's folder (staging in files/tmp).
	files string
	// pub is trusted publishing's service (app.App.Publish).
	pub *publish.Service
}

// serverConfig varies the test server.
type serverConfig struct {
	// Require2FA is --require-2fa.
	Require2FA bool
	// Now is the clock of accounts and second factors (nil: the wall clock).
	Now func() time.Time
	// BaseHost, when set, names the server in its base URL instead of
	// its loopback IP (security keys need a host name); requests still go
	// to the loopback address (testServer.URL).
	BaseHost string
	// MandateGrace is --mandate-grace.
	MandateGrace time.Duration
	// WrapMailer, when set, wraps the server's mailer (the outbox).
	WrapMailer func(mail.Mailer) mail.Mailer
	// Limits are the HTTP server's (nil: DefaultLimits without the cap
	// on connections per address, since every test client is 127.0.0.1).
	Limits *Limits
	// MaxFileSize is --max-file-size (0: 4 MiB).
	MaxFileSize int64
	// HTTPS makes the base URL https:// (requests still go to the
	// loopback address over plain HTTP).
	HTTPS bool
	// Options, when set, changes the server's Options.
	Options func(*Options)
	// Log receives the server's log (nil: discarded).
	Log *slog.Logger
	// NameCheck and LookalikePolicy are the look-alike detector (nil:
	// none) and --lookalike-policy.
	NameCheck       index.NameCheck
	LookalikePolicy index.LookalikePolicy
	// OIDCIssuers are --oidc-issuer, NoTrustedPublishing
	// --no-trusted-publishing.
	OIDCIssuers         []oidc.Issuer
	NoTrustedPublishing bool
	// Blobs, when set, gives the blob store the server runs on, from the
	// folder one it would otherwise (a wrapper, or another store).
	Blobs func(*blob.FS) blob.Store
	// StorageRedirect is --storage-redirect-ttl with --storage-redirect
	// (0: off).
	StorageRedirect time.Duration
	// ReadAccess is --read-access ("": public), RegistrationClosed
	// --registration closed.
	ReadAccess         index.ReadAccess
	RegistrationClosed bool
	// Upstream is the proxy of upstream indexes (nil: none), or
	// Upstreams the upstream indexes the real proxy serves (--upstream).
	Upstream  index.Upstream
	Upstreams []string
	// UpstreamStreamAbove is the size above which the proxy streams a
	// first fetch (0: its default).
	UpstreamStreamAbove int64

	// EmailResolver, when set, turns the DNS check of new addresses on
	// (--email-check-dns) with this resolver; nil: off.
	EmailResolver emaildomain.Resolver
	// NoPasskeys is --no-passkeys.
	NoPasskeys bool
	// NoNewDeviceConfirmation is --no-new-device-confirmation.
	NoNewDeviceConfirmation bool
}

// TestApp is what the one wiring of the server, internal/app, builds for a
// test server.
type TestApp struct {
	Server    *Server
	HTTP      *HTTPServer
	Index     *index.Service
	Account   *account.Service
	TwoFactor *twofactor.Service
	Mandate   *mandate.Service
	Recovery  *recovery.Service
	Hasher    *auth.Hasher
	Publish   *publish.Service
	// Close ends the App's work (app.App.Close).
	Close func()
}

// TestAppInput is what a test server varies in the wiring; app_test.go
// maps it onto app.Config and app.Deps.
type TestAppInput struct {
	Store       *store.Store
	Blobs       blob.Store
	Mailer      mail.Mailer
	Log         *slog.Logger
	Now         func() time.Time
	BaseURL     string
	Require2FA  bool
	MaxFileSize int64
	// MandateGrace is the mandate's grace period.
	MandateGrace time.Duration
	Limits       Limits
	// Options, when set, changes the handler's options last.
	Options func(*Options)
	// NameCheck and LookalikePolicy are the look-alike detector and
	// policy.
	NameCheck       index.NameCheck
	LookalikePolicy index.LookalikePolicy
	// OIDCIssuers and NoTrustedPublishing are app.Config's.
	OIDCIssuers         []oidc.Issuer
	NoTrustedPublishing bool
	// StorageRedirect is app.Config's.
	StorageRedirect time.Duration
	// ReadAccess and RegistrationClosed are app.Config's.
	ReadAccess         index.ReadAccess
	RegistrationClosed bool
	// Upstream is app.Deps's, Upstreams and UpstreamStreamAbove
	// app.Config's.
	Upstream            index.Upstream
	Upstreams           []string
	UpstreamStreamAbove int64

	// EmailResolver is serverConfig's.
	EmailResolver emaildomain.Resolver
	// NoPasskeys is app.Config's.
	NoPasskeys bool
	// NoNewDeviceConfirmation is app.Config's.
	NoNewDeviceConfirmation bool
}

// NewTestApp builds a test server's services and handler through
// internal/app.New, as cmd/cheeseshop serve does. Package web cannot
// import internal/app, which imports it: app_test.go, in package web_test,
// which can, sets it.
var NewTestApp func(t testing.TB, in TestAppInput) *TestApp

func newTestServer(t testing.TB, d store.Dialect) *testServer {
	t.Helper()
	return newTestServerWith(t, d, serverConfig{})
}

func newTestServerWith(t testing.TB, d store.Dialect, cfg serverConfig) *testServer {
	t.Helper()
	st := storetest.Open(t, d)
	files := filepath.Join(t.TempDir(), "files")
	blobs, err := blob.NewFS(files)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	url := base
	if cfg.BaseHost != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		base = "http://" + net.JoinHostPort(cfg.BaseHost, port)
	}
	if cfg.HTTPS {
		base = "https://" + strings.TrimPrefix(base, "http://")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	outbox := filepath.Join(t.TempDir(), "outbox")
	mailer, err := mail.New("", outbox, "cheeseshop <noreply@example.org>")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WrapMailer != nil {
		mailer = cfg.WrapMailer(mailer)
	}
	maxFile := cfg.MaxFileSize
	if maxFile == 0 {
		maxFile = 4 << 20
	}
	// As cmd/cheeseshop serves.
	limits := DefaultLimits()
	limits.MaxConnsPerClient = 0
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	var bs blob.Store = blobs
	if cfg.Blobs != nil {
		bs = cfg.Blobs(blobs)
	}
	a := NewTestApp(t, TestAppInput{Store: st, Blobs: bs, StorageRedirect: cfg.StorageRedirect, Mailer: mailer, Log: log, Now: cfg.Now, BaseURL: base,
		Require2FA: cfg.Require2FA, MandateGrace: cfg.MandateGrace, MaxFileSize: maxFile, Limits: limits, Options: cfg.Options,
		NameCheck: cfg.NameCheck, LookalikePolicy: cfg.LookalikePolicy, OIDCIssuers: cfg.OIDCIssuers, NoTrustedPublishing: cfg.NoTrustedPublishing,
		ReadAccess: cfg.ReadAccess, RegistrationClosed: cfg.RegistrationClosed, Upstream: cfg.Upstream,
		Upstreams: cfg.Upstreams, UpstreamStreamAbove: cfg.UpstreamStreamAbove,
		EmailResolver: cfg.EmailResolver, NoPasskeys: cfg.NoPasskeys,
		NoNewDeviceConfirmation: cfg.NoNewDeviceConfirmation})
	// Registered first, so that it runs once the HTTP server has stopped.
	t.Cleanup(a.Close)
	hs := a.HTTP
	go hs.Serve(ln)
	t.Cleanup(func() {
		// Let requests in flight finish, as httptest.Server.Close does.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		hs.Close()
	})
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testServer{t: t, URL: url, st: st, idx: a.Index, acct: a.Account, client: client, outbox: outbox, tf: a.TwoFactor, md: a.Mandate,
		srv: a.Server, hasher: a.Hasher, rec: a.Recovery, http: hs, files: files, pub: a.Publish}
}

// drain waits until the server's background work (registrations, reset
// and recovery requests, and their mail) is done.
func (s *testServer) drain(t testing.TB) {
	t.Helper()
	if err := s.acct.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.rec.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// user creates an account and returns a token acting for it (scoped to
// the given existing projects, if any).
func (s *testServer) user(name string, projects ...string) (*store.User, string) {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.st.UserByUsername(ctx, name)
	if err != nil {
		u = &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: time.Now()}
		if err := s.st.CreateUser(ctx, u); err != nil {
			s.t.Fatal(err)
		}
	}
	return u, s.token(u, projects...)
}

// token creates an upload-only token for u (scoped to the given existing
// projects, if any), directly in the database.
func (s *testServer) token(u *store.User, projects ...string) string {
	s.t.Helper()
	return s.newToken(u, false, projects...)
}

// manageToken creates a token for u with the management scope (scoped to
// the given existing projects, if any), directly in the database.
func (s *testServer) manageToken(u *store.User, projects ...string) string {
	s.t.Helper()
	return s.newToken(u, true, projects...)
}

func (s *testServer) newToken(u *store.User, manage bool, projects ...string) string {
	s.t.Helper()
	ctx := context.Background()
	tok, hash := auth.NewToken()
	st := &store.Token{UserID: u.ID, Name: "test", Prefix: auth.DisplayPrefix(tok), Hash: hash, Scoped: len(projects) > 0,
		CanManage: manage, CreatedAt: time.Now()}
	for _, p := range projects {
		proj, err := s.st.ProjectByName(ctx, p)
		if err != nil {
			s.t.Fatal(err)
		}
		st.ProjectIDs = append(st.ProjectIDs, proj.ID)
	}
	if err := s.st.CreateToken(ctx, st); err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// uploadRequest builds twine's multipart request.
func (s *testServer) uploadRequest(token string, form map[string][]string, filename string, content []byte) *http.Request {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range sortedFormKeys(form) {
		for _, v := range form[k] {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("content", filename)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.SetBasicAuth("__token__", token)
	}
	return req
}

func sortedFormKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// ":action" first, as twine sends it; order otherwise irrelevant.
	for i, k := range keys {
		if k == ":action" {
			keys[0], keys[i] = keys[i], keys[0]
		}
	}
	return keys
}

// do sends a request and returns the response with its body read.
func (s *testServer) do(req *http.Request) (*http.Response, []byte) {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// get fetches a path with optional header pairs.
func (s *testServer) get(path string, headers ...string) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return s.do(req)
}

// uploadDist uploads d's wheel (or sdist) and fails unless it gets 200.
func (s *testServer) uploadDist(token string, d disttest.Dist, sdist bool) {
	s.t.Helper()
	content, ft, fn := d.Wheel(), "bdist_wheel", d.WheelFilename()
	if sdist {
		content, ft, fn = d.Sdist(), "sdist", d.SdistFilename()
	}
	resp, body := s.do(s.uploadRequest(token, d.Form(ft, content), fn, content))
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("upload %s: %s %s", fn, resp.Status, body)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

// userWithPassword creates an account with a verified email and a real
// password hash, for tests of the web UI.
func (s *testServer) userWithPassword(name, password string) *store.User {
	s.t.Helper()
	hash, err := auth.NewHasher(1, auth.MinParams).Hash(context.Background(), password)
	if err != nil {
		s.t.Fatal(err)
	}
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: hash, EmailVerified: true, CreatedAt: time.Now()}
	if err := s.st.CreateUser(context.Background(), u); err != nil {
		s.t.Fatal(err)
	}
	return u
}
