// Package app assembles a cheeseshop server: from a store, a blob store, a
// mailer and its settings it builds the password hasher, the mandate, the
// second factors, the index, the accounts, the giveaway, account recovery,
// the two-factor figures, the download counter, the HTTP handler and the
// HTTP servers, and it knows the background loops they need.
//
// The services depend on one another in an order that matters: the mandate
// decides which users keep their last second factor (twofactor.Config.Bound)
// and which changes to a project need two-factor authentication
// (index.Config.ProjectGate); the second factors decide who may upload at
// all (index.Config.UploadGate) and whether an account has a second step
// (account.Config.HasSecondFactor); accounts and recovery share the hasher.
// New is the only place that knows this order, so that `cheeseshop serve`,
// the admin commands, the tests of internal/web and cheeseshop-bench run
// one and the same wiring: what they may vary (the store, the blob store, the mailer, the
// clock, the logger, the metrics registry, the cost of password hashes, the
// limits) is an input; everything else is decided here once.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/promo"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/report"
	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
	"cheeseshop/internal/twofactor"
	"cheeseshop/internal/web"
)

// Defaults of the zero values of Config.
const (
	// DefaultFollowInterval is how often the cache reads the journal.
	DefaultFollowInterval = time.Second
	// DefaultFileCacheBytes is the memory for small files' bytes.
	DefaultFileCacheBytes = 64 << 20
	// DefaultDownloadsFlush is how often counted downloads are written.
	DefaultDownloadsFlush = 5 * time.Second
	// SweepInterval is how often expired sessions and old rate-limit
	// hits are removed.
	SweepInterval = 10 * time.Minute
)

