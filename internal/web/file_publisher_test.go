package web

import (
	"context"
	"encoding/json"
	"html"
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

// TestTrustedPublisherShownPerFile publishes one file through a token
// minted for a GitHub publisher and one with an owner's token, and checks
// what the JSON API, the project's pages and the security history say of
// each, also once the publisher is removed.
func TestTrustedPublisherShownPerFile(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		clk := clocktest.New(time.Now())
		issuer := oidctest.New(t, clk.Now)
		s := newTestServerWith(t, d, serverConfig{Now: clk.Now, OIDCIssuers: []oidc.Issuer{
			{Name: "ghtest", URL: issuer.URL(), Kind: oidc.GitHub},
		}})
		ctx := context.Background()
		owner := s.userWithPassword("owner", managePassword)
		ownerToken := s.token(owner)
		s.uploadDist(ownerToken, disttest.Dist{Name: "sampleproject", Version: "1.0"}, false)
		p := &index.Principal{User: owner, RecentAuth: true}
		m := audit.Meta{IP: "192.0.2.1"}
		pub, err := s.pub.AddPublisher(ctx, p, m, "sampleproject", publish.Spec{Kind: store.PublisherGitHub, Issuer: "ghtest",
			Owner: "octo-org", OwnerID: "65", Repository: "octo-repo", Workflow: "release.yml", Environment: "pypi"})
		if err != nil {
			t.Fatal(err)
		}
		const sha = "0123456789abcdef0123456789abcdef01234567"
		run := oidctest.GitHubRun{Audience: s.audience(t), Repository: "octo-org/octo-repo", OwnerID: "65",
			Workflow: "release.yml", Environment: "pypi", Ref: "refs/tags/v2.0", SHA: sha, RunID: "777"}
		resp, minted := s.exchange(t, issuer.Mint(t, oidctest.GitHubClaims(run)))
		if resp.StatusCode != http.StatusOK || !minted.Success {
			t.Fatalf("mint-token: %d %+v", resp.StatusCode, minted)
		}
		published := disttest.Dist{Name: "sampleproject", Version: "2.0"}
		s.uploadDist(minted.Token, published, false)
		const description = "GitHub octo-org/octo-repo, workflow release.yml, environment pypi at 0123456789ab"
		want := index.FilePublisher{Kind: "github", Issuer: "ghtest", Description: description,
			Repository: "octo-org/octo-repo", Workflow: "release.yml", Environment: "pypi",
			Ref: "refs/tags/v2.0", SHA: sha, RunID: "777"}

		check := func(t *testing.T, when string) {
			t.Helper()
			// The JSON API: the extension on every file object.
			for _, path := range []string{"/pypi/sampleproject/json", "/pypi/sampleproject/2.0/json"} {
				_, body := s.get(path)
				var doc struct {
					URLs     []map[string]json.RawMessage            `json:"urls"`
					Releases map[string][]map[string]json.RawMessage `json:"releases"`
				}
				if err := json.Unmarshal(body, &doc); err != nil || len(doc.URLs) != 1 {
					t.Fatalf("%s %s: %v %s", when, path, err, body)
				}
				var got index.FilePublisher
				if err := json.Unmarshal(doc.URLs[0]["trusted_publisher"], &got); err != nil || got != want {
					t.Errorf("%s %s: trusted_publisher %s, want %+v", when, path, doc.URLs[0]["trusted_publisher"], want)
				}
				if path == "/pypi/sampleproject/json" {
					if raw, ok := doc.Releases["1.0"][0]["trusted_publisher"]; !ok || string(raw) != "null" {
						t.Errorf("%s: the owner's upload has trusted_publisher %s, want null", when, raw)
					}
				}
			}
			// The pages: the published file says who, the other nothing.
			_, page := s.get("/project/sampleproject/2.0/")
			if line := "Published by " + html.EscapeString(description) + " (trusted publishing)"; !strings.Contains(string(page), line) {
				t.Errorf("%s: the release page lacks %q", when, line)
			}
			if _, page := s.get("/project/sampleproject/1.0/"); strings.Contains(string(page), "trusted publishing") {
				t.Errorf("%s: the owner's upload is shown as published by a trusted publisher", when)
			}
			// The security history names the publisher and the commit.
			b := s.browser(t)
			b.login("owner", managePassword)
			_, history := b.get("/manage/project/sampleproject/history/")
			for _, line := range []string{"File published by " + html.EscapeString(description) + " (trusted publishing): " + published.WheelFilename(),
				"File uploaded by owner: "} {
				if !strings.Contains(history, line) {
					t.Errorf("%s: the history lacks %q", when, line)
				}
			}
		}
		check(t, "published")

		// The record outlives the publisher.
		if err := s.pub.RemovePublisher(ctx, p, m, "sampleproject", pub.ID); err != nil {
			t.Fatal(err)
		}
		f, err := s.st.FileByFilename(ctx, published.WheelFilename())
		if err != nil || f.PublisherID != 0 || f.TrustedPublisher == "" {
			t.Fatalf("after removing the publisher: %+v %v, want no publisher_id and the snapshot kept", f, err)
		}
		check(t, "publisher removed")

		// What the page shows is escaped (the sdist uploaded after the
		// change renews the cached page).
		if _, err := s.st.DB().Exec(`UPDATE files SET trusted_publisher = $1 WHERE filename = $2`,
			`{"kind":"generic","issuer":"x","description":"<script>alert(1)</script>"}`, published.WheelFilename()); err != nil {
			t.Fatal(err)
		}
		s.uploadDist(ownerToken, published, true)
		_, page := s.get("/project/sampleproject/2.0/")
		if strings.Contains(string(page), "<script>alert(1)") || !strings.Contains(string(page), "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the publisher's description is not escaped on the release page")
		}
	})
}
