package dist

import (
	"archive/zip"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const systemWheelDir = "/usr/share/python-wheels"

// systemWheels returns the wheels shipped by the OS. It skips the test if
// the directory is missing, unless CI=true, where the wheels must be there.
func systemWheels(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(systemWheelDir); err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("%s not available: %v", systemWheelDir, err)
		}
		t.Fatalf("%s not available under CI=true: %v", systemWheelDir, err)
	}
	paths, err := filepath.Glob(filepath.Join(systemWheelDir, "*.whl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no wheels in %s", systemWheelDir)
	}
	return paths
}

func TestInspectWheel(t *testing.T) {
	const filename = "demo-1.0-py3-none-any.whl"
	tests := []struct {
		name     string
		filename string // default: filename
		build    func(t *testing.T) []byte
		load     func(t *testing.T) (data []byte, filename string) // instead of build and filename
		lim      Limits
		wantErr  string  // exact *Error message; "" for success
		wantMeta string  // substring of the returned METADATA
		maxRead  float64 // if set, the largest fraction of the file that may be read
	}{
		{
			name:     "valid wheel",
			build:    func(t *testing.T) []byte { return validWheel(t) },
			wantMeta: testMetadata,
		},
		{
			name: "valid wheel with stored members and directory entries",
			build: func(t *testing.T) []byte {
				return buildZip(t, nil,
					zipEntry{name: "demo/", method: zip.Store},
					zipEntry{name: "demo/__init__.py", body: []byte(testModule), method: zip.Store},
					zipEntry{name: "demo-1.0.dist-info/", method: zip.Store},
					zipEntry{name: "demo-1.0.dist-info/METADATA", body: []byte(testMetadata), method: zip.Store},
					file("demo-1.0.dist-info/WHEEL", testWheel),
					file("demo-1.0.dist-info/RECORD", ""),
				)
			},
			wantMeta: testMetadata,
		},
		{
			name:     "dist-info name differs in case",
			build:    func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("Demo-1.0.dist-info")...) },
			wantMeta: testMetadata,
		},
		{
			name:     "dist-info uses the normalized name",
			filename: "Demo.Pkg-1.0-py3-none-any.whl",
			build:    func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("demo_pkg-1.0.dist-info")...) },
			wantMeta: testMetadata,
		},
		{
			name: "empty METADATA",
			build: func(t *testing.T) []byte {
				return buildZip(t, nil, append(wheelEntries("demo-1.0.dist-info", "METADATA"), file("demo-1.0.dist-info/METADATA", ""))...)
			},
			wantMeta: "",
		},
		{
			name: "real wheel from " + systemWheelDir,
			load: func(t *testing.T) ([]byte, string) {
				p := systemWheels(t)[0]
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				return data, filepath.Base(p)
			},
			wantMeta: "Metadata-Version: ",
		},
		{
			name:    "without METADATA",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("demo-1.0.dist-info", "METADATA")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: demo-1.0.dist-info/METADATA",
		},
		{
			name:    "without WHEEL",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("demo-1.0.dist-info", "WHEEL")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required WHEEL file: demo-1.0.dist-info/WHEEL",
		},
		{
			name:    "without RECORD",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("demo-1.0.dist-info", "RECORD")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required RECORD file: demo-1.0.dist-info/RECORD",
		},
		{
			name: "METADATA is a directory",
			build: func(t *testing.T) []byte {
				return buildZip(t, nil, append(wheelEntries("demo-1.0.dist-info", "METADATA"), file("demo-1.0.dist-info/METADATA/", ""))...)
			},
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: demo-1.0.dist-info/METADATA",
		},
		{
			name:    "dist-info for another name",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("other-1.0.dist-info")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: demo-1.0.dist-info/METADATA",
		},
		{
			name:    "dist-info for another version",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("demo-2.0.dist-info")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: demo-1.0.dist-info/METADATA",
		},
		{
			name:    "dist-info not at the top level",
			build:   func(t *testing.T) []byte { return buildZip(t, nil, wheelEntries("sub/demo-1.0.dist-info")...) },
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required METADATA file: demo-1.0.dist-info/METADATA",
		},
		{
			name: "two matching dist-info directories",
			build: func(t *testing.T) []byte {
				return buildZip(t, nil, append(wheelEntries("demo-1.0.dist-info"), wheelEntries("DEMO-1.0.dist-info")[1:]...)...)
			},
			wantErr: "Wheel 'demo-1.0-py3-none-any.whl' contains more than one matching .dist-info directory: 'demo-1.0.dist-info' and 'DEMO-1.0.dist-info'",
		},
		{
			name: "bzip2 member",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/data.bin", body: []byte("BZh91AY&SY"), raw: &zip.FileHeader{Method: 12, CompressedSize64: 10, UncompressedSize64: 10}})
			},
			wantErr: "File does not use a supported compression type",
		},
		{
			name: "LZMA member",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/data.bin", body: []byte("\x09\x14\x05\x00]\x00\x00\x80\x00"), raw: &zip.FileHeader{Method: 14, CompressedSize64: 9, UncompressedSize64: 100}})
			},
			wantErr: "File does not use a supported compression type",
		},
		{
			name: "encrypted member",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/secret.py", body: []byte("0123456789ab"), raw: &zip.FileHeader{Method: zip.Store, Flags: 0x1, CompressedSize64: 12, UncompressedSize64: 0}})
			},
			wantErr: "Zip file contains an encrypted member: 'demo/secret.py'",
		},
		{
			name: "symbolic link (Unix mode S_IFLNK)",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/passwd", body: []byte("/etc/passwd"), method: zip.Store, attrs: 0o120777 << 16, creator: 3})
			},
			wantErr: "Zip file contains a symbolic link: 'demo/passwd'",
		},
		{
			name: "symbolic link made on another host system",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/up", body: []byte("../../x"), method: zip.Store, attrs: 0o120777 << 16})
			},
			wantErr: "Zip file contains a symbolic link: 'demo/up'",
		},
		{
			name: "FIFO",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/fifo", method: zip.Store, attrs: 0o010644 << 16, creator: 3})
			},
			wantErr: "Zip file contains a device, FIFO or socket member: 'demo/fifo'",
		},
		{
			name: "regular files and folders with Unix modes",
			build: func(t *testing.T) []byte {
				return validWheel(t,
					zipEntry{name: "demo/bin/", method: zip.Store, attrs: 0o040755 << 16, creator: 3},
					zipEntry{name: "demo/bin/run", body: []byte("#!/bin/sh\n"), method: zip.Deflate, attrs: 0o100755 << 16, creator: 3},
					zipEntry{name: "demo/dos.py", body: []byte("x = 1\n"), method: zip.Deflate, attrs: 0x20})
			},
			wantMeta: testMetadata,
		},
		{
			name:    "zip bomb",
			build:   func(t *testing.T) []byte { return bombWheel(t, bombSize) },
			wantErr: "File is a zip bomb",
			maxRead: 0.5,
		},
		{
			name:    "zip bomb with understated sizes",
			build:   func(t *testing.T) []byte { return bombWheel(t, 1<<20) },
			wantErr: "Zip file member 'demo/bomb.bin' is corrupt",
			maxRead: 0.5,
		},
		{
			name:    "zip bomb with a lower ratio limit",
			build:   func(t *testing.T) []byte { return validWheel(t, file("demo/zeros.bin", strings.Repeat("\x00", 1<<20))) },
			lim:     Limits{MaxUncompressed: 1 << 10, MaxRatio: 10},
			wantErr: "File is a zip bomb",
		},
		{
			name:     "highly compressible but below MaxUncompressed",
			build:    func(t *testing.T) []byte { return validWheel(t, file("demo/zeros.bin", strings.Repeat("\x00", 1<<20))) },
			wantMeta: testMetadata,
		},
		{
			name:    "path traversal member",
			build:   func(t *testing.T) []byte { return validWheel(t, file("demo/../../evil.py", "")) },
			wantErr: "Zip file contains a member with an invalid path (path traversal): 'demo/../../evil.py'",
		},
		{
			name:    "absolute member path",
			build:   func(t *testing.T) []byte { return validWheel(t, file("/etc/evil.py", "")) },
			wantErr: "Zip file contains a member with an invalid path (absolute path): '/etc/evil.py'",
		},
		{
			name:    "drive letter member path",
			build:   func(t *testing.T) []byte { return validWheel(t, file("C:/evil.py", "")) },
			wantErr: "Zip file contains a member with an invalid path (absolute path): 'C:/evil.py'",
		},
		{
			name:    "backslash in member path",
			build:   func(t *testing.T) []byte { return validWheel(t, file(`demo\..\evil.py`, "")) },
			wantErr: `Zip file contains a member with an invalid path (backslash in name): 'demo\..\evil.py'`,
		},
		{
			name:    "control characters in member path are not echoed",
			build:   func(t *testing.T) []byte { return validWheel(t, file("demo/../x\r\nSet-Cookie: a", "")) },
			wantErr: zipNotAccepted("Invalid character in filename"),
		},
		{
			name:    "duplicate member",
			build:   func(t *testing.T) []byte { return validWheel(t, file("demo/__init__.py", testModule)) },
			wantErr: zipNotAccepted("Duplicate filename in local headers"),
		},
		{
			name:    "duplicate member with another content",
			build:   func(t *testing.T) []byte { return validWheel(t, file("demo/__init__.py", "import os\n")) },
			wantErr: zipNotAccepted("Mis-matched data size"),
		},
		{
			name:    "too many members",
			build:   func(t *testing.T) []byte { return validWheel(t) },
			lim:     Limits{MaxMembers: 3},
			wantErr: "Zip file contains too many members (more than 3)",
		},
		{
			name: "tar-and-zip polyglot",
			build: func(t *testing.T) []byte {
				tarPart := buildTar(t, tfile("demo/__init__.py", "import os\n"))
				return buildZip(t, tarPart, wheelEntries("demo-1.0.dist-info")...)
			},
			wantErr: "File is both a zip and a tar file",
		},
		{
			name:    "plain tar",
			build:   func(t *testing.T) []byte { return buildTar(t, tfile("demo/__init__.py", "import os\n")) },
			wantErr: "File is not a zipfile",
		},
		{
			name: "truncated zip",
			build: func(t *testing.T) []byte {
				w := validWheel(t)
				return w[:len(w)-40]
			},
			wantErr: "File is not a zipfile",
		},
		{
			name:    "empty file",
			build:   func(t *testing.T) []byte { return nil },
			wantErr: "File is not a zipfile",
		},
		{
			name: "corrupt member data",
			build: func(t *testing.T) []byte {
				w := validWheel(t, zipEntry{name: "demo/data.txt", body: []byte("some stored data"), method: zip.Store})
				i := bytes.Index(w, []byte("some stored data"))
				w[i] = 'S'
				return w
			},
			wantErr: "Zip file member 'demo/data.txt' is corrupt (CRC-32 mismatch)",
		},
		{
			name: "corrupt member with CRC-32 declared as zero",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/data.txt", body: []byte("data"), raw: &zip.FileHeader{Method: zip.Store, CRC32: 0, CompressedSize64: 4, UncompressedSize64: 4}})
			},
			wantErr: "Zip file member 'demo/data.txt' is corrupt (CRC-32 mismatch)",
		},
		{
			name: "corrupt deflate data",
			build: func(t *testing.T) []byte {
				return validWheel(t, zipEntry{name: "demo/data.txt", body: []byte("\xff\xff\xff\xff"), raw: &zip.FileHeader{Method: zip.Deflate, CompressedSize64: 4, UncompressedSize64: 4}})
			},
			wantErr: "Zip file member 'demo/data.txt' is corrupt",
		},
		{
			name:    "METADATA too large",
			build:   func(t *testing.T) []byte { return validWheel(t) },
			lim:     Limits{MaxMetadataSize: 10},
			wantErr: fmt.Sprintf("Wheel 'demo-1.0-py3-none-any.whl' METADATA file is too large (%d bytes, limit 10)", len(testMetadata)),
		},
		{
			name:     "invalid filename",
			filename: "demo.whl",
			build:    func(t *testing.T) []byte { return validWheel(t) },
			wantErr:  "Invalid wheel filename 'demo.whl'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data []byte
			fn := cmp.Or(tt.filename, filename)
			if tt.load != nil {
				data, fn = tt.load(t)
			} else {
				data = tt.build(t)
			}
			name, version := splitWheelName(fn)
			cr := &countingReaderAt{r: bytes.NewReader(data)}
			w, err := InspectWheel(cr, int64(len(data)), fn, name, version, tt.lim)
			checkResult(t, metadataOf(w), err, tt.wantErr, tt.wantMeta)
			if tt.maxRead > 0 {
				t.Logf("read %d of %d bytes", cr.n, len(data))
				if float64(cr.n) > tt.maxRead*float64(len(data)) {
					t.Errorf("read %d of %d bytes; want at most %.0f%%", cr.n, len(data), 100*tt.maxRead)
				}
			}
		})
	}
}

