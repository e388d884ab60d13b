package web

import (
	"context"
	"encoding/json"
	"net/http"
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

// TestTrustedPublishingGitHubRoute: POST /_/oidc/github/mint-token, the
// URL pypa/gh-action-pypi-publish posts to (PyPI keeps it as a legacy
// name of /_/oidc/mint-token), exchanges an ID token the same way and
// refuses the same way.
func TestTrustedPublishingGitHubRoute(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clk := clocktest.New(time.Now())
		issuer := oidctest.New(t, clk.Now)
		s := newTestServerWith(t, d, serverConfig{Now: clk.Now, OIDCIssuers: []oidc.Issuer{
			{Name: "ghtest", URL: issuer.URL(), Kind: oidc.GitHub},
		}})
		owner := s.userWithPassword("owner", managePassword)
		s.uploadDist(s.token(owner), disttest.Dist{Name: "sampleproject", Version: "1.0"}, false)
		p := &index.Principal{User: owner, RecentAuth: true}
		if _, err := s.pub.AddPublisher(context.Background(), p, audit.Meta{IP: "192.0.2.1"}, "sampleproject",
			publish.Spec{Kind: store.PublisherGitHub, Issuer: "ghtest", Owner: "octo-org", OwnerID: "65", Repository: "octo-repo", Workflow: "release.yml"}); err != nil {
			t.Fatal(err)
		}
		idToken := issuer.Mint(t, oidctest.GitHubClaims(oidctest.GitHubRun{Audience: s.audience(t),
			Repository: "octo-org/octo-repo", OwnerID: "65", Workflow: "release.yml"}))

		post := func(body string) (*http.Response, mintAnswer) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/_/oidc/github/mint-token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, b := s.do(req)
			var out mintAnswer
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("github/mint-token answer %d is not JSON: %v\n%s", resp.StatusCode, err, b)
			}
			return resp, out
		}
		resp, minted := post(tokenBody(idToken))
		if resp.StatusCode != http.StatusOK || !minted.Success || minted.Token == "" {
			t.Fatalf("github/mint-token: %d %+v", resp.StatusCode, minted)
		}
		s.uploadDist(minted.Token, disttest.Dist{Name: "sampleproject", Version: "2.0"}, false)
		if resp, out := post(tokenBody(idToken)); resp.StatusCode != http.StatusUnprocessableEntity || out.code() != "invalid-reuse-token" {
			t.Errorf("replayed ID token on github/mint-token: %d %+v", resp.StatusCode, out)
		}
	})
}
