package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/web"
)

// ServeCmd runs the server.
type ServeCmd struct {
	RuleFlags       `embed:""`
	PromoFlags      `embed:""`
	Addr            string        `default:"127.0.0.1:8080" help:"Address to listen on (host:port; port 0 picks a free one)."`
	BaseURL         string        `help:"Public URL of the index (e.g. https://pypi.example.org), used in file links. Default: http://<addr>."`
	CacheSize       byteSize      `default:"256MiB" help:"Memory for cached project pages."`
	FileCacheSize   byteSize      `default:"64MiB" help:"Memory for the bytes of small files (64 KiB or less), sent from there instead of the storage. 0: none."`
	GCFloor         byteSize      `name:"gc-floor" default:"64MiB" help:"Let the heap grow by at least this much between garbage collections, however little memory is live (more throughput for at most this much more memory; 0: Go's default). Ignored when GOGC is set."`
	AccessLog       bool          `default:"true" negatable:"" help:"Log every request."`
	FollowInterval  time.Duration `default:"1s" help:"How often to read the database journal for changes made by other servers."`
	ShutdownTimeout time.Duration `default:"60s" help:"How long to let in-flight requests (uploads) finish on shutdown."`
	SMTPURL         string        `name:"smtp-url" env:"CHEESESHOP_SMTP_URL" help:"SMTP server for outbound email: smtp://user:pass@host:587 (STARTTLS) or smtps://host:465. Default: write emails to <data>/outbox."`
	MailFrom        string        `help:"Sender of outbound email. Default: cheeseshop <noreply@HOST of --base-url>."`
	Passkeys        bool          `default:"true" negatable:"" help:"Let users register passkeys (discoverable security keys that verify the user with a PIN or a biometric) and sign in with them alone, without a username or password. Off (--no-passkeys), the passkeys already registered still work as security keys after a password."`
	CountDownloads  bool          `default:"true" negatable:"" help:"Count the files this server serves (complete GETs answered 200) as downloads per project per day. They are counted in memory and written every --downloads-flush and at shutdown: a crash loses at most the last interval. Turn it off (--no-count-downloads) when the access logs of a CDN or proxy in front are imported instead, so that nothing is counted twice."`
	DownloadsFlush  time.Duration `default:"5s" help:"How often counted downloads are written to the database (at most this much counting is lost on a crash)."`
	RecoveryWait    time.Duration `default:"168h" help:"Account recovery: the waiting period between the email confirmation of a request and the earliest approval by an administrator; the user is told by email and can cancel meanwhile. 0 means none (for tests and demos only)."`

	// New-device confirmation (README.md, Two-factor authentication).
	NewDeviceConfirmation bool `default:"true" negatable:"" help:"Make a sign-in whose second step was an authenticator app or a recovery code, from a browser the account has not used before, wait for a link emailed to the account that works only in that browser, so that a phishing page relaying the password and the code cannot finish it. Security keys are exempt. Off (--no-new-device-confirmation), no sign-in waits."`

	// Private reads (README.md, Private index).
	ReadAccess   string `default:"public" enum:"public,authenticated" help:"Who reads the index: public (anybody) or authenticated (every read, the simple and JSON APIs, files and the web pages other than signing in, needs a signed-in session or an API token given as HTTP Basic with the username __token__; pip and uv send it from the index URL, .netrc or a keyring)."`
	Registration string `default:"auto" enum:"auto,open,closed" help:"Whether people may create accounts on the site: open, closed (administrators create them with admin user create) or auto (open with public reads, closed with authenticated reads, where anybody who registers could read every project)."`

	// The automatic quarantine on users' reports (docs/SUPPLY-CHAIN.md).
	ReportQuarantineReporters int           `default:"0" help:"Quarantine a project automatically when this many distinct users, each with an account older than --report-min-account-age, report it within a day (docs/SUPPLY-CHAIN.md). 0 turns the automatic quarantine off: administrators decide at /admin/reports/."`
	ReportMinAccountAge       time.Duration `default:"720h" help:"How old an account must be for its reports to count towards --report-quarantine-reporters (new accounts cost an attacker nothing)."`

	// Trusted publishing (README.md, Trusted publishing).
	TrustedPublishing   bool          `default:"true" negatable:"" help:"Let CI jobs exchange an OpenID Connect ID token of a trusted issuer for a 15-minute upload token (POST /_/oidc/mint-token), as PyPI's trusted publishing. Off (--no-trusted-publishing), the exchange answers PyPI's not-enabled refusal."`
	OIDCIssuer          []string      `name:"oidc-issuer" sep:"," help:"Trust another OIDC issuer besides GitHub Actions, gitlab.com and Google (repeatable): NAME=URL for an issuer whose publishers match claims by rules (a Forgejo, any OIDC issuer), or KIND:NAME=URL (KIND github, gitlab or google) for a self-managed instance of those, e.g. gitlab:corp=https://gitlab.corp.example. The URL is the issuer of its tokens (https)."`
	OIDCProviders       []string      `name:"oidc-providers" sep:"," default:"github,gitlab,google" help:"The built-in issuers trusted for trusted publishing (comma-separated: github, gitlab, google; none for none, leaving only --oidc-issuer): trust only the CI services your projects use."`
	MintedTokenLifetime time.Duration `default:"15m" help:"How long an upload token minted for a trusted publisher works (POST /_/oidc/mint-token), between 1s and 15m (PyPI's 15 minutes, the default): shorter limits what a leaked minted token can do, longer is not allowed."`
	OIDCAudience        string        `name:"oidc-audience" help:"The audience CI jobs ask their ID tokens for (GET /_/oidc/audience); never pypi, so that tokens for PyPI cannot be replayed here and the reverse. Default: the host of --base-url."`

	// New accounts' email addresses (docs/SECURITY.md, Email addresses).
	EmailCheckDNS bool `name:"email-check-dns" default:"true" negatable:"" help:"Refuse new addresses (registration, email change) at domains that cannot receive mail: no such domain, a null MX, or neither MX nor address records. A DNS that fails or takes over 2s lets the address through (logged). Off (--no-email-check-dns) on a network without DNS; disposable and prohibited domains are refused either way."`

	// Downloads from S3 (docs/DEPLOYMENT.md).
	StorageRedirect    bool          `help:"Answer downloads of files with a redirect (302) to a short-lived presigned URL of the S3 storage, which then sends the bytes (itself or through a CDN in front of --storage's public_endpoint), instead of sending them from this server. Needs s3:// --storage. A GET of a whole file counts as a download at the redirect (docs/DOWNLOADS.md)."`
	StorageRedirectTTL time.Duration `name:"storage-redirect-ttl" default:"5m" help:"How long the presigned URLs of --storage-redirect work, between 10s and 12h; clients may cache the redirect for half of it."`

	// Which downloads count (docs/DOWNLOADS.md).
	DownloadPolicyFlags   `embed:""`
	DownloadsMaxAddresses int `default:"1048576" help:"The most (client address, project) pairs remembered per day for --downloads-per-address (about 36 bytes each: 36 MiB at the default); past it, downloads from other pairs are not counted until midnight UTC."`
	TransportFlags        `embed:""`
}

