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

// TestDeletedProjectLookalikes (issue 12, class 10): after a project is
// deleted, no name that ultranormalizes like it can be registered, nor one
// like a name an administrator prohibited. Before, only the exact
// normalized name was refused.
func TestDeletedProjectLookalikes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, d)
			_, tok := s.user("alice")
			_, mallory := s.user("mallory")
			s.uploadDist(tok, disttest.Dist{Name: "dig", Version: "1.0"}, false)
			if err := s.idx.DeleteProject(context.Background(), s.principal(tok), audit.Meta{}, "dig", "dig"); err != nil {
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
}
