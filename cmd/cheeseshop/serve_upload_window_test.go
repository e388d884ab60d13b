package main

import (
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/web"
)

// TestServeReleaseUploadWindow: --release-upload-window defaults to PyPI's
// 14 days, 0 turns it off, and it reaches app.Config.
func TestServeReleaseUploadWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want time.Duration
		bad  bool
	}{
		{nil, 14 * 24 * time.Hour, false},
		{[]string{"--release-upload-window", "0"}, 0, false},
		{[]string{"--release-upload-window", "36h"}, 36 * time.Hour, false},
		{[]string{"--release-upload-window=-1h"}, 0, true},
	} {
		c, err := parseServe(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if tc.bad {
			if err == nil {
				t.Errorf("%v accepted", tc.args)
			}
			continue
		}
		if err != nil || cfg.ReleaseUploadWindow != tc.want {
			t.Errorf("%v: window %s, %v; want %s", tc.args, cfg.ReleaseUploadWindow, err, tc.want)
		}
	}
}
