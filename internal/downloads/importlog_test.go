package downloads_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/downloads"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// impFixture is a store with two projects and their files.
type impFixture struct {
	t  *testing.T
	st *store.Store
	im *downloads.Importer
	// ids maps a project's normalized name to its id.
	ids map[string]int64
}

// The files of the fixture's index, by project.
var impFiles = map[string][]string{
	"foo":     {"foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"},
	"bar-baz": {"bar_baz-2.0-py3-none-any.whl"},
}

func newImpFixture(t *testing.T, st *store.Store) *impFixture {
	t.Helper()
	f := &impFixture{t: t, st: st, im: &downloads.Importer{Store: st}, ids: map[string]int64{}}
	for name, files := range impFiles {
		impProject(t, st, name, files...)
		p, err := st.ProjectByName(context.Background(), name)
		storetest.Must(t, err)
		f.ids[name] = p.ID
	}
	return f
}

// impProject creates a project with one release holding the files.
func impProject(t testing.TB, st *store.Store, name string, files ...string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	p := &store.Project{Name: name, NormalizedName: pep.NormalizeName(name), UltraName: pep.UltraNormalizeName(name), CreatedAt: now}
	storetest.Must(t, st.CreateProject(ctx, p))
	r := &store.Release{ProjectID: p.ID, Version: "1.0", CanonicalVersion: "1", MetadataJSON: []byte("{}"), CreatedAt: now}
	storetest.Must(t, st.CreateRelease(ctx, r))
	for _, fn := range files {
		sum := sha256.Sum256([]byte(fn))
		digest := hex.EncodeToString(sum[:])
		storetest.Must(t, st.InsertFile(ctx, &store.File{ReleaseID: r.ID, ProjectID: p.ID, Filename: fn, PackageType: "sdist",
			PythonVersion: "source", Size: 1, MD5: digest[:32], SHA256: digest, Blake2_256: "b" + digest[1:], UploadTime: now}))
	}
}

// impDay parses 2006-01-02.
func impDay(t testing.TB, s string) store.Day {
	t.Helper()
	d, err := store.ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// impWant is a number of downloads of a project on a day.
type impWant struct {
	project, day string
	n            int64
}

// check asserts the downloads of every project of the fixture on the
// days named (those not in want must be 0).
func (f *impFixture) check(want ...impWant) {
	f.t.Helper()
	ctx := context.Background()
	days := map[string]bool{"2026-11-23": true, "2026-11-24": true, "2026-11-25": true, "2026-11-26": true}
	for _, w := range want {
		days[w.day] = true
	}
	for name, id := range f.ids {
		for day := range days {
			var exp int64
			for _, w := range want {
				if w.project == name && w.day == day {
					exp += w.n
				}
			}
			d := impDay(f.t, day)
			got, err := f.st.ProjectDownloads(ctx, id, d, d)
			storetest.Must(f.t, err)
			if got != exp {
				f.t.Errorf("downloads of %s on %s = %d, want %d", name, day, got, exp)
			}
		}
	}
}

// importFile imports a file and fails the test on an error.
func (f *impFixture) importFile(path string) *downloads.ImportResult {
	f.t.Helper()
	res, err := f.im.Import(context.Background(), path, downloads.ImportOptions{})
	if err != nil {
		f.t.Fatalf("import %s: %v", path, err)
	}
	return res
}

// combined writes a line as nginx's combined format does, with pip's
// user agent (whose quotes nginx escapes as \x22).
func combined(ip, at, request string, status int) string {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`%s - - [%s] "%s" %d 5120 "-" "pip/24.0 {\x22ci\x22:null,\x22cpu\x22:\x22x86_64\x22}"`+"\n",
		ip, t.Format("02/Jan/2006:15:04:05 -0700"), request, status)
}

const impSHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

