package index

import (
	"context"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestReleaseUploadWindow: a release takes new files for
// Config.ReleaseUploadWindow after its creation, as PyPI's 14 days; later
// ones are refused with PyPI's message, after the duplicate checks, so
// that an identical re-upload (twine --skip-existing) still succeeds.
func TestReleaseUploadWindow(t *testing.T) {
	t.Parallel()
	const fortnight = 14 * 24 * time.Hour
	const closed = "Uploading new files to releases older than 14 days is not allowed."
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, dialect, Config{ReleaseUploadWindow: fortnight})
		clk := clocktest.New(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
		f.svc.now = clk.Now
		alice := f.user("alice")
		d := disttest.Dist{Name: "demo", Version: "1.0"}
		f.mustWheel(alice, d)
		otherTags := func(tag string) (*UploadResult, error) {
			other := d
			other.Summary = "for " + tag // other bytes
			w := other.Wheel()
			return f.upload(alice, other.Form("bdist_wheel", w), "demo-1.0-"+tag+"-none-any.whl", w)
		}

		// Exactly 14 days on, the release is still open (PyPI refuses
		// releases created before now - 14 days).
		clk.Add(fortnight)
		if _, err := otherTags("py2"); err != nil {
			t.Fatalf("a file 14 days after the release: %v", err)
		}
		clk.Add(time.Second)
		for _, c := range []struct {
			name   string
			upload func() (*UploadResult, error)
			want   string // "" for an identical re-upload
		}{
			{"a new wheel", func() (*UploadResult, error) { return otherTags("py38") }, closed},
			{"the sdist", func() (*UploadResult, error) { return f.uploadSdist(alice, d) }, closed},
			{"the same wheel again (twine --skip-existing)", func() (*UploadResult, error) { return f.uploadWheel(alice, d) }, ""},
			{"other bytes under a used name", func() (*UploadResult, error) {
				changed := d
				changed.Summary = "changed"
				return f.upload(alice, changed.Form("bdist_wheel", changed.Wheel()), d.WheelFilename(), changed.Wheel())
			}, "File already exists"},
		} {
			res, err := c.upload()
			switch {
			case c.want == "" && (err != nil || !res.Existing):
				t.Errorf("%s: %+v, %v; want the existing file", c.name, res, err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want) || problem.KindOf(err) != problem.Invalid):
				t.Errorf("%s: %+v, %v; want %q", c.name, res, err, c.want)
			}
		}
		view, err := f.svc.LoadProject(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		if len(view.Files) != 2 {
			t.Errorf("files after the refusals: %d, want the 2 uploaded in the window", len(view.Files))
		}
		// A new release is open, however old the project.
		f.mustWheel(alice, disttest.Dist{Name: "demo", Version: "1.0.post1"})

		// 0: no window.
		open := newFixture(t, dialect, Config{})
		open.svc.now = clk.Now
		bob := open.user("bob")
		open.mustWheel(bob, d)
		clk.Add(10 * 365 * 24 * time.Hour)
		open.mustSdist(bob, d)
	})
}

// TestReleaseClosedMessage: the window in days as PyPI says it, or else
// in cheeseshop's words.
func TestReleaseClosedMessage(t *testing.T) {
	t.Parallel()
	for window, want := range map[time.Duration]string{
		14 * 24 * time.Hour: "Uploading new files to releases older than 14 days is not allowed.",
		24 * time.Hour:      "Uploading new files to releases older than 1 day is not allowed.",
		36 * time.Hour:      "Uploading new files to releases older than 36 hours is not allowed.",
		time.Hour:           "Uploading new files to releases older than 1 hour is not allowed.",
		90 * time.Minute:    "Uploading new files to releases older than 1h30m0s is not allowed.",
	} {
		s := &Service{cfg: Config{ReleaseUploadWindow: window}}
		if got := s.releaseClosed().Error(); !strings.HasPrefix(got, want) {
			t.Errorf("window %s: %q, want %q first", window, got, want)
		}
	}
}

// TestReleaseUploadWindowSpellings: a closed release stays closed to every
// spelling of its version (they name one release), yanked or not, and
// with its files deleted: the release's age counts, not its files'.
func TestReleaseUploadWindowSpellings(t *testing.T) {
	t.Parallel()
	const fortnight = 14 * 24 * time.Hour
	const closed = "Uploading new files to releases older than 14 days is not allowed."
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, dialect, Config{ReleaseUploadWindow: fortnight})
		clk := clocktest.New(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
		f.svc.now = clk.Now
		alice := f.user("alice")
		f.mustWheel(alice, disttest.Dist{Name: "demo", Version: "1.0"})
		f.mustWheel(alice, disttest.Dist{Name: "demo", Version: "2.0a0"})
		f.mustWheel(alice, disttest.Dist{Name: "demo", Version: "3.0"})
		clk.Add(fortnight + time.Second)
		if err := f.svc.Yank(ctx, alice, audit.Meta{}, "demo", "2.0a0", ""); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteFile(ctx, alice, "demo-3.0-py3-none-any.whl"); err != nil {
			t.Fatal(err)
		}
		// Another tag than the first wheel's, so that no spelling of
		// its file name is taken: only the window refuses these.
		wheel := func(p *Principal, d disttest.Dist) (*UploadResult, error) {
			w := d.Wheel()
			return f.upload(p, d.Form("bdist_wheel", w), "demo-"+d.Version+"-py2.py3-none-any.whl", w)
		}
		for _, v := range []string{"1.0.0", "1", "01.0", "1.00", "0!1.0", "1.0.0.0", "v1.0", "2.0a", "2.0alpha0", "2.0-a0", "3.0", "3"} {
			d := disttest.Dist{Name: "demo", Version: v, Summary: "planted"}
			for kind, up := range map[string]func(*Principal, disttest.Dist) (*UploadResult, error){"wheel": wheel, "sdist": f.uploadSdist} {
				res, err := up(alice, d)
				if err == nil || !strings.HasPrefix(err.Error(), closed) && !strings.HasPrefix(err.Error(), "Invalid wheel filename") {
					t.Errorf("%s %s to a closed release: %+v, %v; want %q", kind, v, res, err, closed)
				}
			}
		}
	})
}
