package app_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/app"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestNewUpstream: New builds the proxy of --upstream, logs each upstream
// without its credentials and warns of a minimum age, and refuses a bad
// upstream URL.
func TestNewUpstream(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	blobs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	var logs bytes.Buffer
	deps := app.Deps{Store: st, Blobs: blobs, Log: slog.New(slog.NewTextHandler(&logs, nil)), Registry: prometheus.NewRegistry()}
	cfg := app.Config{BaseURL: "http://localhost:8080", SecretKey: []byte(strings.Repeat("k", 32)), Password: auth.MinParams,
		Upstreams: []string{"https://user:s3cret@corp.example/simple/", "https://pypi.org/simple/"}, UpstreamMinAge: 7 * 24 * time.Hour}
	a, err := app.New(t.Context(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	out := logs.String()
	for _, want := range []string{"upstream=https://corp.example/simple/", "credentials=true", "upstream=https://pypi.org/simple/",
		"file_hosts=[files.pythonhosted.org]", "minimum release age"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("log shows the upstream's password:\n%s", out)
	}
	cfg.Upstreams = []string{"ftp://corp.example/simple/"}
	deps.Registry = prometheus.NewRegistry()
	if _, err := app.New(t.Context(), cfg, deps); err == nil || !strings.Contains(err.Error(), "upstream") {
		t.Fatalf("ftp upstream: %v", err)
	}
}