// writeLog writes the lines to a file in a temporary folder.
func writeLog(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportLog(t *testing.T) {
	t.Parallel()
	get := func(path string) string { return "GET " + path + " HTTP/1.1" }
	file := func(name string) string { return "/files/" + impSHA + "/" + name }
	for _, tc := range []struct {
		name                   string
		lines                  []string
		counted, ignored, bad  int64
		ignoredBy              map[string]int64
		firstBad               string
		want                   []impWant
		projects, days         int
		lines_, skipped, parts int64
	}{
		{
			name: "combined",
			lines: []string{
				combined("203.0.113.9", "2026-11-24T10:01:02+01:00", get(file("foo-1.0.tar.gz")), 200),
				// PyPI's layout, a query string, HTTP/2.
				combined("2001:db8::1", "2026-11-24T10:01:03+01:00", "GET /packages/ab/cd/0123456789/foo-1.0-py3-none-any.whl?x=1#frag HTTP/2.0", 200),
				// 00:30 at +01:00 is still the 24th in UTC; 20:30 at -05:00 is the 25th.
				combined("203.0.113.9", "2026-11-25T00:30:00+01:00", get(file("bar_baz-2.0-py3-none-any.whl")), 200),
				combined("203.0.113.9", "2026-11-24T20:30:00-05:00", get(file("bar_baz-2.0-py3-none-any.whl")), 200),
				// Percent-encoded, absolute form.
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get("http://index.test/files/x/bar%5Fbaz-2.0-py3-none-any.whl"), 200),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", "HEAD "+file("foo-1.0.tar.gz")+" HTTP/1.1", 200),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get(file("foo-1.0.tar.gz")), 304),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get(file("foo-1.0.tar.gz")), 206),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get(file("nothing-1.0.tar.gz")), 404),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get(file("foo-1.0-py3-none-any.whl.metadata")), 200),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get(file("ghost-1.0.tar.gz")), 200),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", get("/simple/foo/"), 200),
				combined("203.0.113.9", "2026-11-24T12:00:00Z", "POST /legacy/ HTTP/1.1", 200),
				// A TLS handshake sent to the plain port, as nginx logs it.
				`198.51.100.7 - - [24/Nov/2026:12:00:00 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"` + "\n",
				"this is not a log line\n",
				`203.0.113.9 - - [24/Nov/2026:25:00:00 +0000] "GET /files/x/foo-1.0.tar.gz HTTP/1.1" 200 5 "-" "-"` + "\n",
				`203.0.113.9 - - [24/Nov/2026:10:00:00 +0000] "GET /files/x/foo-1.0.tar.gz HTTP/1.1` + "\n",
				"\n",
				// \r\n line ends are read too.
				strings.TrimSuffix(combined("203.0.113.9", "2026-11-23T23:59:59Z", get(file("foo-1.0.tar.gz")), 200), "\n") + "\r\n",
			},
			counted: 6, ignored: 9, bad: 4,
			ignoredBy: map[string]int64{"not GET": 3, "not status 200": 3, "not a distribution file": 2, "file unknown to the index": 1},
			firstBad:  "line 15: ",
			want: []impWant{
				{"foo", "2026-11-24", 2}, {"foo", "2026-11-23", 1},
				{"bar-baz", "2026-11-24", 2}, {"bar-baz", "2026-11-25", 1},
			},
			projects: 2, days: 3, lines_: 19,
		},
		{
			name: "json",
			lines: []string{
				`{"timestamp":"2026-11-24T10:00:00Z","project":"Foo","filename":"foo-1.0.tar.gz"}` + "\n",
				// 1795564800 is 2026-11-25T00:00:00Z; a fraction, a second before it.
				`{"timestamp":1795564800,"url":"https://cdn.example/files/x/foo-1.0-py3-none-any.whl?a=b"}` + "\n",
				`{"timestamp":1795564799.75,"url":"/files/x/foo-1.0-py3-none-any.whl"}` + "\n",
				`{"timestamp":"2026-11-24T23:30:00-02:00","url":"/files/x/bar_baz-2.0-py3-none-any.whl","status":200,"method":"GET"}` + "\n",
				`  {"timestamp":"2026-11-24T10:00:00.123456+00:00","project":"Bar_Baz","filename":"bar_baz-2.0-py3-none-any.whl","status":"200","extra":[1,2]}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"foo","filename":"foo-1.0.tar.gz","status":304}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"foo","filename":"foo-1.0.tar.gz","method":"HEAD"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"ghost","filename":"foo-1.0.tar.gz"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"bar-baz","filename":"foo-1.0.tar.gz"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"foo","filename":"foo-1.0.tar.gz.metadata"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"foo","filename":"foo-9.9.tar.gz"}` + "\n",
				`{"timestamp":"yesterday","filename":"foo-1.0.tar.gz"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","project":"foo"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z","filename":"foo-1.0.tar.gz","status":"ok"}` + "\n",
				`{"filename":"foo-1.0.tar.gz"}` + "\n",
				`{"timestamp":"2026-11-24T10:00:00Z", "filename":` + "\n",
				`{"timestamp":true,"filename":"foo-1.0.tar.gz"}` + "\n",
				`{"timestamp":1e300,"filename":"foo-1.0.tar.gz"}` + "\n",
			},
			counted: 5, ignored: 6, bad: 7,
			ignoredBy: map[string]int64{"not GET": 1, "not status 200": 1, "project unknown to the index": 1,
				"file of another project": 1, "not a distribution file": 1, "file unknown to the index": 1},
			firstBad: `line 12: "timestamp" "yesterday" is not RFC 3339`,
			want: []impWant{
				{"foo", "2026-11-24", 2}, {"foo", "2026-11-25", 1},
				{"bar-baz", "2026-11-24", 1}, {"bar-baz", "2026-11-25", 1},
			},
			projects: 2, days: 2, lines_: 18,
		},
		{
			name: "mixed",
			lines: []string{
				combined("203.0.113.9", "2026-11-26T10:00:00Z", get(file("foo-1.0.tar.gz")), 200),
				`{"timestamp":"2026-11-26T10:00:00Z","url":"/files/x/foo-1.0.tar.gz"}` + "\n",
				// Without a newline: not read until it is complete.
				combined("203.0.113.9", "2026-11-26T10:00:00Z", get(file("foo-1.0.tar.gz")), 200)[:80],
			},
			counted: 2, want: []impWant{{"foo", "2026-11-26", 2}}, projects: 1, days: 1, lines_: 2, parts: 80,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				f := newImpFixture(t, st)
				path := writeLog(t, "access.log", tc.lines...)
				res := f.importFile(path)
				if res.Counted != tc.counted || res.Ignored != tc.ignored || res.Bad != tc.bad || res.Lines != tc.lines_ ||
					res.SkippedLines != tc.skipped || res.Partial != tc.parts || res.Projects != tc.projects || res.Days != tc.days {
					t.Errorf("import: %d lines, %d counted, %d ignored, %d bad, %d skipped, %d partial, %d projects, %d days;\n"+
						"want %d, %d, %d, %d, %d, %d, %d, %d\nbad lines: %q", res.Lines, res.Counted, res.Ignored, res.Bad,
						res.SkippedLines, res.Partial, res.Projects, res.Days,
						tc.lines_, tc.counted, tc.ignored, tc.bad, tc.skipped, tc.parts, tc.projects, tc.days, res.BadLines)
				}
				if res.Lines != res.Counted+res.Ignored+res.Bad {
					t.Errorf("lines %d != counted + ignored + bad", res.Lines)
				}
				for reason, n := range tc.ignoredBy {
					if res.IgnoredBy[reason] != n {
						t.Errorf("ignored as %q: %d, want %d (all: %v)", reason, res.IgnoredBy[reason], n, res.IgnoredBy)
					}
				}
				if tc.bad > 0 && (len(res.BadLines) == 0 || !strings.HasPrefix(res.BadLines[0], tc.firstBad)) {
					t.Errorf("bad lines %q, want the first to start with %q", res.BadLines, tc.firstBad)
				}
				if len(res.BadLines) > 5 {
					t.Errorf("%d bad lines described, want at most 5", len(res.BadLines))
				}
				if r := res.Record; r == nil || r.Lines != tc.lines_ || r.Counted != tc.counted || r.Size != res.Size {
					t.Errorf("record %+v", r)
				}
				f.check(tc.want...)
			})
		})
	}
}

