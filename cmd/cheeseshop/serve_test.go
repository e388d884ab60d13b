package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/account"
	"cheeseshop/internal/app"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/web"
)

// parseServe parses a serve command line without running it.
func parseServe(t *testing.T, args ...string) (*ServeCmd, error) {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, kong.Name("cheeseshop"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = parser.Parse(append([]string{"serve"}, args...))
	return &cli.Serve, err
}

// TestTransportDefaults: the flags' defaults are web.DefaultLimits, which
// the tests of internal/web run against, and nonsense is refused.
func TestTransportDefaults(t *testing.T) {
	c, err := parseServe(t)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.limits()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l, web.DefaultLimits()) {
		t.Errorf("serve's defaults %+v, web.DefaultLimits %+v", l, web.DefaultLimits())
	}
	if c.MaxUploadsPerIP != 8 || c.HSTSMaxAge.Hours() != 365*24 || c.MetricsToken != "" || c.MetricsAddr != "" {
		t.Errorf("defaults: %+v", c.TransportFlags)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--idle-timeout", "0s"}, "idle timeout must be positive"},
		{[]string{"--read-header-timeout=-1s"}, "header timeout must be positive"},
		{[]string{"--body-timeout", "0s"}, "body timeout must be positive"},
		{[]string{"--send-timeout", "0s"}, "send timeout must be positive"},
		{[]string{"--max-conns-per-ip=-1"}, "must not be negative"},
		{[]string{"--max-uploads-per-ip=-1"}, "--max-uploads-per-ip must not be negative"},
		{[]string{"--metrics-token", "short"}, "at least 16 characters"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,proxy.internal"}, `--trusted-proxies: trusted proxy "proxy.internal" is neither`},
	} {
		c, err := parseServe(t, tc.args...)
		if err == nil {
			_, err = c.limits()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	// 0 turns the caps and the body minimum off.
	c, err = parseServe(t, "--max-conns-per-ip", "0", "--max-uploads-per-ip", "0", "--body-min-bytes", "0", "--send-min-bytes", "0", "--hsts-max-age", "0s")
	if err == nil {
		_, err = c.limits()
	}
	if err != nil {
		t.Errorf("turning the limits off: %v", err)
	}
	c, err = parseServe(t, "--trusted-proxies", "10.0.0.0/8, 192.0.2.7,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	if l, err = c.limits(); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(l.TrustedProxies); got != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]" {
		t.Errorf("--trusted-proxies: %s", got)
	}
}

// TestServeHashesAtProductionCost: the app that serve builds from its
// default flags hashes passwords with auth.DefaultParams (the tests build
// theirs with cheap parameters, through the same app.New).
func TestServeHashesAtProductionCost(t *testing.T) {
	t.Parallel()
	c, err := parseServe(t)
	if err != nil {
		t.Fatal(err)
	}
	limits, err := c.limits()
	if err != nil {
		t.Fatal(err)
	}
	const base = "http://localhost:8080"
	cfg, err := c.appConfig(base, []byte(strings.Repeat("k", 32)), limits, false)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.EmailCheckDNS {
		t.Error("serve does not check the DNS of new addresses' domains by default")
	}
	cfg.EmailCheckDNS = false // the test's DNS is not the Internet's (example.org publishes a null MX)
	st := storetest.Open(t, store.SQLite)
	blobs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(t.Context(), cfg, app.Deps{Store: st, Blobs: blobs, Log: log, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.OIDC.Audience(); got != "localhost:8080" {
		t.Errorf("serve's OIDC audience %q, want the host of the base URL", got)
	}
	if got := a.Hasher.Params(); got != auth.DefaultParams {
		t.Fatalf("serve's hasher: %v, want auth.DefaultParams %v", got, auth.DefaultParams)
	}
	reg := account.Registration{Username: "alice", Email: "alice@example.org", Password: "a long enough password",
		PasswordConfirm: "a long enough password"}
	if err := a.Account.Register(t.Context(), reg, audit.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Account.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	u, err := st.UserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	const want = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(u.PasswordHash, want) {
		t.Fatalf("a password hashed by serve's app: %q, want the prefix %q", u.PasswordHash, want)
	}
}

// TestServeLookalikePolicy: --lookalike-policy is hold by default, maps
// onto app.Config, and refuses other values.
func TestServeLookalikePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want index.LookalikePolicy
	}{{nil, index.LookalikeHold}, {[]string{"--lookalike-policy", "flag"}, index.LookalikeFlag},
		{[]string{"--lookalike-policy=off"}, index.LookalikeOff}} {
		c, err := parseServe(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if err != nil || cfg.LookalikePolicy != tc.want {
			t.Errorf("%v: policy %q, %v; want %q", tc.args, cfg.LookalikePolicy, err, tc.want)
		}
	}
	if _, err := parseServe(t, "--lookalike-policy", "maybe"); err == nil {
		t.Error("--lookalike-policy maybe accepted")
	}
}

// TestServeTrustedPublishing: trusted publishing is on by default with the
// base URL's host as audience; --oidc-issuer (repeatable, or comma-separated
// in CHEESESHOP_OIDC_ISSUER), --oidc-audience and --no-trusted-publishing
// map onto app.Config, and a malformed issuer is refused.
func TestServeTrustedPublishing(t *testing.T) {
	gitlab := oidc.Issuer{Name: "corp", URL: "https://gitlab.corp.example", Kind: oidc.GitLab}
	forgejo := oidc.Issuer{Name: "forgejo", URL: "https://code.example", Kind: oidc.Generic}
	for _, tc := range []struct {
		args      []string
		env       string
		off       bool
		audience  string
		issuers   []oidc.Issuer
		providers []string
	}{
		{args: nil},
		{args: []string{"--no-trusted-publishing"}, off: true},
		{args: []string{"--oidc-providers", "gitlab,github"}, providers: []string{"gitlab", "github"}},
		{args: []string{"--oidc-providers", "none"}, providers: []string{}},
		{args: []string{"--oidc-audience", "index.example", "--oidc-issuer", "gitlab:corp=https://gitlab.corp.example",
			"--oidc-issuer", "forgejo=https://code.example"}, audience: "index.example", issuers: []oidc.Issuer{gitlab, forgejo}},
		{env: "gitlab:corp=https://gitlab.corp.example,forgejo=https://code.example", issuers: []oidc.Issuer{gitlab, forgejo}},
	} {
		t.Setenv("CHEESESHOP_OIDC_ISSUER", tc.env)
		var cli CLI
		parser, err := kong.New(&cli, kong.Name("cheeseshop"), kong.DefaultEnvars("CHEESESHOP"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(append([]string{"serve"}, tc.args...)); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg, err := cli.Serve.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if tc.providers == nil {
			tc.providers = []string{"github", "gitlab", "google"}
		}
		if cfg.NoTrustedPublishing != tc.off || cfg.OIDCAudience != tc.audience || !reflect.DeepEqual(cfg.OIDCIssuers, tc.issuers) ||
			!reflect.DeepEqual(cfg.OIDCProviders, tc.providers) {
			t.Errorf("%v %q: off %v, audience %q, issuers %+v, providers %q", tc.args, tc.env, cfg.NoTrustedPublishing, cfg.OIDCAudience,
				cfg.OIDCIssuers, cfg.OIDCProviders)
		}
	}
	t.Setenv("CHEESESHOP_OIDC_ISSUER", "")
	if c, err := parseServe(t, "--oidc-providers", "github,svn"); err != nil {
		t.Fatal(err)
	} else if _, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false); err == nil ||
		!strings.Contains(err.Error(), "--oidc-providers") || !strings.Contains(err.Error(), `"svn"`) {
		t.Errorf("--oidc-providers github,svn: %v, want a refusal naming the flag and svn", err)
	}
	for _, bad := range []string{"nourl", "svn:x=https://x.example", "Corp=https://x.example", "corp=http://x.example"} {
		c, err := parseServe(t, "--oidc-issuer", bad)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false); err == nil ||
			!strings.Contains(err.Error(), "--oidc-issuer") {
			t.Errorf("--oidc-issuer %q: %v", bad, err)
		}
	}
}

// TestServePasskeys: passkeys are on by default; --no-passkeys (or
// CHEESESHOP_PASSKEYS=false) turns them off in app.Config.
func TestServePasskeys(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		off  bool
	}{{nil, "", false}, {[]string{"--no-passkeys"}, "", true}, {[]string{"--passkeys"}, "", false}, {nil, "false", true}} {
		t.Setenv("CHEESESHOP_PASSKEYS", tc.env) // restored after the test
		if tc.env == "" {
			os.Unsetenv("CHEESESHOP_PASSKEYS")
		}
		var cli CLI
		parser, err := kong.New(&cli, kong.Name("cheeseshop"), kong.DefaultEnvars("CHEESESHOP"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(append([]string{"serve"}, tc.args...)); err != nil {
			t.Fatalf("%v %q: %v", tc.args, tc.env, err)
		}
		cfg, err := cli.Serve.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if err != nil || cfg.NoPasskeys != tc.off {
			t.Errorf("%v %q: NoPasskeys %v, %v; want %v", tc.args, tc.env, cfg.NoPasskeys, err, tc.off)
		}
	}
}