// Config is what a deployment chooses: `cheeseshop serve` maps its flags
// onto it. Zero values take the defaults of the package concerned.
type Config struct {
	// BaseURL is the public URL of the index, without a trailing slash.
	BaseURL string
	// SecretKey seals TOTP secrets (at least 32 bytes); every server of a
	// deployment needs the same one.
	SecretKey []byte
	// Require2FA requires two-factor authentication of every user.
	Require2FA bool
	// MaxFileSize, MaxProjectSize and CacheBytes are the index's (0:
	// index.DefaultMaxFileSize, index.DefaultMaxProjectSize,
	// index.DefaultCacheBytes).
	MaxFileSize, MaxProjectSize, CacheBytes int64
	// FileCacheBytes bounds the memory holding small files' bytes, sent
	// from there (web.Options.FileCacheBytes; 0: DefaultFileCacheBytes,
	// negative: none held).
	FileCacheBytes int64
	// ReleaseUploadWindow is index.Config's: how long after its creation
	// a release takes new files (0: no limit).
	ReleaseUploadWindow time.Duration
	// StrictRecord refuses wheels whose RECORD disagrees with their
	// contents (index.Config.StrictRecord).
	StrictRecord bool
	// LookalikePolicy is what happens to a project created under a
	// look-alike of a protected name ("": index.LookalikeHold), and
	// NameCheck the detector that finds them (nil: the look-alike
	// detector over the imported protected names and the index's own
	// ProtectOwnTop most-downloaded projects, rebuilt every
	// ProtectRefresh; tests may give another). ProtectOwnTop 0 is
	// DefaultProtectOwnTop; below 0, only the imported list is protected.
	// ProtectUpstreamTop is how many proxied projects, the most
	// downloaded through the index, are protected too (0:
	// DefaultProtectUpstreamTop; below 0: none).
	LookalikePolicy index.LookalikePolicy
	NameCheck       index.NameCheck
	// ReadAccess says who reads the index ("": index.ReadPublic), and
	// RegistrationClosed whether people may register on the site.
	ReadAccess         index.ReadAccess
	RegistrationClosed bool
	ProtectOwnTop      int
	ProtectUpstreamTop int
	// Upstreams are the upstream indexes proxied, in priority order
	// (--upstream; none: no proxy), UpstreamFileHosts the other hosts
	// their pages may link files on; the other Upstream fields configure
	// the proxy (upstream.ProxyConfig; 0: its defaults). LocalNames is
	// what happens when a local project takes an upstream's name.
	Upstreams           []string
	UpstreamFileHosts   []string
	UpstreamTTL         time.Duration
	UpstreamNegativeTTL time.Duration
	UpstreamTimeout     time.Duration
	UpstreamMinAge      time.Duration
	UpstreamAllowList   bool
	UpstreamMaxFileSize int64
	UpstreamMaxFetches  int
	LocalNames          index.LocalNamesPolicy
	// UpstreamStreamAbove is the size above which a first fetch is
	// streamed to its clients (0: upstream.DefaultStreamAbove).
	UpstreamStreamAbove int64
	// SpoolDir is the folder of the proxy's streamed first fetches
	// (<data>/tmp; "": the system's temporary folder).
	SpoolDir string
	// Mandate is the critical-project mandate's settings; its BaseURL and
	// Mailer are the App's.
	Mandate mandate.Config
	// Promo is the giveaway's settings; its BaseURL and Mailer are the
	// App's.
	Promo promo.Config
	// ReportQuarantineReporters and ReportMinAccountAge are the automatic
	// quarantine on users' reports (report.Config.QuarantineReporters, 0:
	// off, and MinAccountAge, 0: report.DefaultMinAccountAge).
	ReportQuarantineReporters int
	ReportMinAccountAge       time.Duration
	// RecoveryWait is account recovery's waiting period (0: none).
	RecoveryWait time.Duration
	// AllowPrivateClassifiers accepts uploads with "Private :: …"
	// classifiers, which PyPI refuses, for a private index.
	AllowPrivateClassifiers bool
	// LegacySdistNames accepts legacy sdist file names, stored under
	// their PEP 625 names (index.Config.LegacySdistNames).
	LegacySdistNames bool
	// CountDownloads counts the files served as downloads, by the policy
	// Downloads, written every DownloadsFlush (0: DefaultDownloadsFlush).
	CountDownloads bool
	Downloads      downloads.Policy
	DownloadsFlush time.Duration
	// StorageRedirect, when positive, answers downloads with a redirect
	// to a URL of the blob store valid this long (--storage-redirect and
	// --storage-redirect-ttl; web.Options.Presigner), which needs a store
	// that presigns URLs (blob.Presigner: S3). 0: the server sends the
	// files.
	StorageRedirect time.Duration
	// FollowInterval is how often the cache reads the journal for changes
	// made by other servers (0: DefaultFollowInterval).
	FollowInterval time.Duration
	// Password is the cost of new password hashes (zero:
	// auth.DefaultParams, production's; tests choose auth.MinParams).
	Password auth.Params
	// HashConcurrency bounds the password hashes computed at once (0:
	// the number of CPUs, at least 2).
	HashConcurrency int
	// Limits are the HTTP server's defences against slow clients; their
	// trusted proxies also name clients to the handler.
	Limits web.Limits
	// AccessLog, MaxUploadsPerClient, HSTSMaxAge, MetricsToken and
	// MetricsElsewhere are the handler's (web.Options). With
	// MetricsElsewhere, App.Metrics serves /metrics.
	AccessLog           bool
	MaxUploadsPerClient int
	HSTSMaxAge          time.Duration
	MetricsToken        string
	MetricsElsewhere    bool
	// OIDCIssuers are the OpenID Connect issuers trusted for trusted
	// publishing besides oidc.BuiltinIssuers (--oidc-issuer), and
	// OIDCAudience is this index's audience ("": oidc.DefaultAudience of
	// BaseURL). The verifier and the publishers' kinds both come from
	// this one list.
	OIDCIssuers  []oidc.Issuer
	OIDCAudience string
	// OIDCProviders names the built-in issuers trusted (--oidc-providers:
	// "github", "gitlab", "google"); nil trusts all three, an empty list
	// none (only OIDCIssuers then).
	OIDCProviders []string
	// MintedTokenLifetime is how long an upload token minted for a
	// trusted publisher works (--minted-token-lifetime; 0:
	// publish.DefaultTokenLifetime, 15 minutes).
	MintedTokenLifetime time.Duration
	// NoTrustedPublishing turns the token exchange off: /_/oidc/*
	// answers PyPI's not-enabled refusal.
	NoTrustedPublishing bool
	// NoPasskeys turns passkeys off (--no-passkeys): no passkey sign-in,
	// registration or upgrade; the passkeys registered still work as
	// security keys after a password.
	NoPasskeys bool
	// NoNewDeviceConfirmation turns off the emailed confirmation of a
	// sign-in by an authenticator app or a recovery code from a browser
	// new to the account (account.Config.NewDeviceConfirmation).
	NoNewDeviceConfirmation bool
	// WebOptions, when set, changes the handler's options last: tests
	// turn a feature off or count downloads their own way.
	WebOptions func(*web.Options)

	// EmailCheckDNS refuses new addresses at domains that cannot receive
	// mail (--email-check-dns; emaildomain.Config.CheckDNS).
	EmailCheckDNS bool
}

