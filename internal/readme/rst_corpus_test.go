package readme

import (
	"bufio"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden HTML of testdata/rst")

// verdicts reads a verdicts file written by scripts/rst-verdicts.py: file
// name to PyPI's message ("" when it accepts).
func verdicts(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), " ")
		verdict, msg, _ := strings.Cut(rest, " ")
		switch verdict {
		case "accept":
			m[name] = ""
		case "refuse":
			m[name] = "refuse " + msg
		default:
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// compareCorpus renders every file of a verdicts file and reports the
// files on which the renderer and PyPI disagree.
func compareCorpus(t *testing.T, dir string, golden bool) (n, agree int) {
	t.Helper()
	want := verdicts(t, filepath.Join(dir, "verdicts.txt"))
	for name, pypi := range want {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		h, err := Render(string(src), "text/x-rst")
		n++
		var rerr *RSTError
		if err != nil && !errors.As(err, &rerr) {
			t.Fatalf("%s: %v", name, err)
		}
		switch {
		case err == nil && pypi == "", err != nil && pypi != "":
			agree++
		case err == nil:
			t.Errorf("%s: accepted; PyPI refuses: %s", name, pypi)
		default:
			t.Errorf("%s: refused (%v); PyPI accepts", name, err)
		}
		if bad := unsafeHTML(string(h)); bad != "" {
			t.Errorf("%s: unsafe output: %s", name, bad)
		}
		if !golden || err != nil {
			continue
		}
		gpath := filepath.Join(dir, strings.TrimSuffix(name, ".rst")+".html")
		if *update {
			if err := os.WriteFile(gpath, []byte(h+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		g, err := os.ReadFile(gpath)
		if err != nil {
			t.Fatal(err)
		}
		if string(g) != string(h)+"\n" {
			t.Errorf("%s: HTML differs from %s (go test -update rewrites it)", name, gpath)
		}
	}
	return n, agree
}

// TestRSTCorpus checks the renderer against PyPI's verdicts on real
// descriptions (testdata/rst, with verdicts from readme_renderer), and
// its HTML against the golden files there.
func TestRSTCorpus(t *testing.T) {
	t.Parallel()
	n, agree := compareCorpus(t, "testdata/rst", true)
	t.Logf("%d of %d verdicts agree with PyPI's", agree, n)
}

// TestRSTLocalCorpus is TestRSTCorpus on a larger corpus outside the
// repository: $CHEESESHOP_RST_CORPUS names a directory of .rst files and
// their verdicts.txt.
func TestRSTLocalCorpus(t *testing.T) {
	dir := os.Getenv("CHEESESHOP_RST_CORPUS")
	if dir == "" {
		t.Skip("CHEESESHOP_RST_CORPUS not set")
	}
	n, agree := compareCorpus(t, dir, false)
	t.Logf("%d of %d verdicts agree with PyPI's (%.1f%%)", agree, n, 100*float64(agree)/float64(n))
}
