package main

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminNamesCheck runs the detector on a small TSV, with names as
// arguments and on standard input, plain and gzip.
func TestAdminNamesCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tsv := "name\tversion\tmonth\trank_among_15000_most_downloaded\n" +
		"requests\t2.32\t2024-05\t1\nnumpy\t2.0\t2024-06\t2\npython-dateutil\t2.9\t2024-03\t3\n" +
		"colorama\t0.4\t2022-10\t4\nreqeusts\t0.1\t2017-01\t9000\nsomething-else\t1.0\t2020-01\t\n"
	plain := filepath.Join(dir, "top.tsv")
	if err := os.WriteFile(plain, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "top.tsv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(tsv))
	zw.Close()
	f.Close()

	want := "co1orama\tcolorama\thomoglyph\nPython-Requests\trequests\taffix\nnum_py\tnumpy\tseparator\ndateutil-python\tpython-dateutil\treordered\n"
	stdin := "co1orama\nflask\n\n  Python-Requests  \nnum_py\nrequests\nreqeusts\ndateutil-python\n"
	for _, file := range []string{plain, gz} {
		code, out, errs := cli(t, stdin, "admin", "names", "check", "--protected", file)
		if code != 0 || out != want {
			t.Errorf("%s, names on stdin: %d %q %q; want %q", file, code, out, errs, want)
		}
	}
	// reqeusts is protected (rank 9000) though --top 4 makes it no target.
	code, out, errs := cli(t, "", "admin", "names", "check", "--protected", plain, "--top", "4", "reqeusts", "requests-lib", "flask")
	if code != 0 || out != "requests-lib\trequests\taffix\n" {
		t.Errorf("names as arguments: %d %q %q", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "names", "check", "requests"}, "--protected FILE"},
		{[]string{"admin", "names", "check", "--protected", filepath.Join(dir, "missing.tsv"), "x"}, "missing.tsv"},
		{[]string{"admin", "names", "check", "--protected", plain, "--top=-1", "x"}, "--top must be 0 or more"},
	} {
		if code, _, errs := cli(t, "", c.args...); code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q; want an error with %q", c.args, code, errs, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.tsv")
	os.WriteFile(bad, []byte("project\nrequests\n"), 0o644)
	if code, _, errs := cli(t, "", "admin", "names", "check", "--protected", bad, "x"); code == 0 || !strings.Contains(errs, `no "name" column`) {
		t.Errorf("bad TSV: %d %q", code, errs)
	}
}
