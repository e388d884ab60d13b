package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminDownloadsImport imports a log twice, then grown, with a
// missing file beside it.
func TestAdminDownloadsImport(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dbURL := storetest.URL(t, d)
		args := withDB(t.TempDir(), dbURL)
		if code, _, errs := cli(t, "", args("migrate")...); code != 0 {
			t.Fatalf("migrate: %s", errs)
		}
		st := openStore(t, dbURL)
		now := time.Now()
		p := &store.Project{Name: "Foo", NormalizedName: "foo", UltraName: "f00", CreatedAt: now}
		storetest.Must(t, st.CreateProject(ctx, p))
		r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte("{}"), CreatedAt: now}
		storetest.Must(t, st.CreateRelease(ctx, r))
		storetest.Must(t, st.InsertFile(ctx, &store.File{ReleaseID: r.ID, ProjectID: p.ID, Filename: "foo-1.0.tar.gz",
			PackageType: "sdist", PythonVersion: "source", Size: 1, MD5: "m", SHA256: "s", Blake2_256: "b", UploadTime: now}))

		lineFrom := func(addr, at, method, file string, status string) string {
			return addr + ` - - [` + at + `] "` + method + ` /files/` + strings.Repeat("ab", 32) + `/` + file +
				` HTTP/1.1" ` + status + ` 5120 "-" "pip/24.0 {\x22ci\x22:null}"` + "\n"
		}
		line := func(at, method, file string, status string) string {
			return lineFrom("203.0.113.9", at, method, file, status)
		}
		log := line("24/Nov/2026:10:01:02 +0100", "GET", "foo-1.0.tar.gz", "200") +
			lineFrom("198.51.100.7", "25/Nov/2026:00:30:00 +0100", "GET", "foo-1.0.tar.gz", "200") + // still the 24th in UTC
			line("24/Nov/2026:23:30:00 -0100", "GET", "foo-1.0.tar.gz", "200") + // the 25th in UTC
			line("24/Nov/2026:10:05:00 +0100", "GET", "foo-1.0.tar.gz", "200") + // again: over --downloads-per-address
			line("24/Nov/2026:10:01:02 +0100", "HEAD", "foo-1.0.tar.gz", "200") +
			line("24/Nov/2026:10:01:02 +0100", "GET", "foo-1.0.tar.gz", "304") +
			line("24/Nov/2026:10:01:02 +0100", "GET", "foo-1.0.tar.gz.metadata", "200") +
			"garbage\n"
		path := filepath.Join(t.TempDir(), "access.log")
		if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
			t.Fatal(err)
		}
		downloads := func(day string, want int64) {
			t.Helper()
			d, _ := store.ParseDay(day)
			n, err := st.ProjectDownloads(ctx, p.ID, d, d)
			if err != nil || n != want {
				t.Fatalf("downloads on %s: %d, %v; want %d", day, n, err, want)
			}
		}

		code, out, errs := cli(t, "", args("admin", "downloads", "import", "--critical-window", "3660", path)...)
		want := path + ": 8 new lines: 3 counted, 4 ignored, 1 bad; downloads of 1 project on 2 days\n" +
			"  ignored: 1 not GET, 1 not a distribution file, 1 not status 200, 1 over the limit per address\n" +
			"  bad lines:\n" +
			"    line 8: not an access log line: no client address\n"
		if code != 0 || out != want || errs != "" {
			t.Fatalf("first import: exit %d\n%s\nwant\n%s\nstderr %q", code, out, want, errs)
		}
		downloads("2026-11-24", 2)
		downloads("2026-11-25", 1)
		// The import started the window of the computation (as of
		// today, 3660 days), and the counts inside it are in its sums.
		today := store.DayOf(time.Now())
		var inWindow int64
		for day, n := range map[string]int64{"2026-11-24": 2, "2026-11-25": 1} {
			if d, _ := store.ParseDay(day); d < today {
				inWindow += n
			}
		}
		if n, err := st.WindowDownloads(ctx, p.ID); err != nil || n != inWindow {
			t.Fatalf("window sum after the import: %d, %v; want %d", n, err, inWindow)
		}

		code, out, errs = cli(t, "", args("admin", "downloads", "import", path)...)
		if want := path + ": nothing new, all 8 lines were imported before\n"; code != 0 || out != want || errs != "" {
			t.Fatalf("second import: exit %d %q %q; want %q", code, out, errs, want)
		}
		downloads("2026-11-24", 2)
		downloads("2026-11-25", 1)

		// The log grows, by a line and a half; a missing file beside it.
		grown := log + lineFrom("192.0.2.50", "25/Nov/2026:10:00:00 +0000", "GET", "foo-1.0.tar.gz", "200") +
			line("25/Nov/2026:10:00:00 +0000", "GET", "foo-1.0.tar.gz", "200") + "203.0.113.9 - - [25/Nov"
		if err := os.WriteFile(path, []byte(grown), 0o644); err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(t.TempDir(), "access.log.1")
		code, out, errs = cli(t, "", args("admin", "downloads", "import", missing, path)...)
		want = path + ": 2 new lines (8 already imported): 1 counted, 1 ignored, 0 bad; downloads of 1 project on 1 day\n" +
			"  ignored: 1 over the limit per address\n" +
			"  the last line has no newline yet (23 bytes): it is imported once complete\n"
		if code != 1 || out != want || !strings.Contains(errs, "access.log.1: no such file or directory; nothing imported from it (check the path)") ||
			!strings.Contains(errs, "1 of 2 files not imported") {
			t.Fatalf("grown, and a missing file: exit %d\n%s\nwant\n%s\nstderr %q", code, out, want, errs)
		}
		downloads("2026-11-24", 2)
		downloads("2026-11-25", 2)
	})
}
