package web

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// helpLinkREs find the anchors of the help page that code and templates
// link to: literal "/help/#anchor" links, index.Service.helpURL("anchor"),
// and the page's own href="#anchor" links.
var helpLinkREs = []*regexp.Regexp{
	regexp.MustCompile(`/help/#([A-Za-z0-9_-]+)`),
	regexp.MustCompile(`helpURL\("([A-Za-z0-9_-]+)"\)`),
}

var (
	idRE         = regexp.MustCompile(`\sid="([^"]+)"`)
	pageAnchorRE = regexp.MustCompile(`href="#([A-Za-z0-9_-]+)"`)
)

// helpAnchors walks the non-test Go files and templates of the module's
// cmd and internal folders and returns every help anchor they link to,
// each with the first file that links to it.
func helpAnchors(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, "_test.go") || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".txt")) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, re := range helpLinkREs {
				for _, m := range re.FindAllSubmatch(b, -1) {
					if _, ok := out[string(m[1])]; !ok {
						out[string(m[1])] = p
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestHelpAnchors checks that every /help/#anchor the code, its error
// messages and its templates link to, and every link of the help page
// to itself, leads to an element of the page with that id.
func TestHelpAnchors(t *testing.T) {
	t.Parallel()
	linked := helpAnchors(t)
	// The collection must see the links it exists for.
	for _, want := range []string{"invalid-auth", "apitoken", "project-name", "file-name-reuse", "file-size-limit", "project-size-limit"} {
		if _, ok := linked[want]; !ok {
			t.Fatalf("the scan of the sources found no link to /help/#%s: %v", want, linked)
		}
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		resp, body := s.get("/help/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /help/: %d\n%s", resp.StatusCode, body)
		}
		var ids []string
		for _, m := range idRE.FindAllSubmatch(body, -1) {
			id := string(m[1])
			if slices.Contains(ids, id) {
				t.Errorf("id %q appears twice on the help page", id)
			}
			ids = append(ids, id)
		}
		for anchor, from := range linked {
			if !slices.Contains(ids, anchor) {
				t.Errorf("%s links to /help/#%s, which the help page lacks", from, anchor)
			}
		}
		for _, m := range pageAnchorRE.FindAllSubmatch(body, -1) {
			if !slices.Contains(ids, string(m[1])) {
				t.Errorf("the help page links to #%s, which it lacks", m[1])
			}
		}
	})
}

// TestHelpContent checks that the help page tells this server's settings
// and today's features: self-service account recovery rather than "contact
// the administrators", the mandate, the giveaway and the token permission;
// and that it says less when a feature is off.
func TestHelpContent(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{Require2FA: true, MaxFileSize: 3 << 20})
		_, b := s.get("/help/")
		body := strings.Join(strings.Fields(string(b)), " ")
		for _, want := range []string{
			"at most 3 MiB",  // --max-file-size
			"at most 10 GiB", // the default --max-project-size
			s.srv.idx.Config().BaseURL + "/legacy/",
			`href="/account/recovery/"`, "waiting period of 7 days",
			"this index requires it now",
			`id="critical-projects"`, "Reads and downloads are never affected",
			`href="/manage/account/security-keys-giveaway/"`,
			"management permission", "uploads, nothing more",
			`id="sdist-file-names"`, "setuptools 69.3 or later", "This index refuses such a file", "--legacy-sdist-names",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the help page lacks %q", want)
			}
		}
		if strings.Contains(body, "contact the administrators of this index") {
			t.Error("the help page sends users who lost every factor to the administrators, though account recovery runs")
		}

		off := newTestServerWith(t, d, serverConfig{Options: func(o *Options) { o.Recovery, o.Promo, o.Mandate = nil, nil, nil }})
		_, b = off.get("/help/")
		body = strings.Join(strings.Fields(string(b)), " ")
		if !strings.Contains(body, "contact the administrators of this index") {
			t.Error("without account recovery, the help page does not say whom to ask")
		}
		for _, absent := range []string{"/account/recovery/", `id="critical-projects"`, "security-keys-giveaway", "this index requires it"} {
			if strings.Contains(body, absent) {
				t.Errorf("the help page of a server without the feature says %q", absent)
			}
		}
	})
}
