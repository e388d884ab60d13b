package dist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// fuzzLimits keep each fuzz iteration cheap.
var fuzzLimits = Limits{MaxUncompressed: 1 << 20, MaxRatio: 50, MaxMembers: 1000, MaxMetadataSize: 64 << 10}

// checkUploadError checks the invariants of an error for an in-memory
// upload: it must be an *Error with a one-line message, and come alone.
func checkUploadError(t *testing.T, meta []byte, err error) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("in-memory input gave an internal error: %v", err)
	}
	if de.Msg == "" || strings.ContainsAny(de.Msg, "\r\n\x00") {
		t.Fatalf("bad message %q", de.Msg)
	}
	if meta != nil {
		t.Fatalf("got metadata %q with error %q", meta, de.Msg)
	}
}

func FuzzInspectWheel(f *testing.F) {
	f.Add(validWheel(f))
	f.Add(buildZip(f, nil, wheelEntries("demo-1.0.dist-info", "RECORD")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := InspectWheel(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", "demo", "1.0", fuzzLimits)
		meta := metadataOf(w)
		if err != nil {
			checkUploadError(t, meta, err)
			return
		}
		if int64(len(meta)) > fuzzLimits.MaxMetadataSize {
			t.Fatalf("METADATA of %d bytes exceeds the limit", len(meta))
		}
		// An accepted wheel must read back, with safe names and a METADATA
		// equal to the one returned.
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			t.Fatalf("accepted wheel does not open: %v", err)
		}
		var found bool
		for _, zf := range zr.File {
			if why := checkMemberName(zf.Name); why != "" {
				t.Fatalf("accepted member %q: %s", zf.Name, why)
			}
			if zf.Method != zip.Store && zf.Method != zip.Deflate {
				t.Fatalf("accepted method %d", zf.Method)
			}
			if !strings.EqualFold(zf.Name, "demo-1.0.dist-info/METADATA") {
				continue
			}
			found = true
			rc, err := zf.Open()
			if err != nil {
				t.Fatalf("accepted METADATA does not open: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, meta) {
				t.Fatalf("METADATA reads back as %q, %v; returned %q", got, err, meta)
			}
		}
		if !found {
			t.Fatalf("accepted wheel has no METADATA")
		}
	})
}

func FuzzInspectSdist(f *testing.F) {
	f.Add(buildSdist(f, sdistEntries()...))
	f.Add(buildSdist(f, sdistEntries(tlink(tar.TypeSymlink, "demo-1.0/l", "../x"))...))
	f.Add(buildSdist(f, sdistEntries(tdir("demo-1.0/demo/"), tfile("demo-1.0/PKG-INFO", "Name: demo\n"))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := InspectSdist(bytes.NewReader(data), int64(len(data)), "demo-1.0.tar.gz", fuzzLimits)
		meta := pkgInfoOf(sd)
		if err != nil {
			checkUploadError(t, meta, err)
			return
		}
		if meta == nil || int64(len(meta)) > fuzzLimits.MaxMetadataSize {
			t.Fatalf("bad PKG-INFO of %d bytes", len(meta))
		}
		// An accepted sdist must read back with safe members under one
		// top-level directory and a PKG-INFO equal to the one returned.
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("accepted sdist is not gzip: %v", err)
		}
		tr := tar.NewReader(zr)
		top := ""
		var pkgInfo []byte
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
				t.Fatalf("accepted sdist does not read back: %v", err)
			}
			if hdr.Typeflag == tar.TypeXGlobalHeader {
				continue
			}
			if why := checkMemberName(hdr.Name); why != "" {
				t.Fatalf("accepted member %q: %s", hdr.Name, why)
			}
			first, rest, _ := strings.Cut(strings.TrimSuffix(hdr.Name, "/"), "/")
			if top == "" {
				top = first
			} else if first != top {
				t.Fatalf("accepted second top-level directory %q", first)
			}
			switch hdr.Typeflag {
			case tar.TypeReg, tar.TypeCont, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
			default:
				t.Fatalf("accepted member type %q", hdr.Typeflag)
			}
			if rest == "PKG-INFO" {
				// The last PKG-INFO counts; it must be a regular file.
				if pkgInfo, err = io.ReadAll(tr); err != nil {
					t.Fatalf("PKG-INFO does not read back: %v", err)
				}
				if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeCont {
					pkgInfo = nil
				}
			}
		}
		if pkgInfo == nil || !bytes.Equal(pkgInfo, meta) {
			t.Fatalf("last PKG-INFO reads back as %q; returned %q", pkgInfo, meta)
		}
	})
}

