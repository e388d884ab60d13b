package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// principal resolves a token, as the upload endpoint does.
func (s *testServer) principal(token string) *index.Principal {
	s.t.Helper()
	p, err := s.idx.AuthenticateToken(context.Background(), token, audit.Meta{})
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// wheelAs builds d's wheel and its upload request under filename.
func (s *testServer) wheelAs(token string, d disttest.Dist, filename string) *http.Request {
	w := d.Wheel()
	return s.uploadRequest(token, d.Form("bdist_wheel", w), filename, w)
}

// TestBurnedFilenameSpellings (issue 12, class 7): once a file is deleted,
// no spelling of its name (case, version spelling, build tag, repeated or
// reordered tags) publishes different content for the same release and
// tags. Before, each of these was accepted.
func TestBurnedFilenameSpellings(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		alice, tok := s.user("alice")
		manage := s.manageToken(alice)
		ctx := context.Background()
		orig := disttest.Dist{Name: "demo", Version: "1.0", Summary: "the original"}
		s.uploadDist(tok, orig, false)
		post := disttest.Dist{Name: "demo", Version: "2.0.post1", Summary: "the original"}
		s.uploadDist(tok, post, false)
		kelvin := disttest.Dist{Name: "kdemo", Version: "1.0", Summary: "the original"}
		s.uploadDist(tok, kelvin, false)
		for _, fn := range []string{orig.WheelFilename(), post.WheelFilename(), kelvin.WheelFilename()} {
			if err := s.idx.DeleteFile(ctx, s.principal(manage), fn); err != nil {
				t.Fatal(err)
			}
		}
		const burned = "400 This filename has already been used, as '"
		// Each variant is a genuine wheel whose .dist-info and METADATA
		// spell the version as its filename does.
		for _, c := range []struct {
			version, filename, want string
		}{
			{"1.0", "demo-1.0-py3-none-any.whl", "400 This filename was previously used by a file that has since been deleted."},
			{"1.0", "Demo-1.0-py3-none-any.whl", burned + "demo-1.0-py3-none-any.whl'"},
			{"1.0", "DEMO-1.0-py3-none-any.whl", burned},
			{"1.0.0", "demo-1.0.0-py3-none-any.whl", burned},
			{"1.00", "demo-1.00-py3-none-any.whl", burned},
			{"v1.0", "demo-v1.0-py3-none-any.whl", burned},
			{"1.0", "demo-1.0-1-py3-none-any.whl", burned},
			{"1.0", "demo-1.0-0build-py3-none-any.whl", burned},
			{"1.0", "demo-1.0-py3.py3-none-any.whl", burned},
			{"1.0", "demo-1.0-PY3-none-any.whl", burned},
			{"1.0", "demo-1.0-py3-none.none-any.whl", burned},
			{"2.0_post1", "demo-2.0_post1-py3-none-any.whl", burned + "demo-2.0.post1-py3-none-any.whl'"},
			{"2.0post1", "demo-2.0post1-py3-none-any.whl", burned},
			{"2.0.0.post01", "demo-2.0.0.post01-py3-none-any.whl", burned},
			{"2.0-r1", "demo-2.0-r1-py3-none-any.whl", "400 Invalid wheel filename (invalid build number"}, // "2.0-r1" splits as a build tag
			// The Kelvin sign folds to 'k' in Python's and Go's case
			// mappings: no filename may carry it, nor any non-ASCII.
			{"1.0", "\u212ademo-1.0-py3-none-any.whl", "400 Cannot upload a file with non-ASCII characters in the name"},
		} {
			name := "demo"
			if strings.Contains(c.filename, "\u212a") {
				name = "kdemo"
			}
			dist := disttest.Dist{Name: name, Version: c.version, Summary: "other content for " + c.filename}
			resp, _ := s.do(s.wheelAs(tok, dist, c.filename))
			if !strings.HasPrefix(resp.Status, c.want) {
				t.Errorf("%s after the deletion: %q, want %q", c.filename, resp.Status, c.want)
			}
		}
		// Another release, and other tags of the same release, are free.
		s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0.1"}, false)
		other := disttest.Dist{Name: "demo", Version: "1.0", Summary: "for Python 2"}
		if resp, body := s.do(s.wheelAs(tok, other, "demo-1.0-py2-none-any.whl")); resp.StatusCode != 200 {
			t.Fatalf("other tags of the release: %s %s", resp.Status, body)
		}
	})
}

