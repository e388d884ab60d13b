package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/recovery"
	"cheeseshop/internal/web"
)

// The test servers of package web run the wiring of cmd/cheeseshop serve,
// with what tests vary: cheap password hashes, the clock, the mailer, the
// limits, a test secret key, and the default waiting period of recovery.
func init() {
	web.NewTestApp = func(t testing.TB, in web.TestAppInput) *web.TestApp {
		t.Helper()
		cfg := app.Config{BaseURL: in.BaseURL, SecretKey: []byte(strings.Repeat("test secret key ", 4)), Require2FA: in.Require2FA,
			MaxFileSize: in.MaxFileSize, Mandate: mandate.Config{Grace: in.MandateGrace}, RecoveryWait: recovery.DefaultWait,
			Password: auth.MinParams, Limits: in.Limits, WebOptions: in.Options, NameCheck: in.NameCheck, LookalikePolicy: in.LookalikePolicy,
			OIDCIssuers: in.OIDCIssuers, NoTrustedPublishing: in.NoTrustedPublishing, StorageRedirect: in.StorageRedirect,
			ReadAccess: in.ReadAccess, RegistrationClosed: in.RegistrationClosed, Upstreams: in.Upstreams,
			UpstreamStreamAbove: in.UpstreamStreamAbove}
		// The DNS check of new addresses: off unless a test gives a resolver.
		cfg.EmailCheckDNS = in.EmailResolver != nil
		cfg.NoPasskeys = in.NoPasskeys
		cfg.NoNewDeviceConfirmation = in.NoNewDeviceConfirmation
		a, err := app.New(context.Background(), cfg, app.Deps{Store: in.Store, Blobs: in.Blobs, Mailer: in.Mailer, Log: in.Log,
			Registry: prometheus.NewRegistry(), Now: in.Now, Upstream: in.Upstream, EmailResolver: in.EmailResolver})
		if err != nil {
			t.Fatal(err)
		}
		return &web.TestApp{Server: a.Server, HTTP: a.HTTP, Index: a.Index, Account: a.Account, TwoFactor: a.TwoFactor,
			Mandate: a.Mandate, Recovery: a.Recovery, Hasher: a.Hasher, Publish: a.Publish, Close: a.Close}
	}
}