// TestImportIdempotent imports the same log again, grown, compressed,
// completed, rewritten: each line counts once.
func TestImportIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newImpFixture(t, st)
		dir := t.TempDir()
		path := filepath.Join(dir, "access.log")
		line := func(i int, name string) string {
			return combined(fmt.Sprintf("203.0.113.%d", i), fmt.Sprintf("2026-11-24T10:00:%02dZ", i), "GET /files/"+impSHA+"/"+name+" HTTP/1.1", 200)
		}
		var log []string
		for i := range 10 {
			log = append(log, line(i, "foo-1.0.tar.gz"))
		}
		write := func(p string, content string) {
			t.Helper()
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		gz := func(p string, content string) {
			t.Helper()
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte(content))
			w.Close()
			write(p, b.String())
		}
		all := func() string { return strings.Join(log, "") }

		type step struct {
			name    string
			do      func() string // writes a file, returns its path
			counted int64         // counted by the import
			skipped int64         // lines skipped
			partial bool
			foo     int64 // downloads of foo on the 24th after it
		}
		for _, s := range []step{
			{name: "first import", do: func() string { write(path, all()); return path }, counted: 10, foo: 10},
			{name: "again", do: func() string { return path }, skipped: 10, foo: 10},
			{name: "grown", do: func() string {
				log = append(log, line(10, "foo-1.0.tar.gz"), line(11, "foo-1.0.tar.gz"))
				write(path, all())
				return path
			}, counted: 2, skipped: 10, foo: 12},
			{name: "rotated and compressed", do: func() string {
				p := filepath.Join(dir, "access.log.1.gz")
				gz(p, all())
				return p
			}, skipped: 12, foo: 12},
			{name: "compressed after growing more", do: func() string {
				log = append(log, line(12, "foo-1.0.tar.gz"))
				p := filepath.Join(dir, "access.log.2.gz")
				gz(p, all())
				return p
			}, counted: 1, skipped: 13 - 1, foo: 13},
			{name: "partial last line", do: func() string {
				write(path, all()+line(13, "foo-1.0.tar.gz")[:50])
				return path
			}, skipped: 13, partial: true, foo: 13},
			{name: "completed", do: func() string {
				log = append(log, line(13, "foo-1.0.tar.gz"))
				write(path, all())
				return path
			}, counted: 1, skipped: 13, foo: 14},
			{name: "a copy under another name", do: func() string {
				p := filepath.Join(dir, "copy.log")
				write(p, all())
				return p
			}, skipped: 14, foo: 14},
			{name: "the same head, then other lines", do: func() string {
				// The first two lines match imports of 10 and 12 lines;
				// line 11 differs: the 10-line import is the longest match.
				changed := append([]string{}, log[:10]...)
				changed = append(changed, line(20, "foo-1.0.tar.gz"), line(21, "foo-1.0.tar.gz"), line(22, "foo-1.0.tar.gz"))
				p := filepath.Join(dir, "other.log")
				write(p, strings.Join(changed, ""))
				return p
			}, counted: 3, skipped: 10, foo: 17},
			{name: "the other log again", do: func() string { return filepath.Join(dir, "other.log") }, skipped: 13, foo: 17},
		} {
			p := s.do()
			res := f.importFile(p)
			if res.Counted != s.counted || res.SkippedLines != s.skipped || (res.Partial > 0) != s.partial {
				t.Errorf("%s: counted %d, skipped %d lines, partial %d bytes; want %d, %d, %v",
					s.name, res.Counted, res.SkippedLines, res.Partial, s.counted, s.skipped, s.partial)
			}
			if (res.Record != nil) != (s.counted > 0) {
				t.Errorf("%s: record %+v", s.name, res.Record)
			}
			if strings.HasSuffix(p, ".gz") != res.Compressed {
				t.Errorf("%s: compressed %v", s.name, res.Compressed)
			}
			f.check(impWant{"foo", "2026-11-24", s.foo})
			if t.Failed() {
				t.Fatalf("after %s", s.name)
			}
		}
	})
}