// TestWheelTagsValidated (issue 12, class 7): a wheel's tags are ASCII
// letters, digits and '_'; anything else (HTML, quotes, ";#?", spaces,
// non-ASCII) was accepted before.
func TestWheelTagsValidated(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	for fn, want := range map[string]string{
		"demo-1.0-<b>-none-any.whl":                                   "400 Binary wheel 'demo-1.0-<b>-none-any.whl' has an invalid Python tag '<b>'",
		`demo-1.0-py3-"none"-any.whl`:                                 `400 Binary wheel 'demo-1.0-py3-"none"-any.whl' has an invalid ABI tag '"none"'`,
		"demo-1.0-py3;x-none-any.whl":                                 "400 Binary wheel 'demo-1.0-py3;x-none-any.whl' has an invalid Python tag 'py3;x'",
		"demo-1.0-py3#-none-any.whl":                                  "400 Binary wheel",
		"demo-1.0-py?3-none-any.whl":                                  "400 Binary wheel",
		"demo-1.0-py 3-none-any.whl":                                  "400 Binary wheel",
		"demo-1.0-py3.-none-any.whl":                                  "400 Binary wheel 'demo-1.0-py3.-none-any.whl' has an invalid Python tag ''",
		"demo-1.0-py3-non\u00e9-any.whl":                              "400 Cannot upload a file with non-ASCII characters in the name",
		"demo-1.0-1<x>-py3-none-any.whl":                              "400 Invalid wheel filename (invalid build tag '1<x>')",
		"demo-1.0-py3-none-any.ANY.whl":                               "400 Binary wheel 'demo-1.0-py3-none-any.ANY.whl' has an unsupported platform tag 'ANY'",
		"demo-1.0-py3-none-" + strings.Repeat("any.", 70) + "any.whl": "400 Filename is too long",
	} {
		d.Summary = "content of " + fn // a new file each time
		if resp, _ := s.do(s.wheelAs(tok, d, fn)); !strings.HasPrefix(resp.Status, want) {
			t.Errorf("%s: %q, want %q", fn, resp.Status, want)
		}
	}
}

// TestDeletedProjectLookalikes (issue 12, class 10): after a project is
// deleted, no name that ultranormalizes like it can be registered, nor one
// like a name an administrator prohibited. Before, only the exact
// normalized name was refused.
func TestDeletedProjectLookalikes(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		alice, tok := s.user("alice")
		_, mallory := s.user("mallory")
		s.uploadDist(tok, disttest.Dist{Name: "dig", Version: "1.0"}, false)
		if err := s.idx.DeleteProject(context.Background(), s.principal(s.manageToken(alice)), audit.Meta{}, "dig", "dig"); err != nil {
			t.Fatal(err)
		}
		if err := s.st.ProhibitName(context.Background(), "evil-pkg", "ev11pkg", "test", time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"dig", "DIG", "d.i.g", "d-i_g", "d1g", "dlg", "D1G", "ev1l-pkg", "Evil.Pkg", "evilpkg", "EV1LPKG"} {
			dist := disttest.Dist{Name: name, Version: "1.0"}
			resp, _ := s.do(s.wheelAs(mallory, dist, dist.WheelFilename()))
			if want := "400 The name '" + name + "' isn't allowed."; !strings.HasPrefix(resp.Status, want) {
				t.Errorf("%s: %q, want %q", name, resp.Status, want)
			}
		}
		// Other names are free.
		s.uploadDist(mallory, disttest.Dist{Name: "dug", Version: "1.0"}, false)
	})
}
