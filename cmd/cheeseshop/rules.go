package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/index"
	"cheeseshop/internal/upstream"
)

// RuleFlags are the settings that decide what the index accepts and who
// may change a project: the sizes and checks of files, the release upload
// window, look-alikes of popular names, the upstreams and the names they
// list, the critical-project mandate and two-factor authentication. serve
// and the admin commands that change projects embed them, so that a flag,
// or its CHEESESHOP_<FLAG> variable, holds for the command line as it does
// for the server.
type RuleFlags struct {
	MandateFlags `embed:""`
	SecretKey    string `env:"CHEESESHOP_SECRET_KEY" help:"Server secret key (at least 32 characters) that seals TOTP secrets; every server of a deployment needs the same one. Default: generated once into <data>/secret.key."`
	Require2FA   bool   `name:"require-2fa" env:"CHEESESHOP_REQUIRE_2FA" help:"Require two-factor authentication of every user: without it, a user can only set it up, and cannot upload."`

	// Files and their metadata (README.md, Metadata checks).
	MaxFileSize             byteSize `default:"100MiB" help:"Largest file accepted."`
	MaxProjectSize          byteSize `default:"10GiB" help:"Largest total size of a project's files."`
	StrictRecord            bool     `help:"Refuse wheels whose RECORD disagrees with their contents (a file not listed, an entry for a missing file, a wrong sha256 hash or size). Default: accept them as PyPI does, with a warning in the upload's answer and an event in the project's security log."`
	AllowPrivateClassifiers bool     `help:"Accept uploads whose classifiers start with 'Private ::'. Projects use them to mark code never meant for a public index, and PyPI refuses them; allow them on a private index."`
	LegacySdistNames        bool     `help:"Accept an sdist whose file name spells the project's name otherwise than PEP 625 (nc-hello-0.1.0.tar.gz, as setuptools before 69.3 writes it) and store it under its PEP 625 name (nc_hello-0.1.0.tar.gz), the only one pages, downloads and the duplicate checks then know. Default: refuse it, as PyPI does (/help/#sdist-file-names)."`

	// New files to old releases (docs/SECURITY.md).
	ReleaseUploadWindow time.Duration `default:"336h" help:"How long after its creation a release takes new files; later ones are refused, as PyPI does after 14 days, so that a stolen token cannot add files to old releases that users pin (docs/SECURITY.md). Re-uploading an identical file still succeeds. 0 turns the limit off."`

	// Look-alikes of popular names (docs/SUPPLY-CHAIN.md).
	LookalikePolicy    string `default:"hold" enum:"hold,flag,off" help:"What happens to a project created under a look-alike of a protected name (a popular project's, docs/SUPPLY-CHAIN.md): hold (created but not published until an administrator approves it at /admin/lookalikes/), flag (published; the administrators are told) or off. With hold and flag, an event and an email to every administrator."`
	ProtectOwnTop      int    `default:"1000" help:"How many of this index's own most-downloaded projects (over the download window of the critical computation) are protected from look-alikes, beside the list imported with admin names protect; -1: the imported list only."`
	ProtectUpstreamTop int    `default:"1000" help:"How many proxied projects (--upstream), the most downloaded through this index over the download window of the critical computation, are protected from look-alikes beside --protect-own-top (a local reqeusts is held when requests is installed through the proxy); -1: none."`

	// The proxy of upstream indexes (README.md, Upstream proxy).
	Upstream            []string      `name:"upstream" sep:"," help:"Proxy an upstream index: the root of its simple API, e.g. https://pypi.org/simple/ (repeatable, in priority order). A project that does not exist on this index is served from the first upstream that lists it, its files fetched, checked against the upstream's SHA-256 and stored on first use. Credentials in the URL (https://user:secret@host/simple/) are sent to that host only and never logged."`
	UpstreamFileHost    []string      `name:"upstream-file-host" sep:"," help:"Another host (host or host:port) the upstreams' pages may link files on (repeatable); files.pythonhosted.org is added for pypi.org."`
	UpstreamTTL         time.Duration `name:"upstream-ttl" default:"10m" help:"How long a proxied project's page is served before the upstream is asked again (conditionally); when it does not answer, the last page is served."`
	UpstreamNegativeTTL time.Duration `name:"upstream-negative-ttl" default:"1m" help:"How long a name no upstream lists is remembered as such."`
	UpstreamTimeout     time.Duration `name:"upstream-timeout" default:"10s" help:"How long to wait for an upstream's answer to a page request (the whole page is bounded by 30s, or by this when longer)."`
	UpstreamMinAge      ageDuration   `name:"upstream-min-age" default:"0" help:"Minimum release age of proxied files, e.g. 7d or 72h: younger files, and files whose upload time the upstream does not give (every file of an upstream serving PEP 503 HTML), are neither listed nor served, except for a project an administrator exempts. 0: off."`
	UpstreamAllowList   bool          `name:"upstream-allow-list" help:"Proxy only the names an allow rule of the administrators names (admin upstream allow); every other name answers 404."`
	UpstreamMaxFileSize byteSize      `name:"upstream-max-file-size" default:"4GiB" help:"Largest proxied file fetched from an upstream whose page does not give its size (and the largest listed size accepted)."`
	UpstreamMaxFetches  int           `name:"upstream-max-fetches" default:"16" help:"The most files fetched from the upstreams at once, server-wide; a first download beyond it waits 2s, then answers 503."`
	UpstreamLocalNames  string        `name:"upstream-local-names" default:"ask" enum:"refuse,allow,ask" help:"What happens when a new local project takes a name an upstream lists (dependency confusion): refuse it, allow it (it shadows the upstream's from then on) or ask (created held until an administrator approves it; meanwhile the upstream's project is still served)."`
}

