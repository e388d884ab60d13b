package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestSecurityHeadersEverywhere asks every route the server registered
// (a new one is included by itself), plus a 404, a 405, a redirect and an
// upload refusal written on the raw connection, as a visitor and as a
// signed-in user: every answer carries the frame, sniffing and content
// policies, and Strict-Transport-Security since the base URL is https.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{HTTPS: true, Options: func(o *Options) { o.HSTSMaxAge = 365 * 24 * time.Hour }})
		const pw = "a long enough password"
		alice := s.userWithPassword("alice", pw)
		token := s.token(alice)
		dist := disttest.Dist{Name: "demo", Version: "1.0"}
		s.uploadDist(token, dist, false)
		_, page := s.get("/simple/demo/")
		file := fileURLPath(t, string(page), dist.WheelFilename())
		parts := strings.Split(file, "/") // "", "files", sha256, filename
		vals := map[string]string{"project": "demo", "version": "1.0", "username": "alice", "sha256": parts[2], "filename": parts[3]}
		// The cookies of an https site are Secure, and the test's client
		// speaks plain HTTP: it sends the session cookie itself.
		login, err := s.acct.Login(t.Context(), "alice", pw, meta0())
		storetest.Must(t, err)
		session := login.Cookie

		type probe struct{ method, path string }
		var probes []probe
		for _, p := range s.srv.patterns {
			method, path, _ := strings.Cut(p, " ")
			if path == "/static/" {
				path = "/static/style.css"
			}
			probes = append(probes, probe{method, routePath(path, vals)})
		}
		probes = append(probes, probe{"GET", "/no-such-page"}, probe{"DELETE", "/simple/"}, probe{"GET", "/simple"},
			probe{"GET", "/simple/Demo/"}, probe{"POST", "/legacy/"}, probe{"HEAD", "/simple/demo/"}, probe{"GET", file})
		const hsts = "max-age=31536000; includeSubDomains"
		for _, signedIn := range []bool{false, true} {
			for _, p := range probes {
				if signedIn && p.method != "GET" {
					continue
				}
				req, _ := http.NewRequest(p.method, s.URL+p.path, nil)
				if signedIn {
					req.AddCookie(&http.Cookie{Name: "__Host-session", Value: session})
				}
				a := answerOf(t, s.client, req)
				h := a.Header
				who := "visitor"
				if signedIn {
					who = "alice"
				}
				if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
					!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
					h.Get("Strict-Transport-Security") != hsts || h.Get("Referrer-Policy") == "" {
					t.Errorf("%s: %s %s (%d, %s): headers lack a security header: %v", who, p.method, p.path, a.Status, h.Get("Content-Type"), h)
				}
			}
		}
		if t.Failed() {
			return
		}
		// Without https, no Strict-Transport-Security.
		plain := newTestServerWith(t, d, serverConfig{Options: func(o *Options) { o.HSTSMaxAge = 365 * 24 * time.Hour }})
		if resp, _ := plain.get("/simple/"); resp.Header.Get("Strict-Transport-Security") != "" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("plain HTTP: %v", resp.Header)
		}
	})
}
