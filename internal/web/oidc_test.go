package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/oidc"
	"cheeseshop/internal/oidctest"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mintAnswer is the body of a mint-token answer, success or refusal.
type mintAnswer struct {
	Success bool   `json:"success"`
	Token   string `json:"token"`
	Expires int64  `json:"expires"`
	Message string `json:"message"`
	Errors  []struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"errors"`
}

// code is the first error's code ("" on success).
func (m mintAnswer) code() string {
	if len(m.Errors) == 0 {
		return ""
	}
	return m.Errors[0].Code
}

// mintToken posts body to /_/oidc/mint-token as the publish action does.
func (s *testServer) mintToken(t *testing.T, body string) (*http.Response, mintAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/_/oidc/mint-token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, b := s.do(req)
	var out mintAnswer
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("mint-token answer %d is not JSON: %v\n%s", resp.StatusCode, err, b)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("mint-token Cache-Control %q, want no-store", cc)
	}
	return resp, out
}

// exchange posts the ID token to mint-token.
func (s *testServer) exchange(t *testing.T, idToken string) (*http.Response, mintAnswer) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"token": idToken})
	return s.mintToken(t, string(b))
}

// audience asks the server for its audience, as the publish action does.
func (s *testServer) audience(t *testing.T) string {
	t.Helper()
	resp, body := s.get("/_/oidc/audience")
	var out struct{ Audience string }
	if err := json.Unmarshal(body, &out); resp.StatusCode != http.StatusOK || err != nil || out.Audience == "" {
		t.Fatalf("GET /_/oidc/audience: %d %s", resp.StatusCode, body)
	}
	return out.Audience
}

// TestTrustedPublishingMintToken runs the publish action's exact sequence
// against a real OIDC issuer served over HTTP (configured as an operator's
// GitHub-kind issuer): the audience, an ID token for it, mint-token, and
// an upload with __token__ and the minted token. Then every refusal: the
// same ID token again, the minted token after 15 minutes, on another
// project and on the management API, a wrong audience, an unknown
// issuer, garbage, a wrong repository, an issuer that is down; and a
// pending publisher creating its project on the first publish.
func TestTrustedPublishingMintToken(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clk := clocktest.New(time.Now())
		issuer := oidctest.New(t, clk.Now)
		down := oidctest.New(t, clk.Now)
		down.SetDown(true)
		stranger := oidctest.New(t, clk.Now)
		s := newTestServerWith(t, d, serverConfig{Now: clk.Now, OIDCIssuers: []oidc.Issuer{
			{Name: "ghtest", URL: issuer.URL(), Kind: oidc.GitHub},
			{Name: "ghdown", URL: down.URL(), Kind: oidc.GitHub},
		}})
		ctx := context.Background()
		owner := s.userWithPassword("owner", managePassword)
		ownerToken := s.token(owner)
		s.uploadDist(ownerToken, disttest.Dist{Name: "sampleproject", Version: "1.0"}, false)
		s.uploadDist(ownerToken, disttest.Dist{Name: "otherproject", Version: "1.0"}, false)
		p := &index.Principal{User: owner, RecentAuth: true}
		m := audit.Meta{IP: "192.0.2.1"}
		spec := publish.Spec{Kind: store.PublisherGitHub, Issuer: "ghtest", Owner: "octo-org", OwnerID: "65",
			Repository: "octo-repo", Workflow: "release.yml"}
		if _, err := s.pub.AddPublisher(ctx, p, m, "sampleproject", spec); err != nil {
			t.Fatal(err)
		}

		// The publish action's sequence.
		aud := s.audience(t)
		if want := strings.TrimPrefix(s.URL, "http://"); aud != want {
			t.Fatalf("audience %q, want the base URL's host %q", aud, want)
		}
		run := oidctest.GitHubRun{Audience: aud, Repository: "octo-org/octo-repo", OwnerID: "65", Workflow: "release.yml"}
		idToken := issuer.Mint(t, oidctest.GitHubClaims(run))
		resp, minted := s.exchange(t, idToken)
		if resp.StatusCode != http.StatusOK || !minted.Success || minted.Token == "" {
			t.Fatalf("mint-token: %d %+v", resp.StatusCode, minted)
		}
		if want := clk.Now().Add(publish.DefaultTokenLifetime).Unix(); minted.Expires != want {
			t.Errorf("expires %d, want %d (15 minutes)", minted.Expires, want)
		}
		s.uploadDist(minted.Token, disttest.Dist{Name: "sampleproject", Version: "2.0"}, false)

		// The same ID token again: used up.
		if resp, out := s.exchange(t, idToken); resp.StatusCode != http.StatusUnprocessableEntity ||
			out.Message != "Token request failed" || out.code() != "invalid-reuse-token" {
			t.Errorf("replayed ID token: %d %+v", resp.StatusCode, out)
		}

		// The minted token uploads to its project only, and manages nothing.
		other := disttest.Dist{Name: "otherproject", Version: "2.0"}
		resp, body := s.do(s.uploadRequest(minted.Token, other.Form("bdist_wheel", other.Wheel()), other.WheelFilename(), other.Wheel()))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("minted token on another project: %d %s", resp.StatusCode, body)
		}
		fresh := disttest.Dist{Name: "brandnewproject", Version: "1.0"}
		resp, body = s.do(s.uploadRequest(minted.Token, fresh.Form("bdist_wheel", fresh.Wheel()), fresh.WheelFilename(), fresh.Wheel()))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("minted token creating a project: %d %s", resp.StatusCode, body)
		}
		for _, r := range []struct{ method, path string }{{"GET", "/api/projects/sampleproject/"}, {"GET", "/api/tokens"},
			{"POST", "/api/projects/sampleproject/releases/1.0/yank"}} {
			if resp, body := s.apiRequest(t, minted.Token, r.method, r.path, map[string]string{"reason": "x"}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("minted token on %s %s: %d %s", r.method, r.path, resp.StatusCode, body)
			}
		}

		// Refusals, each with PyPI's code and 422.
		for _, tc := range []struct {
			name, body, code string
		}{
			{"wrong audience", tokenBody(issuer.Mint(t, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: "pypi",
				Repository: "octo-org/octo-repo", OwnerID: "65"}))), "invalid-token"},
			{"unknown issuer", tokenBody(stranger.Mint(t, oidctest.GitHubClaims(run))), "invalid-payload"},
			{"garbage JWT", tokenBody("not.a.jwt"), "invalid-payload"},
			{"not JSON", `{"token": `, "invalid-payload"},
			{"no token", `{"jwt": "x"}`, "invalid-payload"},
			{"token not a string", `{"token": 42}`, "invalid-payload"},
			{"wrong repository", tokenBody(issuer.Mint(t, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: aud,
				Repository: "octo-org/evil-repo", OwnerID: "65"}))), "invalid-publisher"},
			{"wrong owner id", tokenBody(issuer.Mint(t, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: aud,
				Repository: "octo-org/octo-repo", OwnerID: "666"}))), "invalid-publisher"},
			{"body too large", tokenBody(strings.Repeat("x", maxMintTokenBody)), "invalid-payload"},
		} {
			resp, out := s.mintToken(t, tc.body)
			if resp.StatusCode != http.StatusUnprocessableEntity || out.Message != "Token request failed" || out.code() != tc.code ||
				out.Errors[0].Description == "" || out.Token != "" {
				t.Errorf("%s: %d %+v, want 422 %s", tc.name, resp.StatusCode, out, tc.code)
			}
		}

		// An issuer that cannot be reached: 503 with Retry-After.
		resp, out := s.exchange(t, down.Mint(t, oidctest.GitHubClaims(run)))
		if resp.StatusCode != http.StatusServiceUnavailable || out.code() != string(oidc.IssuerUnavailable) {
			t.Errorf("issuer down: %d %+v", resp.StatusCode, out)
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra <= 0 {
			t.Errorf("issuer down: Retry-After %q", resp.Header.Get("Retry-After"))
		}

		// A session cookie gives no power: the request is judged by its
		// ID token alone.
		b := s.browser(t)
		b.login("owner", managePassword)
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/_/oidc/mint-token", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		resp, text := b.do(req)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(text, `"invalid-payload"`) || strings.Contains(text, `"success"`) {
			t.Errorf("signed-in owner without an ID token: %d %s", resp.StatusCode, text)
		}

		// A pending publisher creates its project on the first publish,
		// owned by the account that added it.
		pending := spec
		pending.Repository = "newproj-repo"
		if _, err := s.pub.AddPending(ctx, p, m, "newproj", pending); err != nil {
			t.Fatal(err)
		}
		newRun := run
		newRun.Repository = "octo-org/newproj-repo"
		resp, newMinted := s.exchange(t, issuer.Mint(t, oidctest.GitHubClaims(newRun)))
		if resp.StatusCode != http.StatusOK || !newMinted.Success {
			t.Fatalf("pending publisher: %d %+v", resp.StatusCode, newMinted)
		}
		proj, err := s.st.ProjectByName(ctx, "newproj")
		storetest.Must(t, err)
		if role, err := s.st.RoleOf(ctx, proj.ID, owner.ID); err != nil || role != store.RoleOwner {
			t.Errorf("the new project's owner: %q, %v", role, err)
		}
		s.uploadDist(newMinted.Token, disttest.Dist{Name: "newproj", Version: "0.1"}, false)

		// After 15 minutes the minted token is refused. The index checks
		// tokens on the wall clock: mint one 16 minutes in the past.
		clk.Set(time.Now().Add(-publish.DefaultTokenLifetime - time.Minute))
		resp, old := s.exchange(t, issuer.Mint(t, oidctest.GitHubClaims(run)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("mint-token: %d %+v", resp.StatusCode, old)
		}
		late := disttest.Dist{Name: "sampleproject", Version: "3.0"}
		resp, body = s.do(s.uploadRequest(old.Token, late.Form("bdist_wheel", late.Wheel()), late.WheelFilename(), late.Wheel()))
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("expired")) {
			t.Errorf("minted token after 15 minutes: %d %s", resp.StatusCode, body)
		}
	})
}

// tokenBody is the mint-token request for an ID token.
func tokenBody(idToken string) string {
	b, _ := json.Marshal(map[string]string{"token": idToken})
	return string(b)
}

// TestTrustedPublishingDisabled: with --no-trusted-publishing, the
// audience is PyPI's 403 and mint-token PyPI's not-enabled refusal.
func TestTrustedPublishingDisabled(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{NoTrustedPublishing: true})
		resp, body := s.get("/_/oidc/audience")
		var out struct{ Message string }
		if err := json.Unmarshal(body, &out); resp.StatusCode != http.StatusForbidden || err != nil ||
			out.Message != "Trusted publishing functionality not enabled" {
			t.Errorf("audience when disabled: %d %s", resp.StatusCode, body)
		}
		resp, minted := s.mintToken(t, tokenBody("x.y.z"))
		if resp.StatusCode != http.StatusUnprocessableEntity || minted.code() != string(oidc.NotEnabled) {
			t.Errorf("mint-token when disabled: %d %+v", resp.StatusCode, minted)
		}
	})
}

// TestTrustedPublishingRateLimit: refused token requests from one address
// are counted before any verification; past MintTokenLimit, 429 with
// Retry-After in PyPI's error shape.
func TestTrustedPublishingRateLimit(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		for i := range MintTokenLimit.Max {
			if resp, out := s.mintToken(t, tokenBody("garbage")); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("request %d: %d %+v", i, resp.StatusCode, out)
			}
		}
		resp, out := s.mintToken(t, tokenBody("garbage"))
		if resp.StatusCode != http.StatusTooManyRequests || out.code() != "rate-limited" || resp.Header.Get("Retry-After") == "" {
			t.Errorf("over the limit: %d %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), out)
		}
	})
}