// TransportFlags are the defences of the HTTP server against slow and
// stalled clients, its headers and its metrics endpoint. Their defaults
// are web.DefaultLimits (TestTransportDefaults checks it).
type TransportFlags struct {
	ReadHeaderTimeout time.Duration `default:"10s" help:"How long a client may take to send a request's headers; slow or silent connections are closed."`
	IdleTimeout       time.Duration `default:"2m" help:"How long a keep-alive connection may wait for its next request."`
	BodyMinBytes      byteSize      `default:"8KiB" help:"Slowest request body (upload) accepted: at least this much in every --body-timeout, or the request is aborted (408) and a partial upload deleted at once. 0: no minimum."`
	BodyTimeout       time.Duration `default:"30s" help:"The window of --body-min-bytes: the longest a request body may stall."`
	SendMinBytes      byteSize      `default:"64KiB" help:"Slowest a client may take a response (a file download): at least this much in every --send-timeout, or the connection is closed. 0: no minimum."`
	SendTimeout       time.Duration `default:"30s" help:"The window of --send-min-bytes: the longest a client may stop reading a response."`
	MaxConnsPerIP     int           `name:"max-conns-per-ip" default:"64" help:"Open connections per client address (IPv4 address, IPv6 /64); more are answered 429 and closed. Behind a reverse proxy every client has the proxy's address: set 0 (no cap) and limit at the proxy."`
	MaxUploadsPerIP   int           `name:"max-uploads-per-ip" default:"8" help:"Uploads in progress per client address (as --max-conns-per-ip); more are answered 429 with Retry-After. 0: no cap."`
	HSTSMaxAge        time.Duration `name:"hsts-max-age" default:"8760h" help:"With an https --base-url, every response carries Strict-Transport-Security with this max-age (and includeSubDomains). 0: no header."`
	MetricsToken      string        `env:"CHEESESHOP_METRICS_TOKEN" help:"Bearer token /metrics requires (at least 16 characters, e.g. openssl rand -hex 32). Default: /metrics is public (the two-factor figures are public anyway)."`
	MetricsAddr       string        `help:"Serve /metrics only on this address (host:port), not on --addr."`
	TrustedProxies    []string      `name:"trusted-proxies" sep:"," help:"Reverse proxies and load balancers in front of the server (addresses or CIDR networks, comma-separated). A request from one of them is attributed to the client its X-Forwarded-For names (the right-most address that is not a trusted proxy), for rate limits, upload caps, download counting and the security log; their connections are not capped by --max-conns-per-ip. Default: none, every request is its connection's peer's."`
}

