package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookalikeEval runs the evaluation on a small list.
func TestLookalikeEval(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name\tversion\tmonth\trank_among_15000_most_downloaded\n")
	for i, n := range []string{"requests", "python-dateutil", "colorama", "numpy", "opencv-python",
		"setuptools", "matplotlib", "scikit-learn"} {
		fmt.Fprintf(&b, "%s\t1.0\t2024-01\t%d\n", n, i+1)
	}
	for _, n := range []string{"reqeusts", "flask", "pandas-ai", "colour", "numpy-tools", "dateutil-python"} {
		fmt.Fprintf(&b, "%s\t1.0\t2024-01\t\n", n)
	}
	path := filepath.Join(t.TempDir(), "names.tsv.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(b.String()))
	zw.Close()
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(t.TempDir(), "corpus.tsv")
	if err := os.WriteFile(corpus, []byte("# real look-alikes\nname\timitated\trank\tclass\tsource\n"+
		"colourama\tcolorama\t3\tinsertion\tx\npyhton-opencv\topencv-python\t5\ttypos\tx\n"+
		"jeIlyfish\tjellyfish\t\thomoglyph\tx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &LookalikeEvalCmd{Data: path, Top: []int{4, 8}, Seed: 1, Half: "all", Sample: 5, Workers: 2, Corpus: corpus}
	if err := c.Run(&env{ctx: context.Background(), stdout: &out, stderr: &out}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Recall on synthetic look-alikes", "| ranks 1–1,000 |",
		"### Real look-alikes caught (3 pairs", "| insertion | 1 | 1 | 1 |", "| typos | 1 | 0 | 1 |",
		"| **all** | 3 | **1 (33 %)** | **2 (67 %)** |", "Missed against the top 8: jeIlyfish→jellyfish (homoglyph).",
		"### Real names flagged against the top 4", "### Real names flagged against the top 8",
		"3 of 6 names that are not protected"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