// TestImportNothing: empty files and files without a complete line.
func TestImportNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newImpFixture(t, st)
		for _, tc := range []struct {
			name, content string
		}{
			{"empty", ""},
			{"no newline", `{"timestamp":1795564800,"filename":"foo-1.0.tar.gz"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := f.importFile(writeLog(t, "access.log", tc.content))
				if res.Lines != 0 || res.Size != 0 || res.Partial != int64(len(tc.content)) || res.Record != nil {
					t.Fatalf("%+v", res)
				}
			})
		}
		f.check()
	})
}

// TestImportFailures: a missing file and a damaged gzip file fail and
// write nothing.
func TestImportFailures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newImpFixture(t, st)
		ctx := context.Background()
		_, err := f.im.Import(ctx, filepath.Join(t.TempDir(), "missing.log"), downloads.ImportOptions{})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		for i := range 2000 {
			fmt.Fprintf(w, `{"timestamp":%d,"filename":"foo-1.0.tar.gz"}`+"\n", 1795564800+i)
		}
		w.Close()
		path := filepath.Join(t.TempDir(), "access.log.gz")
		os.WriteFile(path, b.Bytes()[:b.Len()-10], 0o644)
		if _, err := f.im.Import(ctx, path, downloads.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Errorf("truncated gzip: %v", err)
		}
		if _, err := f.im.Import(ctx, t.TempDir(), downloads.ImportOptions{}); err == nil {
			t.Error("a folder was imported")
		}
		f.check()
	})
}

// TestImportConcurrent imports the same log from several goroutines at
// once: it counts once.
func TestImportConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newImpFixture(t, st)
		var lines []string
		for i := range 500 {
			lines = append(lines, fmt.Sprintf(`{"timestamp":%d,"filename":"bar_baz-2.0-py3-none-any.whl"}`+"\n", 1795564800+i))
		}
		path := writeLog(t, "access.log", lines...)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var counted int64
		for range 4 {
			wg.Go(func() {
				res, err := f.im.Import(context.Background(), path, downloads.ImportOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				counted += res.Counted
				mu.Unlock()
			})
		}
		wg.Wait()
		if counted != 500 {
			t.Errorf("the imports counted %d in all, want 500", counted)
		}
		f.check(impWant{"bar-baz", "2026-11-25", 500})
	})
}

// TestImportProgress: the progress reaches the size of the file on disk.
func TestImportProgress(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	f := newImpFixture(t, st)
	path := writeLog(t, "access.log", strings.Repeat(`{"timestamp":1795564800,"filename":"foo-1.0.tar.gz"}`+"\n", 5000))
	fi, _ := os.Stat(path)
	var last, size int64
	_, err := f.im.Import(context.Background(), path, downloads.ImportOptions{Progress: func(pos, sz int64) {
		if pos < last {
			t.Errorf("progress went back from %d to %d", last, pos)
		}
		last, size = pos, sz
	}})
	if err != nil {
		t.Fatal(err)
	}
	if last != fi.Size() || size != fi.Size() {
		t.Errorf("progress ended at %d of %d, want %d", last, size, fi.Size())
	}
}

func TestParseLine(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	for _, tc := range []struct {
		name, line string
		want       downloads.Hit
		err        string
	}{
		{"nginx", `203.0.113.9 - alice [24/Nov/2026:10:01:02 +0100] "GET /files/ab/foo-1.0.tar.gz HTTP/1.1" 200 5120 "https://x/" "pip/24.0"`,
			downloads.Hit{Time: at("2026-11-24T09:01:02Z"), Method: "GET", Status: 200, Filename: "foo-1.0.tar.gz", Addr: "203.0.113.9", Agent: downloads.InstallerAgent}, ""},
		{"common format", `203.0.113.9 - - [01/Jan/2027:00:00:00 -1130] "GET /a/b.whl HTTP/1.0" 200 -`,
			downloads.Hit{Time: at("2027-01-01T11:30:00Z"), Method: "GET", Status: 200, Filename: "b.whl", Addr: "203.0.113.9"}, ""},
		{"apache escapes", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/x\"y.whl HTTP/1.1" 200 1 "-" "-"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: `x"y.whl`, Addr: "h", Agent: downloads.OtherAgent}, ""},
		{"nginx escapes", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/caf\xC3\xA9.whl HTTP/1.1" 200 1 "-" "-"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: "café.whl", Addr: "h", Agent: downloads.OtherAgent}, ""},
		{"bad percent escape", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/%zz.whl HTTP/1.1" 200 1`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Addr: "h"}, ""},
		{"encoded slash", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/b%2Fc.whl HTTP/1.1" 200 1`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Addr: "h"}, ""},
		{"empty request", `h - - [24/Nov/2026:10:01:02 +0000] "" 400 0 "-" "-"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "-", Status: 400, Addr: "h", Agent: downloads.OtherAgent}, ""},
		{"29 February", `h - - [29/Feb/2028:10:01:02 +0000] "GET / HTTP/1.1" 200 1`,
			downloads.Hit{Time: at("2028-02-29T10:01:02Z"), Method: "GET", Status: 200, Addr: "h"}, ""},
		{"IPv6 and an escaped user agent", `2001:db8::1 - - [24/Nov/2026:10:01:02 +0000] "GET /a/b.whl HTTP/1.1" 200 1 "-" "uv/0.4 {\x22ci\x22:null, \"x\"}" "extra"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: "b.whl", Addr: "2001:db8::1", Agent: downloads.InstallerAgent}, ""},
		{"referrer without a user agent", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/b.whl HTTP/1.1" 200 1 "https://x/"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: "b.whl", Addr: "h"}, ""},
		{"unclosed user agent", `h - - [24/Nov/2026:10:01:02 +0000] "GET /a/b.whl HTTP/1.1" 200 1 "-" "pip/24.0`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: "b.whl", Addr: "h"}, ""},
		{"no address", `- - - [24/Nov/2026:10:01:02 +0000] "GET /a/b.whl HTTP/1.1" 200 1 "-" "pip/24.0"`,
			downloads.Hit{Time: at("2026-11-24T10:01:02Z"), Method: "GET", Status: 200, Filename: "b.whl", Agent: downloads.InstallerAgent}, ""},
		{"30 February", `h - - [30/Feb/2028:10:01:02 +0000] "GET / HTTP/1.1" 200 1`, downloads.Hit{}, "bad time"},
		{"month", `h - - [24/nov/2026:10:01:02 +0000] "GET / HTTP/1.1" 200 1`, downloads.Hit{}, "bad time"},
		{"no time", `h - - "GET / HTTP/1.1" 200 1`, downloads.Hit{}, "no [time]"},
		{"status", `h - - [24/Nov/2026:10:01:02 +0000] "GET / HTTP/1.1" 2x0 1`, downloads.Hit{}, "bad status"},
		{"status 000", `h - - [24/Nov/2026:10:01:02 +0000] "GET / HTTP/1.1" 000 1`, downloads.Hit{}, "bad status"},
		{"size", `h - - [24/Nov/2026:10:01:02 +0000] "GET / HTTP/1.1" 200 1x`, downloads.Hit{}, "bad size"},
		{"truncated", `h - - [24/Nov/2026:10:01:02 +0000] "GET / HTTP/1.1" 200`, downloads.Hit{}, "no status"},
		{"json", `{"timestamp":"2026-11-24T10:01:02+01:00","project":"Foo","filename":"a/foo-1.0.tar.gz","status":404,"method":"GET"}`,
			downloads.Hit{Time: at("2026-11-24T09:01:02Z"), Method: "GET", Status: 404, Project: "Foo", Filename: "foo-1.0.tar.gz"}, ""},
		{"json unix", `{"timestamp":-1.5,"url":"x.whl"}`, downloads.Hit{Time: at("1969-12-31T23:59:58.5Z"), Filename: "x.whl"}, ""},
		{"json address and user agent", `{"timestamp":1,"url":"x.whl","remote_addr":"203.0.113.9","user_agent":"pip/24.0"}`,
			downloads.Hit{Time: at("1970-01-01T00:00:01Z"), Filename: "x.whl", Addr: "203.0.113.9", Agent: downloads.InstallerAgent}, ""},
		{"json empty address and user agent", `{"timestamp":1,"url":"x.whl","remote_addr":"-","user_agent":""}`,
			downloads.Hit{Time: at("1970-01-01T00:00:01Z"), Filename: "x.whl", Agent: downloads.OtherAgent}, ""},
		{"json array", `[1]`, downloads.Hit{}, "not an access log line"},
		{"json not an object", `{"timestamp":1}x`, downloads.Hit{}, "bad JSON"},
		{"json status", `{"timestamp":1,"url":"x.whl","status":2000}`, downloads.Hit{}, `bad "status"`},
		{"json far", `{"timestamp":"0001-01-01T00:00:00+01:00","url":"x.whl"}`, downloads.Hit{}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, line := range []string{tc.line, tc.line + "\n", tc.line + "\r\n"} {
				h, err := downloads.ParseLine([]byte(line))
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("ParseLine(%q) = %+v, %v; want an error with %q", line, h, err, tc.err)
					}
					continue
				}
				if err != nil || h != tc.want {
					t.Fatalf("ParseLine(%q) =\n%+v, %v; want\n%+v", line, h, err, tc.want)
				}
			}
		})
	}
}