// Deps are what the App runs on and reports to.
type Deps struct {
	Store  *store.Store
	Blobs  blob.Store
	Mailer mail.Mailer
	// Log receives every service's log.
	Log *slog.Logger
	// Registry receives the metrics that /metrics exposes.
	Registry *prometheus.Registry
	// Now is the clock of the services that keep time in the database
	// (nil: the system's).
	Now func() time.Time
	// Upstream, when set, is used instead of building one from Config:
	// tests.
	Upstream index.Upstream

	// EmailResolver answers the DNS check of new addresses (nil:
	// net.DefaultResolver; tests give a fake one).
	EmailResolver emaildomain.Resolver
}

// App is an assembled server. Its fields are for the command and the
// tests that drive it; they are set once by New.
type App struct {
	Store     *store.Store
	Hasher    *auth.Hasher
	Mandate   *mandate.Service
	TwoFactor *twofactor.Service
	Index     *index.Service
	Account   *account.Service
	Promo     *promo.Service
	Recovery  *recovery.Service
	Reports   *report.Service
	// Publish keeps projects' trusted publishers and exchanges verified
	// ID tokens for upload tokens.
	Publish *publish.Service
	// OIDC verifies the ID tokens of the trusted issuers.
	OIDC  *oidc.Verifier
	Stats *stats.Service
	// EmailDomains decides which domains new addresses may have.
	EmailDomains *emaildomain.Service
	// Downloads counts the files served (nil without CountDownloads).
	Downloads *downloads.Counter
	// Server is the HTTP handler, HTTP the server to run it with.
	Server *web.Server
	HTTP   *web.HTTPServer
	// Metrics serves /metrics alone (nil without MetricsElsewhere).
	Metrics *web.HTTPServer

	cfg          Config
	stopCounting func()
	// closeUpstream closes the proxy New built (a no-op otherwise).
	closeUpstream func()
	closeOnce     sync.Once
	// detector finds look-alikes (nil with Config.NameCheck or the policy
	// off).
	detector *detector
}

