package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// writeTSV writes a gzipped projects TSV.
func writeTSV(t *testing.T, lines ...string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("name\tversion\tmonth\trank_among_15000_most_downloaded\n" + strings.Join(lines, "\n") + "\n"))
	zw.Close()
	path := filepath.Join(t.TempDir(), "projects.tsv.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadRankedProjects(t *testing.T) {
	path := writeTSV(t,
		"Foo.Bar\t1.0\t2024-01\t2",
		"zope\t1.0\t2024-01\t",
		"f00_bar\t1.0\t2024-01\t",
		"FOO-bar\t1.0\t2024-01\t", // same normalized name as Foo.Bar: skipped
		"boto3\t1.0\t2024-01\t1",
		"Z0PE\t1.0\t2024-01\t",
	)
	got, err := readRankedProjects(path, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name, norm, ultra string
		daily             int64
	}
	want := []row{
		{"Foo.Bar", "foo-bar", "f00bar", 500},
		{"zope", "zope", "z0pe", 333},           // rank 3: after the largest given
		{"f00_bar", "f00-bar", "f00bar~2", 250}, // rank 4; look-alike of Foo.Bar
		{"boto3", "boto3", "b0t03", 1000},
		{"Z0PE", "z0pe", "z0pe~4", 200}, // rank 5
	}
	if len(got) != len(want) {
		t.Fatalf("%d projects, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.NormalizedName != w.norm || g.UltraName != w.ultra || g.Daily != w.daily {
			t.Errorf("project %d: %+v, want %+v", i, g, w)
		}
	}
	if got, _ := readRankedProjects(path, 2, 1000); len(got) != 2 {
		t.Errorf("limit 2: %d projects", len(got))
	}
	if _, err := readRankedProjects(writeTSV(t, "a\t1\t2024-01\tx"), 0, 1000); err == nil {
		t.Error("a bad rank was accepted")
	}
}

// TestCriticalCommand runs the whole command on a small SQLite database,
// then again with --reuse, and refuses to load twice.
func TestCriticalCommand(t *testing.T) {
	var lines []string
	for i := range 300 {
		rank := ""
		if i%3 == 0 {
			rank = strconv.Itoa(i/3 + 1)
		}
		lines = append(lines, "proj-"+strconv.Itoa(i)+"\t1.0\t2024-01\t"+rank)
	}
	tsv := writeTSV(t, lines...)
	db := "sqlite://" + filepath.Join(t.TempDir(), "c.db")
	args := []string{"critical", "--database", db, "--projects-tsv", tsv, "--days", "5", "--explain"}
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut.String(), out.String())
	}
	for _, re := range []string{
		`300 projects × 6 days .* = 1800 daily counts`,
		`load: 1800 rows in`,
		`\(a\) first computation \(sums the whole window: without a kept window\) as of 2026-12-01 \(window 2026-11-26\.\.2026-11-30\): .*projects 300, N 3, cutoff \d+, qualified 3, designated 3`,
		`new day 2026-12-01: 300 counts written`,
		`\(b\) daily computation .* as of 2026-12-02 \(window 2026-11-27\.\.2026-12-01\): .*projects 300, N 3, .*designated 0`,
		`\(c\) dry run`,
		`plan of the rebuild:`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("no match for %s in:\n%s", re, out.String())
		}
	}
	out.Reset()
	if code := run(args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "--reuse") {
		t.Errorf("a second load: exit %d, %s", code, errOut.String())
	}
	out.Reset()
	if code := run(append(args, "--reuse", "--runs", "2"), &out, &errOut); code != 0 {
		t.Fatalf("--reuse: exit %d: %s", code, errOut.String())
	}
	if n := strings.Count(out.String(), "designated 3"); !strings.Contains(out.String(), "load: reused") || n != 2 {
		t.Errorf("--reuse --runs 2: %d first computations designating 3:\n%s", n, out.String())
	}
}

func TestReadNames(t *testing.T) {
	path := writeTSV(t, "Foo.Bar\t1.0\t2024-01\t2", " \t1.0\t2024-01\t", "zope\t1.0", "boto3")
	for _, c := range []struct {
		n    int
		want []string
	}{
		{0, []string{}},
		{2, []string{"Foo.Bar", "zope"}},
		{10, []string{"Foo.Bar", "zope", "boto3"}},
	} {
		got, err := readNames(path, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("readNames(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
