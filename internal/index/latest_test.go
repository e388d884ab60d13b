package index

import (
	"context"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestLatestReleases: the latest release of a listed project follows its
// uploads and yanks (each moves the project's serial), and a project not
// changed since it was last listed is not read again.
func TestLatestReleases(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		latest := func(want string) {
			t.Helper()
			ls, err := f.svc.SearchProjects(ctx, "widge", 0, 10)
			storetest.Must(t, err)
			if len(ls) != 1 {
				t.Fatalf("search: %+v", ls)
			}
			got, err := f.svc.LatestReleases(ctx, ls)
			storetest.Must(t, err)
			version := ""
			if b := got[ls[0].ID]; b != nil {
				version = b.Version
			}
			if version != want {
				t.Fatalf("latest = %q, want %q", version, want)
			}
		}
		for _, v := range []string{"1.0", "2.0", "2.1rc1"} {
			_, err := f.uploadWheel(alice, disttest.Dist{Name: "widget", Version: v})
			storetest.Must(t, err)
		}
		latest("2.0") // the highest final release, not the pre-release
		storetest.Must(t, f.svc.Yank(ctx, alice, audit.Meta{}, "widget", "2.0", "broken"))
		latest("1.0")
		_, err := f.uploadWheel(alice, disttest.Dist{Name: "widget", Version: "3.0"})
		storetest.Must(t, err)
		latest("3.0")

		// Remembered: with the project's releases gone from under it (no
		// serial moved), the answer is the one kept.
		ls, err := f.svc.SearchProjects(ctx, "widge", 0, 10)
		storetest.Must(t, err)
		_, err = f.st.DB().ExecContext(ctx, `UPDATE releases SET version = '9.9' WHERE project_id = $1 AND version = '3.0'`, ls[0].ID)
		storetest.Must(t, err)
		latest("3.0")
		ls[0].LastSerial++ // as a change would
		got, err := f.svc.LatestReleases(ctx, ls)
		storetest.Must(t, err)
		if b := got[ls[0].ID]; b == nil || b.Version != "9.9" {
			t.Fatalf("after the serial moved: %+v, want 9.9 read again", b)
		}
	})
}