// impBenchLine is a typical line of nginx's combined log.
const impBenchLine = `203.0.113.9 - - [24/Nov/2026:10:01:02 +0100] "GET /files/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0/foo_bar-1.0-py3-none-any.whl HTTP/1.1" 200 51200 "-" "pip/24.0 {\x22ci\x22:null,\x22cpu\x22:\x22x86_64\x22,\x22distro\x22:{\x22name\x22:\x22Debian GNU/Linux\x22}}"` + "\n"

func BenchmarkParseCombined(b *testing.B) {
	line := []byte(impBenchLine)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := downloads.ParseCombined(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport imports a generated log of 1M lines (95% downloads of
// 1000 files of 100 projects, over 30 days; the rest HEAD, 304 and
// 404) into SQLite, and reports lines per second.
func BenchmarkImport(b *testing.B) { benchImport(b, downloads.Policy{}) }

// BenchmarkImportLimited is BenchmarkImport with serve's default policy:
// the log's 256 addresses download 100 projects over 31 days, so most
// lines are over the per-address limit, and the (address, project, day)
// triples are written to download_seen.
func BenchmarkImportLimited(b *testing.B) {
	benchImport(b, downloads.Policy{PerAddress: 1, Agents: downloads.Installers})
}

func benchImport(b *testing.B, p downloads.Policy) {
	const lines = 1_000_000
	st := storetest.Open(b, store.SQLite)
	var files []string
	for p := range 100 {
		var names []string
		for v := range 10 {
			names = append(names, fmt.Sprintf("proj_%03d-%d.0-py3-none-any.whl", p, v))
		}
		impProject(b, st, fmt.Sprintf("proj-%03d", p), names...)
		files = append(files, names...)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("", 3600))
	im := &downloads.Importer{Store: st, Policy: p}
	for b.Loop() {
		b.StopTimer()
		// Each round a new log (another first line), so that it counts.
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# round %d\n", time.Now().UnixNano())
		for i := range lines {
			status, method := 200, "GET"
			switch i % 20 {
			case 0:
				method = "HEAD"
			case 1:
				status = 304
			case 2:
				status = 404
			}
			fmt.Fprintf(&buf, `203.0.113.%d - - [%s] "%s /files/%s/%s HTTP/1.1" %d 51200 "-" "pip/24.0 {\x22ci\x22:null}"`+"\n",
				i%256, start.Add(time.Duration(i)*2592*time.Millisecond).Format("02/Jan/2006:15:04:05 -0700"),
				method, impSHA, files[(i*7919)%len(files)], status)
		}
		path := filepath.Join(b.TempDir(), "access.log")
		os.WriteFile(path, buf.Bytes(), 0o644)
		b.StartTimer()
		res, err := im.Import(context.Background(), path, downloads.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Lines != lines+1 {
			b.Fatalf("%d lines", res.Lines)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestImportLongLines: a line longer than 64 KiB is bad, and is hashed
// like any other, first line or last, complete or not.
func TestImportLongLines(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	f := newImpFixture(t, st)
	long := `{"timestamp":1795564800,"filename":"foo-1.0.tar.gz","x":"` + strings.Repeat("x", 70<<10) + `"}`
	good := `{"timestamp":1795564800,"filename":"foo-1.0.tar.gz"}` + "\n"
	path := writeLog(t, "access.log", long+"\n", good, long[:100<<10/2], strings.Repeat("y", 100<<10))
	res := f.importFile(path)
	if res.Lines != 2 || res.Bad != 1 || res.Counted != 1 || res.Partial != int64(len(long[:100<<10/2])+100<<10) ||
		len(res.BadLines) != 1 || res.BadLines[0] != "line 1: longer than 64 KiB" {
		t.Fatalf("first import: %+v", res)
	}
	os.WriteFile(path, []byte(long+"\n"+good+long+"\n"+good), 0o644)
	res = f.importFile(path)
	if res.SkippedLines != 2 || res.Lines != 2 || res.Bad != 1 || res.Counted != 1 || res.BadLines[0] != "line 3: longer than 64 KiB" {
		t.Fatalf("second import: %+v", res)
	}
	f.check(impWant{"foo", "2026-11-25", 2})
}