// limits returns the web.Limits of the flags.
func (c *TransportFlags) limits() (web.Limits, error) {
	tp, err := web.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return web.Limits{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	l := web.Limits{ReadHeaderTimeout: c.ReadHeaderTimeout, IdleTimeout: c.IdleTimeout,
		BodyMinBytes: int64(c.BodyMinBytes), BodyWindow: c.BodyTimeout, SendMinBytes: int64(c.SendMinBytes), SendWindow: c.SendTimeout,
		MaxConnsPerClient: c.MaxConnsPerIP, TrustedProxies: tp}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("--read-header-timeout, --idle-timeout, --body-*, --send-*, --max-conns-per-ip: %w", err)
	}
	switch {
	case c.MaxUploadsPerIP < 0:
		return l, fmt.Errorf("--max-uploads-per-ip must not be negative (0: no cap), not %d", c.MaxUploadsPerIP)
	case c.HSTSMaxAge < 0:
		return l, fmt.Errorf("--hsts-max-age must not be negative (0: no header), not %s", c.HSTSMaxAge)
	case c.MetricsToken != "" && len(c.MetricsToken) < 16:
		return l, errors.New("--metrics-token must be at least 16 characters: generate one with openssl rand -hex 32")
	}
	return l, nil
}

// mailFrom returns the sender of emails for a server at base.
func mailFrom(base string) string {
	host := "localhost"
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if !strings.Contains(host, ".") || net.ParseIP(host) != nil {
		// An address or a bare name is no mail domain; "localhost" is the
		// conventional stand-in.
		host = "localhost"
	}
	return "cheeseshop <noreply@" + host + ">"
}