// New assembles an App. The Store must be migrated. Nothing runs in the
// background until Start; Close ends what New and Start began.
func New(ctx context.Context, cfg Config, d Deps) (*App, error) {
	if d.Store == nil || d.Blobs == nil || d.Log == nil || d.Registry == nil {
		return nil, errors.New("app: a store, a blob store, a logger and a metrics registry are needed")
	}
	if cfg.Password != (auth.Params{}) {
		if err := cfg.Password.Validate(); err != nil {
			return nil, fmt.Errorf("app: password hashes: %w", err)
		}
	}
	if cfg.FollowInterval <= 0 {
		cfg.FollowInterval = DefaultFollowInterval
	}
	switch {
	case cfg.FileCacheBytes == 0:
		cfg.FileCacheBytes = DefaultFileCacheBytes
	case cfg.FileCacheBytes < 0:
		cfg.FileCacheBytes = 0
	}
	if cfg.DownloadsFlush <= 0 {
		cfg.DownloadsFlush = DefaultDownloadsFlush
	}
	if cfg.ProtectOwnTop == 0 {
		cfg.ProtectOwnTop = DefaultProtectOwnTop
	}
	if cfg.ProtectUpstreamTop == 0 {
		cfg.ProtectUpstreamTop = DefaultProtectUpstreamTop
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = max(2, runtime.NumCPU())
	}
	presigner, ok := d.Blobs.(blob.Presigner)
	if cfg.StorageRedirect > 0 && !ok {
		return nil, fmt.Errorf("app: --storage-redirect needs a storage that hands out presigned URLs (s3://), which %v does not", d.Blobs)
	}
	st, log := d.Store, d.Log
	a := &App{Store: st, cfg: cfg, stopCounting: func() {}, closeUpstream: func() {}}
	a.Hasher = auth.NewHasher(cfg.HashConcurrency, cfg.Password)

	var err error
	mcfg := cfg.Mandate
	mcfg.BaseURL, mcfg.Mailer = cfg.BaseURL, d.Mailer
	if a.Mandate, err = mandate.New(st, mcfg, log, d.Now); err != nil {
		return nil, err
	}
	a.TwoFactor, err = twofactor.New(st, cfg.SecretKey,
		twofactor.Config{BaseURL: cfg.BaseURL, RequireAll: cfg.Require2FA, Mailer: d.Mailer, Bound: a.Mandate.Bound,
			Passkeys: !cfg.NoPasskeys}, log, d.Now)
	if err != nil {
		return nil, err
	}
	nameCheck := cfg.NameCheck
	if nameCheck == nil && cfg.LookalikePolicy != index.LookalikeOff {
		a.detector = &detector{ownTop: cfg.ProtectOwnTop, upstreamTop: cfg.ProtectUpstreamTop, log: log}
		nameCheck = a.detector.check
	}
	up, err := a.newUpstream(cfg, d)
	if err != nil {
		return nil, err
	}
	a.Index = index.New(st, d.Blobs, index.Config{Upstream: up, LocalNames: cfg.LocalNames, BaseURL: cfg.BaseURL, AllowPrivateClassifiers: cfg.AllowPrivateClassifiers,
		MaxFileSize: cfg.MaxFileSize, MaxProjectSize: cfg.MaxProjectSize,
		CacheBytes: cfg.CacheBytes, UploadGate: a.TwoFactor.UploadGate, ProjectGate: projectGate(a.Mandate), Mailer: d.Mailer,
		NameCheck: nameCheck, LookalikePolicy: cfg.LookalikePolicy, StrictRecord: cfg.StrictRecord, LegacySdistNames: cfg.LegacySdistNames,
		ReleaseUploadWindow: cfg.ReleaseUploadWindow, ReadAccess: cfg.ReadAccess}, log)
	if cfg.ReadAccess == index.ReadAuthenticated && !cfg.RegistrationClosed {
		log.Warn("reads need authentication but registration is open: anyone who registers can read every project")
	}
	if a.detector != nil {
		a.detector.idx = a.Index
		if err := a.detector.refresh(ctx); err != nil {
			return nil, err
		}
	}
	a.EmailDomains = emaildomain.New(st, emaildomain.Config{CheckDNS: cfg.EmailCheckDNS, Resolver: d.EmailResolver}, log, d.Now)
	a.Account, err = account.New(ctx, st, a.Hasher, account.Config{BaseURL: cfg.BaseURL, Mailer: d.Mailer, HasSecondFactor: a.TwoFactor.HasTwoFactor,
		CheckEmail: a.EmailDomains.Check, NewDeviceConfirmation: !cfg.NoNewDeviceConfirmation}, log, d.Now)
	if err != nil {
		return nil, err
	}
	pcfg := cfg.Promo
	pcfg.BaseURL, pcfg.Mailer = cfg.BaseURL, d.Mailer
	if a.Promo, err = promo.New(st, pcfg, log, d.Now); err != nil {
		a.Account.Close()
		return nil, err
	}
	a.Recovery = recovery.New(st, a.Hasher, recovery.Config{BaseURL: cfg.BaseURL, Wait: cfg.RecoveryWait, Mailer: d.Mailer}, log, d.Now)
	a.Reports = report.New(st, a.Index, report.Config{QuarantineReporters: cfg.ReportQuarantineReporters,
		MinAccountAge: cfg.ReportMinAccountAge, BaseURL: cfg.BaseURL, Mailer: d.Mailer}, log, d.Now)
	if err := a.newTrustedPublishing(cfg, d); err != nil {
		a.Account.Close()
		a.Recovery.Close()
		return nil, err
	}
	a.Stats = stats.New(st, log, nil, 0)

	now := d.Now
	if now == nil {
		now = time.Now
	}
	opts := web.Options{AccessLog: cfg.AccessLog, Ready: newReadiness(st, d.Blobs, log, now).check,
		TwoFactor: a.TwoFactor, Mandate: a.Mandate, Promo: a.Promo, Stats: a.Stats, Recovery: a.Recovery, Reports: a.Reports,
		MaxUploadsPerClient: cfg.MaxUploadsPerClient, HSTSMaxAge: cfg.HSTSMaxAge, MetricsToken: cfg.MetricsToken,
		MetricsElsewhere: cfg.MetricsElsewhere, TrustedProxies: cfg.Limits.TrustedProxies, RegistrationClosed: cfg.RegistrationClosed,
		FileCacheBytes: cfg.FileCacheBytes}
	if !cfg.NoTrustedPublishing {
		opts.OIDC, opts.Publish = a.OIDC, a.Publish
	}
	if cfg.StorageRedirect > 0 {
		opts.Presigner, opts.RedirectTTL = presigner, cfg.StorageRedirect
	}
	if cfg.CountDownloads {
		a.Downloads = downloads.NewCounter(st, log, cfg.Downloads)
		opts.CountDownload = a.Downloads.Count
		registerDownloads(d.Registry, a.Downloads)
	}
	if cfg.WebOptions != nil {
		cfg.WebOptions(&opts)
	}
	a.Server = web.New(a.Index, a.Account, log, d.Registry, opts)
	a.HTTP = web.NewHTTPServer(a.Server, cfg.Limits)
	d.Registry.MustRegister(a.HTTP.Collectors()...)
	if cfg.MetricsElsewhere {
		a.Metrics = web.NewHTTPServer(a.Server.MetricsHandler(), cfg.Limits)
	}
	return a, nil
}

