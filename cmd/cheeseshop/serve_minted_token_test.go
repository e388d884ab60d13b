package main

import (
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/web"
)

// TestServeMintedTokenLifetime: --minted-token-lifetime defaults to
// PyPI's 15 minutes, may be shorter (down to 1s) but never longer, and
// reaches app.Config.
func TestServeMintedTokenLifetime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want time.Duration
		bad  bool
	}{
		{nil, 15 * time.Minute, false},
		{[]string{"--minted-token-lifetime", "5m"}, 5 * time.Minute, false},
		{[]string{"--minted-token-lifetime", "1s"}, time.Second, false},
		{[]string{"--minted-token-lifetime", "15m"}, 15 * time.Minute, false},
		{[]string{"--minted-token-lifetime", "16m"}, 0, true},
		{[]string{"--minted-token-lifetime", "0"}, 0, true},
		{[]string{"--minted-token-lifetime", "500ms"}, 0, true},
		{[]string{"--minted-token-lifetime=-1m"}, 0, true},
	} {
		c, err := parseServe(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if tc.bad {
			if err == nil {
				t.Errorf("%v accepted", tc.args)
			} else if !strings.Contains(err.Error(), "--minted-token-lifetime") {
				t.Errorf("%v: %v, want an error naming the flag", tc.args, err)
			}
			continue
		}
		if err != nil || cfg.MintedTokenLifetime != tc.want {
			t.Errorf("%v: lifetime %s, %v; want %s", tc.args, cfg.MintedTokenLifetime, err, tc.want)
		}
	}
}
