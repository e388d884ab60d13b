package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/importer"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestAdminImport(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := func(a ...string) []string {
			return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
		}
		src := t.TempDir()
		good := disttest.Dist{Name: "good", Version: "1.0"}
		storetest.Must(t, os.WriteFile(filepath.Join(src, good.WheelFilename()), good.Wheel(), 0o644))
		storetest.Must(t, os.WriteFile(filepath.Join(src, "broken-1.0-py3-none-any.whl"), []byte("not a zip"), 0o644))

		if code, _, errs := cli(t, "", args("admin", "import", "--owner", "nobody", src)...); code == 0 || !strings.Contains(errs, `no user "nobody"`) {
			t.Errorf("an owner that does not exist: %d %q", code, errs)
		}
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}
		code, out, errs := cli(t, "", args("admin", "import", "--owner", "alice", src)...)
		if code == 0 || !strings.Contains(errs, "1 file refused") {
			t.Errorf("an import with a refusal exits with %d: %q", code, errs)
		}
		for _, want := range []string{"imported: 1 file, 1 release, 1 project", "refused: 1", "broken-1.0-py3-none-any.whl: Invalid distribution file"} {
			if !strings.Contains(out, want) {
				t.Errorf("the summary lacks %q:\n%s", want, out)
			}
		}
		// Not a terminal: a line per project on standard error.
		for _, want := range []string{"importing 2 projects from " + src, "good: 1 imported, 0 already present, 0 refused; project created"} {
			if !strings.Contains(errs, want) {
				t.Errorf("the progress lacks %q:\n%s", want, errs)
			}
		}
		storetest.Must(t, os.Remove(filepath.Join(src, "broken-1.0-py3-none-any.whl")))
		code, out, errs = cli(t, "", args("admin", "import", "--owner", "alice", src)...)
		if code != 0 || !strings.Contains(out, "imported: 0 files") || !strings.Contains(out, "already present (skipped): 1 file") {
			t.Errorf("again: %d %q %q", code, out, errs)
		}
	})
}

func TestImportProgressBar(t *testing.T) {
	var buf bytes.Buffer
	b := &bar{w: &buf}
	b.Source(nil, 2)
	b.File("alpha", "alpha-1.0.tar.gz")
	b.Project(&importer.ProjectReport{Name: "alpha", Imported: 1})
	b.Project(&importer.ProjectReport{Name: "beta", Skipped: "not an Owner"})
	b.done()
	out := buf.String()
	for _, want := range []string{"[###############...............] 1/2 projects, 1 files  alpha", "beta: skipped: not an Owner", "[##############################] 2/2 projects"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bar lacks %q: %q", want, out)
		}
	}
	if _, ok := newProgress(&buf).(*lines); !ok {
		t.Error("a writer that is not a terminal gets a bar")
	}
}
