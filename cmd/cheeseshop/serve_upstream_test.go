package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/web"
)

// TestServeUpstreamFlags: the upstream flags' defaults and values map onto
// app.Config, --upstream-min-age takes days, and nonsense is refused.
func TestServeUpstreamFlags(t *testing.T) {
	t.Parallel()
	key := []byte(strings.Repeat("k", 32))
	c, err := parseServe(t)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.appConfig("http://localhost:8080", key, web.DefaultLimits(), false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstreams != nil || cfg.UpstreamTTL != 10*time.Minute || cfg.UpstreamNegativeTTL != time.Minute ||
		cfg.UpstreamTimeout != 10*time.Second || cfg.UpstreamMinAge != 0 || cfg.UpstreamAllowList ||
		cfg.UpstreamMaxFileSize != 4<<30 || cfg.UpstreamMaxFetches != 16 || cfg.LocalNames != index.LocalNamesAsk {
		t.Fatalf("defaults: %+v", cfg)
	}
	c, err = parseServe(t, "--upstream", "https://pypi.org/simple/", "--upstream=https://corp.example/simple/",
		"--upstream-file-host", "cdn.corp.example", "--upstream-ttl", "1m", "--upstream-negative-ttl", "5s",
		"--upstream-timeout", "3s", "--upstream-min-age", "7d", "--upstream-allow-list", "--upstream-max-file-size", "1GiB",
		"--upstream-max-fetches", "4", "--upstream-local-names", "refuse")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = c.appConfig("http://localhost:8080", key, web.DefaultLimits(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Upstreams, []string{"https://pypi.org/simple/", "https://corp.example/simple/"}) ||
		!slices.Equal(cfg.UpstreamFileHosts, []string{"cdn.corp.example"}) || cfg.UpstreamTTL != time.Minute ||
		cfg.UpstreamNegativeTTL != 5*time.Second || cfg.UpstreamTimeout != 3*time.Second ||
		cfg.UpstreamMinAge != 7*24*time.Hour || !cfg.UpstreamAllowList || cfg.UpstreamMaxFileSize != 1<<30 ||
		cfg.UpstreamMaxFetches != 4 || cfg.LocalNames != index.LocalNamesRefuse {
		t.Fatalf("set: %+v", cfg)
	}
	for _, args := range [][]string{{"--upstream-local-names", "maybe"}, {"--upstream-min-age", "7days"}} {
		if _, err := parseServe(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	for _, args := range [][]string{{"--upstream-ttl", "0s"}, {"--upstream-max-fetches", "0"}, {"--upstream-file-host", "x.example"}} {
		c, err := parseServe(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.appConfig("http://localhost:8080", key, web.DefaultLimits(), false); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