// checkResult compares the outcome of an inspection with the expected *Error
// message (exactly) or metadata (as a substring).
func checkResult(t *testing.T, meta []byte, err error, wantErr, wantMeta string) {
	t.Helper()
	if wantErr != "" {
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("got error %v (%T), metadata %.40q; want *Error %q", err, err, meta, wantErr)
		}
		if de.Msg != wantErr {
			t.Fatalf("got error\n\t%q\nwant\n\t%q", de.Msg, wantErr)
		}
		if meta != nil {
			t.Errorf("got metadata %q with an error", meta)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if meta == nil {
		t.Fatalf("got nil metadata")
	}
	if !bytes.Contains(meta, []byte(wantMeta)) {
		t.Errorf("metadata %q does not contain %q", meta, wantMeta)
	}
}

// TestInspectWheelSystemWheels inspects every wheel the OS ships.
func TestInspectWheelSystemWheels(t *testing.T) {
	for _, p := range systemWheels(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			name, version := splitWheelName(filepath.Base(p))
			w, err := InspectWheel(f, fi.Size(), filepath.Base(p), name, version, Limits{})
			if err != nil {
				t.Fatalf("InspectWheel: %v", err)
			}
			if w.RecordProblem != "" {
				t.Errorf("RECORD problem in a real wheel: %s", w.RecordProblem)
			}
			meta := w.Metadata
			if want := "\nName: " + name + "\n"; !bytes.Contains(meta, []byte(want)) {
				t.Errorf("METADATA does not contain %q:\n%.300s", want, meta)
			}
			if want := "\nVersion: " + version + "\n"; !bytes.Contains(meta, []byte(want)) {
				t.Errorf("METADATA does not contain %q:\n%.300s", want, meta)
			}
		})
	}
}

