package downloads_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/downloads"
)

// FuzzParseLine checks that no line makes the parser panic, and that a
// parsed line keeps these promises: the line end does not matter; a line
// starting with '{' is JSON; the time is UTC, in the years 1 to 9999, and
// (in the combined format) what time.Parse reads in the brackets; the
// status is 0 (JSON only) or 100 to 999; the file name has no '/';
// a combined line always has a method, its client address is its first
// field ("-": none), and a user agent only after a referrer.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		impBenchLine,
		`203.0.113.9 - alice [24/Nov/2026:10:01:02 +0100] "GET /files/ab/foo-1.0.tar.gz HTTP/1.1" 200 5120 "https://x/" "pip/24.0"`,
		`203.0.113.9 - - [01/Jan/2027:00:00:00 -1130] "GET /a/b.whl?x=1#y HTTP/1.0" 200 -`,
		`h - - [24/Nov/2026:10:01:02 +0000] "GET /a/x\"y%2Fz.whl HTTP/1.1" 200 1 "-" "-"`,
		`h - - [29/Feb/2028:10:01:02 +0000] "\x16\x03\x01" 400 0 "-" "-"`,
		`h - - [31/Dec/9999:23:59:59 -2359] "GET /%e2%82%ac.whl HTTP/1.1" 200 1`,
		`h - - [01/Jan/0001:00:00:00 +2359] "HEAD / HTTP/1.1" 000 1`,
		`{"timestamp":"2026-11-24T10:01:02+01:00","project":"Foo","filename":"a/foo-1.0.tar.gz","status":404,"method":"GET"}`,
		`{"timestamp":-1.5,"url":"http://h/x.whl?q"}`,
		`{"timestamp":1e300,"url":"x.whl"}`,
		`{"timestamp":"0001-01-01T00:00:00+01:00","url":"x.whl"}`,
		`  {"timestamp":1795564800,"filename":"x.whl","status":"200"}`,
		`{"timestamp":null,"filename":null}`,
		`{"timestamp":1,"url":"x.whl","remote_addr":"2001:db8::1","user_agent":"uv/0.4"}`,
		`- - - [24/Nov/2026:10:01:02 +0000] "GET /a.whl HTTP/1.1" 200 1 "-" "pip/24.0 {\x22ci\x22:null}" "x"`,
		`h - - [24/Nov/2026:10:01:02 +0000] "GET /a.whl HTTP/1.1" 200 1 "r\"" "\"`,
		`h - - [24/Nov/2026:10:01:02 +0000] "GET /a.whl HTTP/1.1" 200 1 "r" `,
		"",
		"-",
		"this is not a log line",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := downloads.ParseLine(line)
		if !bytes.HasSuffix(line, []byte("\n")) && !bytes.HasSuffix(line, []byte("\r")) {
			for _, eol := range []string{"\n", "\r\n"} {
				h2, err2 := downloads.ParseLine(append(bytes.Clone(line), eol...))
				if (err == nil) != (err2 == nil) || h != h2 {
					t.Fatalf("with %q at the end: %+v, %v; without: %+v, %v", eol, h2, err2, h, err)
				}
			}
		}
		isJSON := bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("{"))
		if isJSON {
			h2, err2 := downloads.ParseJSON(line)
			if (err == nil) != (err2 == nil) || h != h2 {
				t.Fatalf("ParseLine = %+v, %v; ParseJSON = %+v, %v", h, err, h2, err2)
			}
		}
		if err != nil {
			if h != (downloads.Hit{}) {
				t.Fatalf("an error with a hit: %+v, %v", h, err)
			}
			return
		}
		if h.Time.Location() != time.UTC || h.Time.Year() < 1 || h.Time.Year() > 9999 {
			t.Fatalf("time %v", h.Time)
		}
		if (h.Status != 0 || !isJSON) && (h.Status < 100 || h.Status > 999) {
			t.Fatalf("status %d", h.Status)
		}
		if strings.Contains(h.Filename, "/") {
			t.Fatalf("file name %q", h.Filename)
		}
		if isJSON {
			return
		}
		if h.Method == "" || h.Project != "" {
			t.Fatalf("combined line with method %q, project %q", h.Method, h.Project)
		}
		addr, rest, _ := bytes.Cut(line, []byte(" "))
		if string(addr) == "-" && h.Addr != "" || string(addr) != "-" && h.Addr != string(addr) {
			t.Fatalf("address %q of a line starting with %q", h.Addr, addr)
		}
		if h.Agent != downloads.NoUserAgent && !bytes.Contains(line, []byte(`" "`)) {
			t.Fatalf("user agent of kind %d in a line without a referrer and a user agent", h.Agent)
		}
		i := bytes.Index(rest, []byte(" ["))
		want, perr := time.Parse("02/Jan/2006:15:04:05 -0700", string(rest[i+2:i+28]))
		if perr != nil || !want.Equal(h.Time) {
			t.Fatalf("time %v; time.Parse reads %v, %v", h.Time, want, perr)
		}
	})
}