// config maps the flags onto the settings of an index at base; the
// secret key is left to the caller (secretKey).
func (f *RuleFlags) config(base string) (app.Config, error) {
	md, err := f.MandateFlags.config()
	if err != nil {
		return app.Config{}, err
	}
	lookalike, err := index.ParseLookalikePolicy(f.LookalikePolicy)
	if err != nil {
		return app.Config{}, fmt.Errorf("--lookalike-policy: %w", err)
	}
	if f.ReleaseUploadWindow < 0 {
		return app.Config{}, fmt.Errorf("--release-upload-window must not be negative, not %s", f.ReleaseUploadWindow)
	}
	cfg := app.Config{BaseURL: base, Require2FA: f.Require2FA, Mandate: md,
		MaxFileSize: int64(f.MaxFileSize), MaxProjectSize: int64(f.MaxProjectSize), StrictRecord: f.StrictRecord,
		AllowPrivateClassifiers: f.AllowPrivateClassifiers, LegacySdistNames: f.LegacySdistNames,
		ReleaseUploadWindow: f.ReleaseUploadWindow,
		LookalikePolicy:     lookalike, ProtectOwnTop: f.ProtectOwnTop, ProtectUpstreamTop: f.ProtectUpstreamTop}
	return cfg, f.upstreamConfig(&cfg)
}

// upstreamConfig maps the upstream flags onto cfg.
func (f *RuleFlags) upstreamConfig(cfg *app.Config) error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--upstream-ttl", f.UpstreamTTL}, {"--upstream-negative-ttl", f.UpstreamNegativeTTL}, {"--upstream-timeout", f.UpstreamTimeout}} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive, not %s", d.flag, d.v)
		}
	}
	if f.UpstreamMaxFetches < 1 {
		return fmt.Errorf("--upstream-max-fetches must be at least 1, not %d", f.UpstreamMaxFetches)
	}
	if f.UpstreamMaxFileSize <= 0 {
		return errors.New("--upstream-max-file-size must be positive")
	}
	if len(f.Upstream) == 0 && len(f.UpstreamFileHost) > 0 {
		return errors.New("--upstream-file-host needs an --upstream")
	}
	cfg.Upstreams, cfg.UpstreamFileHosts = f.Upstream, f.UpstreamFileHost
	cfg.UpstreamTTL, cfg.UpstreamNegativeTTL, cfg.UpstreamTimeout = f.UpstreamTTL, f.UpstreamNegativeTTL, f.UpstreamTimeout
	cfg.UpstreamMinAge, cfg.UpstreamAllowList = time.Duration(f.UpstreamMinAge), f.UpstreamAllowList
	cfg.UpstreamMaxFileSize, cfg.UpstreamMaxFetches = int64(f.UpstreamMaxFileSize), f.UpstreamMaxFetches
	cfg.LocalNames = index.LocalNamesPolicy(f.UpstreamLocalNames)
	return nil
}

// withApp runs fn with the services of the data directory and database,
// assembled by app.New as serve assembles them, under the rules the flags
// set, emailing as mail says. Nothing runs in the background (no App.Start:
// no listener, no loop), and the App is closed when fn returns, once the
// mail it queued is sent. With proxiedNames and no --upstream, the index
// still knows the names proxied so far (the command line's offline proxy,
// which asks no upstream): quarantine and release act on them.
func withApp(e *env, rules *RuleFlags, mail NoticeFlags, proxiedNames bool, fn func(a *app.App) error) error {
	base := strings.TrimRight(mail.BaseURL, "/")
	cfg, err := rules.config(base)
	if err != nil {
		return err
	}
	if cfg.SecretKey, err = secretKey(e.Data, rules.SecretKey); err != nil {
		return err
	}
	mailer, err := e.mailer(mail.SMTPURL, mail.MailFrom, base)
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
	deps := app.Deps{Store: st, Blobs: blobs, Mailer: mailer, Log: e.log, Registry: prometheus.NewRegistry()}
	if proxiedNames && len(cfg.Upstreams) == 0 {
		if deps.Upstream, err = upstream.Offline(st, upstream.ProxyConfig{Log: e.log}); err != nil {
			return err
		}
	}
	a, err := app.New(e.ctx, cfg, deps)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}
