package app_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestNew: New takes the hashing cost it is given (production's by
// default), refuses one out of bounds and missing dependencies, and
// serves /metrics apart only when asked.
func TestNew(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	blobs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	deps := func() app.Deps {
		return app.Deps{Store: st, Blobs: blobs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()}
	}
	key := []byte(strings.Repeat("k", 32))
	const base = "http://localhost:8080"
	tests := []struct {
		name    string
		cfg     app.Config
		deps    app.Deps
		want    auth.Params
		wantErr string
		metrics bool
	}{
		{name: "production cost by default", cfg: app.Config{BaseURL: base, SecretKey: key}, deps: deps(), want: auth.DefaultParams},
		{name: "cheap cost for tests", cfg: app.Config{BaseURL: base, SecretKey: key, Password: auth.MinParams, MetricsElsewhere: true}, deps: deps(),
			want: auth.MinParams, metrics: true},
		{name: "cost out of bounds", cfg: app.Config{SecretKey: key, Password: auth.Params{Memory: 1 << 22, Time: 1, Threads: 1}},
			deps: deps(), wantErr: "password hashes"},
		{name: "no audience for trusted publishing", cfg: app.Config{SecretKey: key}, deps: deps(), wantErr: "oidc audience"},
		{name: "audience of PyPI", cfg: app.Config{BaseURL: base, SecretKey: key, OIDCAudience: "pypi"}, deps: deps(), wantErr: "pypi"},
		{name: "no store", cfg: app.Config{SecretKey: key}, deps: app.Deps{Blobs: blobs}, wantErr: "a store"},
	}
	for _, tt := range tests {
		a, err := app.New(t.Context(), tt.cfg, tt.deps)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := a.Hasher.Params(); got != tt.want {
			t.Errorf("%s: hasher %v, want %v", tt.name, got, tt.want)
		}
		if (a.Metrics != nil) != tt.metrics {
			t.Errorf("%s: a metrics server %v, want %v", tt.name, a.Metrics != nil, tt.metrics)
		}
		a.Close()
		a.Close() // a second call does nothing
	}
}