// TestWheelStreamingBombGuard checks the bomb guard applied while
// decompressing, which archive/zip's own size checks and the declared-size
// pass normally make redundant: it must stop long before the end of the
// member.
func TestWheelStreamingBombGuard(t *testing.T) {
	data := bombWheel(t, bombSize)
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	zr, err := zip.NewReader(cr, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	before := cr.n
	m := &meter{limit: Limits{}.withDefaults().bombThreshold(int64(len(data)))}
	_, err = readZipMembers(zr.File, nil, nil, m)
	var de *Error
	if !errors.As(err, &de) || de.Msg != wheelBombMsg {
		t.Fatalf("got %v; want %q", err, wheelBombMsg)
	}
	read := cr.n - before
	t.Logf("read %d of %d compressed bytes, decompressed %d bytes", read, len(data), m.n)
	if read > int64(len(data))/2 {
		t.Errorf("read %d of %d compressed bytes; want at most half", read, len(data))
	}
	if m.n > DefaultMaxUncompressed+copyBufferSize {
		t.Errorf("decompressed %d bytes; want at most %d", m.n, DefaultMaxUncompressed+copyBufferSize)
	}
}

// TestInspectWheelReadError checks that a failing reader is an internal
// error, not an *Error blaming the upload.
func TestInspectWheelReadError(t *testing.T) {
	data := validWheel(t)
	for _, limit := range []int64{0, 100, int64(len(data)) - 30} {
		t.Run(fmt.Sprint("fail after ", limit), func(t *testing.T) {
			r := failingReaderAt{r: bytes.NewReader(data), limit: limit}
			_, err := InspectWheel(r, int64(len(data)), "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{})
			if !errors.Is(err, errDisk) {
				t.Fatalf("got %v; want an error wrapping %v", err, errDisk)
			}
			var de *Error
			if errors.As(err, &de) {
				t.Fatalf("got *Error %q for a read failure", de.Msg)
			}
		})
	}
}

func TestInspectWheelInvalidArguments(t *testing.T) {
	data := validWheel(t)
	tests := []struct {
		name string
		r    io.ReaderAt
		size int64
	}{
		{"nil reader", nil, 10},
		{"negative size", bytes.NewReader(nil), -1},
		{"size larger than the file", bytes.NewReader(data), int64(len(data)) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := InspectWheel(tt.r, tt.size, "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{})
			var de *Error
			if err == nil || errors.As(err, &de) {
				t.Fatalf("got %v; want an internal error", err)
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"demo", "demo"},
		{"Demo.Pkg", "demo_pkg"},
		{"foo--bar__baz..qux", "foo_bar_baz_qux"},
		{"Foo-_.Bar", "foo_bar"},
		{"A", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normalizeName(tt.in); got != tt.want {
				t.Errorf("normalizeName(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckMemberName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"demo/__init__.py", ""},
		{"demo/", ""},
		{"a.txt", ""},
		{"..foo/bar", ""},
		{"", "empty name"},
		{"../x", "path traversal"},
		{"a/../../x", "path traversal"},
		{"a/..", "path traversal"},
		{"/abs", "absolute path"},
		{"c:x", "absolute path"},
		{`a\b`, "backslash in name"},
		{"a//b", "non-canonical path"},
		{"./a", "non-canonical path"},
		{"a/./b", "non-canonical path"},
		{"a//", "non-canonical path"},
		{"a\x00b", "NUL byte in name"},
		{"a\xffb", "name is not valid UTF-8"},
		{strings.Repeat("a", maxNameLen+1), "name too long"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.name), func(t *testing.T) {
			if got := checkMemberName(tt.name); got != tt.want {
				t.Errorf("checkMemberName(%q) = %q; want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestLimitsBombThreshold(t *testing.T) {
	tests := []struct {
		name string
		lim  Limits
		size int64
		want int64
	}{
		{"defaults, small file", Limits{}, 1 << 20, DefaultMaxUncompressed},
		{"defaults, large file", Limits{}, 10 << 20, 500 << 20},
		{"custom", Limits{MaxUncompressed: 100, MaxRatio: 2}, 80, 160},
		{"overflow saturates", Limits{MaxRatio: 1 << 40}, 1 << 40, 1<<63 - 1},
		{"negative limits mean defaults", Limits{MaxUncompressed: -1, MaxRatio: -5}, 1, DefaultMaxUncompressed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.lim.withDefaults().bombThreshold(tt.size); got != tt.want {
				t.Errorf("bombThreshold(%d) = %d; want %d", tt.size, got, tt.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct{ in, want string }{
		{"demo-1.0.tar.gz", "demo-1.0.tar.gz"},
		{"a\nb\tc\x00", "a?b?c?"},
		{"caf\xe9", "caf?"},
		{"café", "café"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "..."},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.in), func(t *testing.T) {
			if got := display(tt.in); got != tt.want {
				t.Errorf("display(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// benchWheel returns a wheel of demo 1.0 of roughly size bytes: its extra
// members alternate incompressible data, which makes up the size, and as much
// highly compressible source code.
func benchWheel(b *testing.B, size int) []byte {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var extra []zipEntry
	const chunk = 256 << 10
	for i := 0; size > 0; i++ {
		n := min(size, chunk)
		random := make([]byte, n)
		for j := range random {
			random[j] = byte(rng.UintN(256))
		}
		text := []byte(strings.Repeat(testModule, n/len(testModule)+1)[:n])
		extra = append(extra,
			zipEntry{name: fmt.Sprintf("demo/data%03d.bin", i), body: random, method: zip.Deflate},
			zipEntry{name: fmt.Sprintf("demo/mod%03d.py", i), body: text, method: zip.Deflate})
		size -= n
	}
	return validWheel(b, extra...)
}

func BenchmarkInspectWheel(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{
		{"small", 4 << 10},
		{"5MiB", 5 << 20},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := benchWheel(b, bc.size)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := InspectWheel(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestInspectWheelLongDirectory: a central directory longer than the
// framing check's read buffer, so that some record's name starts a new
// buffer after its fixed part was read from the last (the walk once read
// that part after its buffer was refilled, and refused wheels of a few
// thousand members with "Mis-matched local header offset").
func TestInspectWheelLongDirectory(t *testing.T) {
	t.Parallel()
	entries := wheelEntries("demo-1.0.dist-info")
	for i := range 3000 {
		entries = append(entries, zipEntry{name: fmt.Sprintf("demo/sub/module_%d.py", i), body: []byte(testModule), method: zip.Store})
	}
	data := buildZip(t, nil, entries...)
	if dirLen := 3000 * (46 + len("demo/sub/module_1000.py")); dirLen < 4*copyBufferSize {
		t.Fatalf("the central directory (some %d bytes) spans too few read buffers", dirLen)
	}
	w, err := InspectWheel(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{})
	checkResult(t, metadataOf(w), err, "", testMetadata)
}

// TestInspectWheelMemberLimit: a wheel of exactly MaxMembers members is
// accepted and one more is refused, at a small limit and at the default,
// whatever part of the central directory archive/zip reads twice (its
// end, read once to find the end record).
func TestInspectWheelMemberLimit(t *testing.T) {
	t.Parallel()
	const filename = "demo-1.0-py3-none-any.whl"
	tests := []struct {
		limit, members int
		wantErr        string
	}{
		{limit: 100, members: 100},
		{limit: 100, members: 101, wantErr: "Zip file contains too many members (more than 100)"},
		{limit: DefaultMaxMembers, members: 99_993},
		{limit: DefaultMaxMembers, members: DefaultMaxMembers},
		{limit: DefaultMaxMembers, members: DefaultMaxMembers + 1, wantErr: "Zip file contains too many members (more than 100000)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d", tt.members, tt.limit), func(t *testing.T) {
			t.Parallel()
			entries := wheelEntries("demo-1.0.dist-info")
			for i := len(entries); i < tt.members; i++ {
				entries = append(entries, zipEntry{name: "demo/" + strconv.Itoa(i), method: zip.Store})
			}
			data := buildZip(t, nil, entries...)
			w, err := InspectWheel(bytes.NewReader(data), int64(len(data)), filename, "demo", "1.0", Limits{MaxMembers: tt.limit})
			want := ""
			if tt.wantErr == "" {
				want = testMetadata
			}
			checkResult(t, metadataOf(w), err, tt.wantErr, want)
		})
	}
}