func FuzzCheckMemberName(f *testing.F) {
	for _, s := range []string{"demo/__init__.py", "demo/", "../x", "a//b", `a\b`, "C:x", "/abs", "a/./b", "\xff", "é/\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if why := checkMemberName(name); why == "" {
			trimmed := strings.TrimSuffix(name, "/")
			if path.Clean(trimmed) != trimmed || !filepath.IsLocal(trimmed) || strings.Contains(name, `\`) ||
				!utf8.ValidString(name) || strings.HasPrefix(name, "/") || len(name) > maxNameLen {
				t.Fatalf("accepted unsafe name %q", name)
			}
		}
		d := display(name)
		if len(d) > maxDisplay+len("...") || !utf8.ValidString(d) {
			t.Fatalf("display(%q) = %q", name, d)
		}
		for _, r := range d {
			if !unicode.IsPrint(r) {
				t.Fatalf("display(%q) = %q contains %U", name, d, r)
			}
		}
	})
}

// FuzzCheckSymlinks compares checkSymlinks with a simulated path walk that
// follows links like a kernel would: every accepted set of links must
// resolve inside the top-level directory (or loop, which fails to extract).
// The input is a list of "name=target" lines; names are relative to the
// top-level directory "top".
func FuzzCheckSymlinks(f *testing.F) {
	f.Add("a=b\nb=c")
	f.Add("d/l1=..\nl2=d/l1/../x")
	f.Add("l=.\nm=l/l/l/..")
	f.Add("x/y=../../z")
	f.Fuzz(func(t *testing.T, spec string) {
		var links []symlink
		for line := range strings.Lines(spec) {
			name, target, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
			name = "top/" + name
			if !ok || target == "" || target[0] == '/' || checkMemberName(name) != "" ||
				strings.HasSuffix(name, "/") || len(links) == 8 {
				continue
			}
			links = append(links, symlink{name: name, target: target})
		}
		if checkSymlinks(links) != nil {
			return
		}
		byName := make(map[string]string)
		for _, l := range links {
			byName[l.name] = l.target
		}
		for _, l := range links {
			if !physicallyInside("top", byName, l) {
				t.Fatalf("accepted %q -> %q, which escapes; links %q", l.name, l.target, links)
			}
		}
	})
}

// physicallyInside walks l's target from its directory, expanding links as
// they are met, and reports whether the walk ends inside top, or loops.
func physicallyInside(top string, links map[string]string, l symlink) bool {
	queue := append(strings.Split(path.Dir(l.name), "/"), strings.Split(l.target, "/")...)
	var cur []string
	for expansions := 0; len(queue) > 0; {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return false // above the extraction directory
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, c)
		target, isLink := links[strings.Join(cur, "/")]
		if !isLink {
			continue
		}
		if expansions++; expansions > 40 {
			return true // ELOOP: extraction fails, nothing escapes
		}
		cur = cur[:len(cur)-1]
		queue = append(strings.Split(target, "/"), queue...)
	}
	return len(cur) > 0 && cur[0] == top
}

// TestWriteFuzzSeeds regenerates the seed corpus kept in testdata/fuzz. It
// only runs with DIST_WRITE_FUZZ_SEEDS=1:
//
//	DIST_WRITE_FUZZ_SEEDS=1 go test -run=TestWriteFuzzSeeds ./internal/dist/
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("DIST_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set DIST_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz seeds")
	}
	tiny := func(entries ...zipEntry) []byte { return buildZip(t, nil, entries...) }
	meta := "Name: demo\n"
	seeds := map[string]map[string]any{
		"FuzzInspectWheel": {
			"valid":            tiny(file("demo-1.0.dist-info/METADATA", meta), file("demo-1.0.dist-info/WHEEL", ""), file("demo-1.0.dist-info/RECORD", "")),
			"stored":           tiny(zipEntry{name: "demo-1.0.dist-info/METADATA", body: []byte(meta)}, zipEntry{name: "demo-1.0.dist-info/WHEEL"}, zipEntry{name: "demo-1.0.dist-info/RECORD"}),
			"normalized-name":  tiny(file("Demo-1.0.dist-info/METADATA", meta), file("Demo-1.0.dist-info/WHEEL", ""), file("Demo-1.0.dist-info/RECORD", "")),
			"missing-record":   tiny(file("demo-1.0.dist-info/METADATA", meta), file("demo-1.0.dist-info/WHEEL", "")),
			"traversal":        tiny(file("demo-1.0.dist-info/METADATA", meta), file("../x", "")),
			"duplicate":        tiny(file("demo-1.0.dist-info/METADATA", meta), file("demo-1.0.dist-info/METADATA", meta)),
			"bzip2":            tiny(zipEntry{name: "demo-1.0.dist-info/METADATA", body: []byte("BZh9"), raw: &zip.FileHeader{Method: 12, CompressedSize64: 4, UncompressedSize64: 4}}),
			"crc-zero":         tiny(zipEntry{name: "demo-1.0.dist-info/METADATA", body: []byte(meta), raw: &zip.FileHeader{CompressedSize64: uint64(len(meta)), UncompressedSize64: uint64(len(meta))}}),
			"zeros":            tiny(file("demo-1.0.dist-info/METADATA", meta), file("demo/z", strings.Repeat("\x00", 4<<20))),
			"tar-zip-polyglot": buildZip(t, buildTar(t, tfile("a", "b")), file("demo-1.0.dist-info/METADATA", meta)),
		},
		"FuzzInspectSdist": {
			"valid":          buildSdist(t, tfile("demo-1.0/PKG-INFO", meta)),
			"links":          buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), tlink(tar.TypeSymlink, "demo-1.0/a/l", "../b"), tlink(tar.TypeLink, "demo-1.0/h", "demo-1.0/PKG-INFO")),
			"link-via-link":  buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), tlink(tar.TypeSymlink, "demo-1.0/d/l1", ".."), tlink(tar.TypeSymlink, "demo-1.0/l2", "d/l1/../x")),
			"gnu-sparse":     buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), gnuSparseEntry("demo-1.0/s", "hi")),
			"pax-sparse":     buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), paxSparseEntry("demo-1.0/s", "hi")),
			"two-tops":       buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), tfile("x/PKG-INFO", meta)),
			"fifo":           buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), tarEntry{hdr: tar.Header{Name: "demo-1.0/f", Typeflag: tar.TypeFifo}}),
			"global-header":  buildSdist(t, tarEntry{hdr: tar.Header{Name: "g", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}}, tfile("demo-1.0/PKG-INFO", meta)),
			"zeros":          buildSdist(t, tfile("demo-1.0/PKG-INFO", meta), tfile("demo-1.0/z", strings.Repeat("\x00", 4<<20))),
			"trailing-data":  append(buildSdist(t, tfile("demo-1.0/PKG-INFO", meta)), "PK\x05\x06"...),
			"plain-tar":      buildTar(t, tfile("demo-1.0/PKG-INFO", meta)),
			"two-gz-members": append(gzipBytes(t, buildTar(t, tfile("demo-1.0/PKG-INFO", meta))[:512]), gzipBytes(t, buildTar(t, tfile("demo-1.0/PKG-INFO", meta))[512:])...),
		},
		"FuzzCheckMemberName": {
			"dotdot-prefix": "..foo/bar",
			"drive":         "c:/x",
			"unc":           `\\\\server\\share`,
			"bidi":          "demo/\u202egnp.py",
			"nul":           "a\x00b",
		},
		"FuzzCheckSymlinks": {
			"via-link":      "d/l1=..\nl2=d/l1/../x",
			"chain":         "a=b\nb=c/..\nc/d=../..",
			"loop":          "a=a/..",
			"self-and-back": "s=.\nt=s/s/../..",
			"sibling":       "x/y=../z\nz=x",
		},
	}
	for fuzzer, corpus := range seeds {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, v := range corpus {
			var content string
			switch v := v.(type) {
			case []byte:
				content = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", v)
			case string:
				content = fmt.Sprintf("go test fuzz v1\nstring(%q)\n", v)
			}
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzZipWalk checks that the framing check never panics, refuses only
// with one-line *Error messages, and reads a bounded multiple of the file:
// the end records' 64 KiB window, the central directory once as zipfile
// reads it and every record once more in the walk.
func FuzzZipWalk(f *testing.F) {
	for _, fx := range confusionFixtures() {
		f.Add(fx.data())
	}
	f.Add(validWheel(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		cr := &countingReaderAt{r: bytes.NewReader(data)}
		err := checkZipFraming(cr, size, fuzzLimits.MaxMembers)
		if err != nil {
			checkUploadError(t, nil, err)
		}
		if limit := 3*size + 2*(1<<16+zipEOCDLen) + 2*copyBufferSize; cr.n > limit {
			t.Fatalf("read %d bytes of a %d-byte file (limit %d)", cr.n, size, limit)
		}
		if err != nil {
			return
		}
		// An archive the walk accepts opens in archive/zip with the same
		// members, in the same order, each at its local header.
		zr, err := zip.NewReader(bytes.NewReader(data), size)
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			t.Fatalf("accepted archive does not open: %v", err)
		}
		seen := make(map[string]bool)
		for _, zf := range zr.File {
			if seen[zf.Name] {
				t.Fatalf("accepted duplicate %q", zf.Name)
			}
			seen[zf.Name] = true
			if zf.Flags&flagDataDescriptor != 0 {
				t.Fatalf("accepted data descriptor in %q", zf.Name)
			}
		}
	})
}

// FuzzRecord checks the RECORD parser and comparison: no panic, paths
// without backslashes, one-line problems naming RECORD.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(goodRecord()))
	f.Add([]byte("\ufeffdemo/__init__.py,sha256=,1\r\n\"a,b\",\"sha256=x\"\"\",\n\n" + `demo\x.py,,` + "\x1c\u2028"))
	f.Add([]byte("demo-1.0.dist-info/RECORD.jws,,\ndemo/,,\n\"unterminated"))
	members := func() map[string]*memberDigest {
		m := map[string]*memberDigest{}
		for _, e := range wheelEntries("demo-1.0.dist-info") {
			d := &memberDigest{sha256: sha256.Sum256(e.body), size: int64(len(e.body))}
			m[e.name] = d
		}
		return m
	}
	order := []string{"demo/__init__.py", "demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/WHEEL", "demo-1.0.dist-info/RECORD"}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseRecord(data, func(r recordRow) bool {
			if strings.Contains(r.path, `\`) {
				t.Fatalf("path %q keeps a backslash", r.path)
			}
			return true
		})
		problem, ok := checkRecord(data, members(), order, "demo-1.0.dist-info")
		if !ok && problem != "" {
			t.Fatalf("unreadable RECORD with a problem %q", problem)
		}
		if problem != "" && (!strings.HasPrefix(problem, "RECORD ") || strings.ContainsAny(problem, "\r\n\x00")) {
			t.Fatalf("bad problem %q", problem)
		}
	})
}

// BenchmarkZipWalk walks a realistic wheel: pip's from Debian (1.7 MB,
// 500 members) when present, else a generated one of 500 members.
func BenchmarkZipWalk(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(systemWheelDir, "pip-23.0.1-py3-none-any.whl"))
	if err != nil {
		var entries []zipEntry
		for i := range 500 {
			entries = append(entries, file(fmt.Sprintf("demo/module_%03d.py", i), strings.Repeat("x = 1\n", 200)))
		}
		data = validWheel(b, entries...)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := checkZipFraming(bytes.NewReader(data), int64(len(data)), DefaultMaxMembers); err != nil {
			b.Fatal(err)
		}
	}
}