// Run implements the command.
func (c *ServeCmd) Run(e *env) error {
	gcFloor(uint64(c.GCFloor))
	limits, err := c.limits()
	if err != nil {
		return err
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := e.openBlobs()
	if err != nil {
		return err
	}
	defer blobs.Close()
	if tc, ok := blobs.(blob.TempCleaner); ok {
		if n, err := tc.CleanTemp(); err != nil {
			e.log.Warn("cleaning abandoned uploads", "err", err)
		} else if n > 0 {
			e.log.Info("removed uploads abandoned by a previous process", "folders", n)
		}
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	// Closed on every way out, also when start-up fails below (the HTTP
	// server closes it too when it stops; a second Close is harmless).
	defer ln.Close()
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = defaultBaseURL(ln.Addr())
	}
	var mln net.Listener
	if c.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", c.MetricsAddr, err)
		}
		defer mln.Close()
	}
	from := c.MailFrom
	if from == "" {
		from = mailFrom(base)
	}
	outbox := filepath.Join(e.Data, "outbox")
	mailer, err := mail.New(c.SMTPURL, outbox, from)
	if err != nil {
		return err
	}
	mailDest := outbox + " (folder; set --smtp-url to send)"
	if sm, ok := mailer.(fmt.Stringer); ok {
		mailDest = "SMTP " + sm.String()
	}
	key, err := secretKey(e.Data, c.SecretKey)
	if err != nil {
		return err
	}
	cfg, err := c.appConfig(base, key, limits, mln != nil)
	if err != nil {
		return err
	}
	cfg.SpoolDir = filepath.Join(e.Data, "tmp")
	a, err := app.New(e.ctx, cfg, app.Deps{Store: st, Blobs: blobs, Mailer: mailer, Log: e.log, Registry: prometheus.NewRegistry(), Now: serverClock(e.log)})
	if err != nil {
		return err
	}
	// Deferred, so that it runs once the HTTP server has stopped: the last
	// downloads counted are written, the mail of the last registrations and
	// reset and recovery requests goes out.
	defer a.Close()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	a.Start(ctx)
	srv, msrv := a.HTTP, a.Metrics

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
	}
	fmt.Fprintf(e.stdout, "cheeseshop listening on %s\n", base)
	fmt.Fprintf(e.stdout, "  web:      %s/   (bound to %s)\n", base, ln.Addr())
	if mln != nil {
		fmt.Fprintf(e.stdout, "  metrics:  http://%s/metrics\n", mln.Addr())
	}
	fmt.Fprintf(e.stdout, "  database: %s\n  files:    %v\n", redactURL(e.databaseURL()), blobs)
	fmt.Fprintf(e.stdout, "  email:    %s, from %s\n", mailDest, from)
	fmt.Fprintf(e.stdout, "  install:  pip install --index-url %s/simple/ PROJECT   (in a venv)\n", base)
	fmt.Fprintf(e.stdout, "  upload:   twine upload --repository-url %s/legacy/ -u __token__ -p TOKEN dist/*\n", base)
	fmt.Fprintf(e.stdout, "  create a user and a token (in another terminal):\n")
	prog := "cheeseshop"
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		prog = os.Args[0]
	}
	fmt.Fprintf(e.stdout, "    %s admin user create --data %s --username alice --email alice@example.org\n", prog, e.Data)
	fmt.Fprintf(e.stdout, "    %s admin token create --data %s --username alice\n", prog, e.Data)
	fmt.Fprintf(e.stdout, "  step by step, from building a project to installing it: README.md, \"Your first upload\"\n")
	e.log.Info("listening", "addr", ln.Addr().String(), "base_url", base, "database", st.Dialect(), "files", fmt.Sprint(blobs), "mail", mailDest)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
	}
	e.log.Info("shutting down: finishing in-flight requests", "timeout", c.ShutdownTimeout)
	sctx, scancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer scancel()
	if msrv != nil {
		msrv.Close() // nothing there to finish
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Close()
	e.log.Info("stopped")
	return nil
}