// newTrustedPublishing builds the ID token verifier and the publishers'
// service from one list of issuers: the built-in ones and the
// operator's, each issuer's kind naming the publishers it serves.
func (a *App) newTrustedPublishing(cfg Config, d Deps) error {
	issuers := oidc.BuiltinIssuers()
	if cfg.OIDCProviders != nil {
		var err error
		if issuers, err = oidc.SelectBuiltinIssuers(cfg.OIDCProviders); err != nil {
			return fmt.Errorf("app: trusted publishing: %w", err)
		}
	}
	issuers = append(issuers, cfg.OIDCIssuers...)
	audience := cfg.OIDCAudience
	if audience == "" {
		var err error
		if audience, err = oidc.DefaultAudience(cfg.BaseURL); err != nil {
			return fmt.Errorf("app: trusted publishing: %w", err)
		}
	}
	v, err := oidc.New(oidc.Config{Issuers: issuers, Audience: audience, Now: d.Now, Log: d.Log})
	if err != nil {
		return fmt.Errorf("app: trusted publishing: %w", err)
	}
	kinds := make(map[string]string, len(issuers))
	for _, iss := range issuers {
		kinds[iss.Name] = string(iss.Kind)
	}
	a.OIDC = v
	a.Publish = publish.New(a.Store, a.Index, publish.Config{Issuers: kinds, TokenLifetime: cfg.MintedTokenLifetime}, d.Log, d.Now)
	return nil
}

// registerDownloads exposes the counter's backlog and what it did not count.
func registerDownloads(reg *prometheus.Registry, c *downloads.Counter) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cheeseshop_downloads_pending",
		Help: "Downloads counted and not written to the database yet."}, func() float64 { return float64(c.Pending()) }))
	for reason, n := range map[string]func(downloads.Skipped) int64{
		"agent": func(s downloads.Skipped) int64 { return s.Agent }, "limit": func(s downloads.Skipped) int64 { return s.Limit },
		"full": func(s downloads.Skipped) int64 { return s.Full },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cheeseshop_downloads_not_counted_total",
			Help:        "Complete downloads not counted: by a user agent not counted (agent), over --downloads-per-address (limit), or from a pair beyond --downloads-max-addresses (full).",
			ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(n(c.Skipped())) }))
	}
}

// projectGate makes the mandate the index's project gate.
func projectGate(md *mandate.Service) index.ProjectGate {
	return func(ctx context.Context, q index.GateQuerier, u *store.User, p *store.Project) (string, error) {
		return md.Check(ctx, q, u, p)
	}
}

// Start runs the background loops of a server until ctx is done: the
// project list is built at once (the server need not wait for it), the
// cache follows the journal, expired sessions are swept, the critical
// projects are computed and the two-factor figures recorded daily, and
// counted downloads are written. The counter outlives ctx: it writes its
// last counts in Close, once the HTTP server no longer counts.
func (a *App) Start(ctx context.Context) {
	go a.Index.Cache().Warm(ctx)
	go a.Index.Cache().Follow(ctx, a.cfg.FollowInterval)
	go a.Account.SweepEvery(ctx, SweepInterval)
	go a.Mandate.RunDaily(ctx)
	go a.Stats.RunDaily(ctx)
	if a.detector != nil {
		go a.detector.refreshEvery(ctx, ProtectRefresh)
	}
	if a.Downloads != nil {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { a.Downloads.Run(cctx, a.cfg.DownloadsFlush); close(done) }()
		a.stopCounting = sync.OnceFunc(func() { cancel(); <-done })
	}
}

// Close ends the App's work once its HTTP servers have stopped: the last
// counted downloads are written, then the queued work of recovery and
// accounts (the mail of the last registrations and requests) is done. It
// neither stops the loops of Start (cancel their context) nor closes the
// Deps. Only the first call does anything.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		a.stopCounting()
		a.closeUpstream()
		a.Recovery.Close()
		a.Account.Close()
	})
}