// appConfig maps the flags onto the server's settings, for a server at
// base with the secret key and limits given, and /metrics on a listener of
// its own if metricsElsewhere.
func (c *ServeCmd) appConfig(base string, key []byte, limits web.Limits, metricsElsewhere bool) (app.Config, error) {
	cfg, err := c.RuleFlags.config(base)
	if err != nil {
		return cfg, err
	}
	if cfg.Promo, err = c.PromoFlags.config(base, nil); err != nil {
		return cfg, err
	}
	cfg.SecretKey, cfg.CacheBytes, cfg.FileCacheBytes = key, int64(c.CacheSize), fileCacheBytes(c.FileCacheSize)
	cfg.RecoveryWait, cfg.FollowInterval = c.RecoveryWait, c.FollowInterval
	cfg.Limits, cfg.AccessLog, cfg.MaxUploadsPerClient, cfg.HSTSMaxAge = limits, c.AccessLog, c.MaxUploadsPerIP, c.HSTSMaxAge
	cfg.MetricsToken, cfg.MetricsElsewhere = c.MetricsToken, metricsElsewhere
	cfg.ReportQuarantineReporters, cfg.ReportMinAccountAge = c.ReportQuarantineReporters, c.ReportMinAccountAge
	cfg.NoTrustedPublishing, cfg.OIDCAudience = !c.TrustedPublishing, c.OIDCAudience
	cfg.NoPasskeys = !c.Passkeys
	cfg.EmailCheckDNS = c.EmailCheckDNS
	cfg.NoNewDeviceConfirmation = !c.NewDeviceConfirmation
	cfg.ReadAccess = index.ReadAccess(c.ReadAccess)
	cfg.RegistrationClosed = c.Registration == "closed" || (c.Registration == "auto" && cfg.ReadAccess == index.ReadAuthenticated)
	if c.StorageRedirectTTL < 10*time.Second || c.StorageRedirectTTL > 12*time.Hour {
		return cfg, fmt.Errorf("--storage-redirect-ttl must be between 10s and 12h, not %s", c.StorageRedirectTTL)
	}
	if c.StorageRedirect {
		cfg.StorageRedirect = c.StorageRedirectTTL
	}
	if c.MintedTokenLifetime < time.Second || c.MintedTokenLifetime > publish.DefaultTokenLifetime {
		return cfg, fmt.Errorf("--minted-token-lifetime must be between 1s and %s, not %s", publish.DefaultTokenLifetime, c.MintedTokenLifetime)
	}
	cfg.MintedTokenLifetime = c.MintedTokenLifetime
	cfg.OIDCProviders = []string{}
	for _, p := range c.OIDCProviders {
		if p != "none" && p != "" {
			cfg.OIDCProviders = append(cfg.OIDCProviders, p)
		}
	}
	if _, err := oidc.SelectBuiltinIssuers(cfg.OIDCProviders); err != nil {
		return cfg, fmt.Errorf("--oidc-providers: %w", err)
	}
	for _, f := range c.OIDCIssuer {
		iss, err := oidc.ParseIssuerFlag(f)
		if err != nil {
			return cfg, fmt.Errorf("--oidc-issuer: %w", err)
		}
		cfg.OIDCIssuers = append(cfg.OIDCIssuers, iss)
	}
	if c.ReportQuarantineReporters < 0 || c.ReportMinAccountAge < 0 {
		return cfg, fmt.Errorf("--report-quarantine-reporters and --report-min-account-age must not be negative")
	}
	if c.CountDownloads {
		if c.DownloadsFlush <= 0 {
			return cfg, fmt.Errorf("--downloads-flush must be positive, not %s", c.DownloadsFlush)
		}
		policy, err := c.policy()
		if err != nil {
			return cfg, err
		}
		if c.DownloadsMaxAddresses <= 0 {
			return cfg, fmt.Errorf("--downloads-max-addresses must be positive, not %d", c.DownloadsMaxAddresses)
		}
		policy.MaxAddresses = c.DownloadsMaxAddresses
		cfg.CountDownloads, cfg.Downloads, cfg.DownloadsFlush = true, policy, c.DownloadsFlush
	}
	return cfg, nil
}

// defaultBaseURL is the base URL of a server without --base-url: its
// address, with a loopback IP named "localhost", because browsers and
// WebAuthn refuse an IP address as a security key's relying party.
func defaultBaseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// fileCacheBytes maps --file-cache-size onto app.Config.FileCacheBytes,
// where 0 is the default: the flag's 0 holds no files.
func fileCacheBytes(size byteSize) int64 {
	if size == 0 {
		return -1
	}
	return int64(size)
}
