package dist

import (
	"archive/tar"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestInspectSdist(t *testing.T) {
	const filename = "demo-1.0.tar.gz"
	tests := []struct {
		name     string
		filename string // default: filename
		build    func(t *testing.T) []byte
		lim      Limits
		wantErr  string  // exact *Error message; "" for success
		maxRead  float64 // if set, the largest fraction of the file that may be read
		wantMeta *string // PKG-INFO on success; nil means testPKGInfo
	}{
		{
			name:  "valid sdist",
			build: func(t *testing.T) []byte { return buildSdist(t, sdistEntries()...) },
		},
		{
			name: "valid sdist without directory entries",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tfile("demo-1.0/PKG-INFO", testPKGInfo), tfile("demo-1.0/src/demo.py", testModule))
			},
		},
		{
			name: "valid sdist with links inside the top-level directory",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/demo/alias.py", "__init__.py"),
					tlink(tar.TypeSymlink, "demo-1.0/demo/up", "../setup.py"),
					tlink(tar.TypeSymlink, "demo-1.0/docs", "demo"),
					tlink(tar.TypeSymlink, "demo-1.0/self", "."),
					tlink(tar.TypeSymlink, "demo-1.0/demo/sub/deep", "../../demo/./x/../__init__.py"),
					tlink(tar.TypeLink, "demo-1.0/demo/copy.py", "demo-1.0/demo/__init__.py"),
				)...)
			},
		},
		{
			name: "valid sdist with a git archive global header",
			build: func(t *testing.T) []byte {
				gh := tarEntry{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader,
					PAXRecords: map[string]string{"comment": "0123456789abcdef0123456789abcdef01234567"}}}
				return buildSdist(t, append([]tarEntry{gh}, sdistEntries()...)...)
			},
		},
		{
			name: "valid sdist in several gzip members",
			build: func(t *testing.T) []byte {
				tb := buildTar(t, sdistEntries()...)
				return append(gzipBytes(t, tb[:1024]), gzipBytes(t, tb[1024:])...)
			},
		},
		{
			name:     "uppercase extension",
			filename: "demo-1.0.TAR.GZ",
			build:    func(t *testing.T) []byte { return buildSdist(t, sdistEntries()...) },
		},
		{
			name: "empty PKG-INFO",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tfile("demo-1.0/PKG-INFO", ""))
			},
			wantMeta: new(""),
		},
		{
			name: "two top-level folders",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("other-1.0/PKG-INFO", testPKGInfo))...)
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' must contain exactly one top-level directory, found 'demo-1.0' and 'other-1.0'",
		},
		{
			name: "top-level file",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tfile("PKG-INFO", testPKGInfo), tfile("setup.py", ""))
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' must contain exactly one top-level directory, but 'PKG-INFO' is not a directory",
		},
		{
			name: "top-level symlink",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tlink(tar.TypeSymlink, "demo-1.0", "/etc"), tfile("demo-1.0/PKG-INFO", testPKGInfo))
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' must contain exactly one top-level directory, but 'demo-1.0' is not a directory",
		},
		{
			name: "no PKG-INFO",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tdir("demo-1.0/"), tfile("demo-1.0/setup.py", ""))
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' does not contain the required PKG-INFO file: demo-1.0/PKG-INFO",
		},
		{
			name: "PKG-INFO only in a subfolder",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tdir("demo-1.0/"), tfile("demo-1.0/src/PKG-INFO", testPKGInfo))
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' does not contain the required PKG-INFO file: demo-1.0/PKG-INFO",
		},
		{
			name: "PKG-INFO is a symlink",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tfile("demo-1.0/setup.py", ""), tlink(tar.TypeSymlink, "demo-1.0/PKG-INFO", "setup.py"))
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' PKG-INFO is not a regular file: demo-1.0/PKG-INFO",
		},
		{
			name:    "PKG-INFO too large",
			build:   func(t *testing.T) []byte { return buildSdist(t, sdistEntries()...) },
			lim:     Limits{MaxMetadataSize: 8},
			wantErr: fmt.Sprintf("Sdist 'demo-1.0.tar.gz' PKG-INFO file is too large (%d bytes, limit 8)", len(testPKGInfo)),
		},
		{
			name:    "empty archive",
			build:   func(t *testing.T) []byte { return buildSdist(t) },
			wantErr: "Sdist 'demo-1.0.tar.gz' does not contain a top-level directory",
		},
		{
			name:    "plain tar without gzip",
			build:   func(t *testing.T) []byte { return buildTar(t, sdistEntries()...) },
			wantErr: "File is an uncompressed tar archive; source distributions must be gzip-compressed (.tar.gz)",
		},
		{
			name:    "zip file",
			build:   func(t *testing.T) []byte { return validWheel(t) },
			wantErr: "File is a zip file, not a gzip-compressed tar archive (.tar.gz)",
		},
		{
			name:    "bzip2 file",
			build:   func(t *testing.T) []byte { return []byte("BZh91AY&SY") },
			wantErr: "File is bzip2-compressed; source distributions must be gzip-compressed (.tar.gz)",
		},
		{
			name:    "empty file",
			build:   func(t *testing.T) []byte { return nil },
			wantErr: "File is not a gzip-compressed tar archive (.tar.gz)",
		},
		{
			name:    "gzip without tar",
			build:   func(t *testing.T) []byte { return gzipBytes(t, []byte(strings.Repeat("not a tar file\n", 100))) },
			wantErr: "File is gzip-compressed but does not contain a tar archive",
		},
		{
			name:    "invalid gzip header",
			build:   func(t *testing.T) []byte { return []byte("\x1f\x8b\x09\x00garbage") },
			wantErr: "File is not a valid gzip file",
		},
		{
			name: "truncated gzip",
			build: func(t *testing.T) []byte {
				s := buildSdist(t, sdistEntries()...)
				return s[:len(s)-20]
			},
			wantErr: "File is truncated",
		},
		{
			name: "gzip checksum mismatch",
			build: func(t *testing.T) []byte {
				s := buildSdist(t, sdistEntries()...)
				s[len(s)-8] ^= 0xff
				return s
			},
			wantErr: "Gzip data is corrupt (checksum mismatch)",
		},
		{
			name: "trailing garbage after the gzip stream",
			build: func(t *testing.T) []byte {
				return append(buildSdist(t, sdistEntries()...), "PK\x05\x06 hidden zip"...)
			},
			wantErr: "File contains data after the end of the gzip stream",
		},
		{
			name: "data after the end-of-archive marker",
			build: func(t *testing.T) []byte {
				return gzipBytes(t, append(buildTar(t, sdistEntries()...), buildTar(t, tfile("demo-1.0/hidden.py", "evil"))...))
			},
			wantErr: "Tar file contains data after the end-of-archive marker",
		},
		{
			name: "sparse member",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(gnuSparseEntry("demo-1.0/sparse.bin", "hello"))...)
			},
			wantErr: "Tar file contains a sparse member: 'demo-1.0/sparse.bin'",
		},
		{
			name: "PAX sparse member",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(paxSparseEntry("demo-1.0/sparse.bin", "hello"))...)
			},
			wantErr: "Tar file contains a sparse member: 'demo-1.0/sparse.bin'",
		},
		{
			name: "symlink escaping the folder",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeSymlink, "demo-1.0/demo/passwd", "../../../etc/passwd"))...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/demo/passwd' -> '../../../etc/passwd'",
		},
		{
			name: "symlink to the parent of the folder",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeSymlink, "demo-1.0/up", "../demo-1.0/PKG-INFO"))...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/up' -> '../demo-1.0/PKG-INFO'",
		},
		{
			name: "absolute symlink",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeSymlink, "demo-1.0/passwd", "/etc/passwd"))...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/passwd' -> '/etc/passwd'",
		},
		{
			name: "symlink escaping through another symlink",
			build: func(t *testing.T) []byte {
				// demo-1.0/d/l1 -> .. is demo-1.0, so d/l1/.. is the
				// parent of demo-1.0, although lexically it is demo-1.0/d.
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/l2", "d/l1/../x"),
					tdir("demo-1.0/d/"),
					tlink(tar.TypeSymlink, "demo-1.0/d/l1", ".."),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/l2' -> 'd/l1/../x'",
		},
		{
			name: "symlink placed under a symlink",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/l1", "demo"),
					tlink(tar.TypeSymlink, "demo-1.0/l1/l2", "../../x"),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/l1/l2' -> '../../x'",
		},
		{
			name: "too many symbolic links",
			build: func(t *testing.T) []byte {
				var links []tarEntry
				target := strings.Repeat("d/", 2000) + "f"
				for i := range 300 {
					links = append(links, tlink(tar.TypeSymlink, fmt.Sprintf("demo-1.0/l%d", i), target))
				}
				return buildSdist(t, sdistEntries(links...)...)
			},
			wantErr: "Tar file contains too many symbolic links",
		},
		{
			name: "hard link escaping the folder",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeLink, "demo-1.0/shadow", "../etc/shadow"))...)
			},
			wantErr: "Tar file contains a hard link pointing outside the top-level directory: 'demo-1.0/shadow' -> '../etc/shadow'",
		},
		{
			name: "absolute hard link",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeLink, "demo-1.0/shadow", "/etc/shadow"))...)
			},
			wantErr: "Tar file contains a hard link pointing outside the top-level directory: 'demo-1.0/shadow' -> '/etc/shadow'",
		},
		{
			name: "FIFO member",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tarEntry{hdr: tar.Header{Name: "demo-1.0/fifo", Typeflag: tar.TypeFifo}})...)
			},
			wantErr: "Tar file contains a device or FIFO member: 'demo-1.0/fifo'",
		},
		{
			name: "device member",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tarEntry{hdr: tar.Header{Name: "demo-1.0/sda", Typeflag: tar.TypeBlock, Devmajor: 8}})...)
			},
			wantErr: "Tar file contains a device or FIFO member: 'demo-1.0/sda'",
		},
		{
			name: "unsupported member type",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tarEntry{raw: rawTarHeader("demo-1.0/label", 'V', 0, nil)})...)
			},
			wantErr: "Tar file contains a member of unsupported type 'V': 'demo-1.0/label'",
		},
		{
			name: "global header changing paths",
			build: func(t *testing.T) []byte {
				gh := tarEntry{hdr: tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader,
					PAXRecords: map[string]string{"path": "evil"}}}
				return buildSdist(t, append([]tarEntry{gh}, sdistEntries()...)...)
			},
			wantErr: "Tar file contains an unsupported global PAX header record 'path'",
		},
		{
			name:    "path traversal member",
			build:   func(t *testing.T) []byte { return buildSdist(t, sdistEntries(tfile("demo-1.0/../evil.py", ""))...) },
			wantErr: "Tar file contains a member with an invalid path (path traversal): 'demo-1.0/../evil.py'",
		},
		{
			name:    "absolute member path",
			build:   func(t *testing.T) []byte { return buildSdist(t, sdistEntries(tfile("/etc/cron.d/evil", ""))...) },
			wantErr: "Tar file contains a member with an invalid path (absolute path): '/etc/cron.d/evil'",
		},
		{
			name: "dot-slash prefix",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tdir("./"), tfile("./demo-1.0/PKG-INFO", testPKGInfo))
			},
			wantErr: "Tar file contains a member with an invalid path (non-canonical path): './'",
		},
		// Duplicated names: accepted, as PyPI does (it refuses them only
		// in ZIPs); the last member of a name counts, as in Python's
		// tarfile, and every member is checked.
		{
			name: "duplicate directory",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tdir("demo-1.0/demo"), tdir("demo-1.0/"))...)
			},
		},
		{
			name: "duplicate file",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("demo-1.0/setup.py", "setup()\n"))...)
			},
		},
		{
			name: "duplicate PKG-INFO: the last one is read",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("demo-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n"))...)
			},
			wantMeta: new("Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n"),
		},
		{
			name: "PKG-INFO a symlink, then a regular file",
			build: func(t *testing.T) []byte {
				return buildSdist(t, tdir("demo-1.0/"), tlink(tar.TypeSymlink, "demo-1.0/PKG-INFO", "setup.py"),
					tfile("demo-1.0/setup.py", ""), tfile("demo-1.0/PKG-INFO", testPKGInfo))
			},
		},
		{
			name: "PKG-INFO a regular file, then a symlink",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeSymlink, "demo-1.0/PKG-INFO", "setup.py"))...)
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' PKG-INFO is not a regular file: demo-1.0/PKG-INFO",
		},
		{
			name: "PKG-INFO a regular file, then a hard link",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tlink(tar.TypeLink, "demo-1.0/PKG-INFO", "demo-1.0/setup.py"))...)
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' PKG-INFO is not a regular file: demo-1.0/PKG-INFO",
		},
		{
			name: "escaping symlink overwritten by a regular file",
			build: func(t *testing.T) []byte {
				// An extractor that opens the second member's path
				// follows the first: it writes to /etc/passwd.
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/passwd", "../../etc/passwd"),
					tfile("demo-1.0/passwd", "evil"),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/passwd' -> '../../etc/passwd'",
		},
		{
			name: "escaping symlink replacing a directory",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/demo", "../.."),
					tfile("demo-1.0/demo/evil.py", "evil"),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/demo' -> '../..'",
		},
		{
			name: "symlink inside, redefined to escape",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeSymlink, "demo-1.0/l", "demo"),
					tlink(tar.TypeSymlink, "demo-1.0/l", "../x"),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/l' -> '../x'",
		},
		{
			name: "directory, then a symlink escaping through it",
			build: func(t *testing.T) []byte {
				// demo-1.0/d is a symlink to .. (demo-1.0 itself) once
				// extracted, so d/../x is outside.
				return buildSdist(t, sdistEntries(
					tdir("demo-1.0/d/"),
					tlink(tar.TypeSymlink, "demo-1.0/d", "."),
					tlink(tar.TypeSymlink, "demo-1.0/d/up", "../../x"),
				)...)
			},
			wantErr: "Tar file contains a symbolic link pointing outside the top-level directory: 'demo-1.0/d/up' -> '../../x'",
		},
		{
			name: "hard link redefined to escape",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(
					tlink(tar.TypeLink, "demo-1.0/copy.py", "demo-1.0/setup.py"),
					tlink(tar.TypeLink, "demo-1.0/copy.py", "../etc/shadow"),
				)...)
			},
			wantErr: "Tar file contains a hard link pointing outside the top-level directory: 'demo-1.0/copy.py' -> '../etc/shadow'",
		},
		{
			name: "top-level directory repeated as a file",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("demo-1.0", ""))...)
			},
			wantErr: "Sdist 'demo-1.0.tar.gz' must contain exactly one top-level directory, but 'demo-1.0' is not a directory",
		},
		{
			name:    "too many members",
			build:   func(t *testing.T) []byte { return buildSdist(t, sdistEntries()...) },
			lim:     Limits{MaxMembers: 4},
			wantErr: "Tar file contains too many members (more than 4)",
		},
		{
			name: "gzip bomb",
			build: func(t *testing.T) []byte {
				// Three gzip members: the tar headers, the zeros of
				// demo-1.0/bomb.bin, and the end-of-archive marker.
				head := buildTar(t, tdir("demo-1.0/"), tfile("demo-1.0/PKG-INFO", testPKGInfo))
				head = head[:len(head)-1024] // drop the end-of-archive marker
				var bombHdr bytes.Buffer
				tw := tar.NewWriter(&bombHdr)
				if err := tw.WriteHeader(&tar.Header{Name: "demo-1.0/bomb.bin", Typeflag: tar.TypeReg, Size: bombSize, Mode: 0o644}); err != nil {
					t.Fatal(err)
				}
				head = append(head, bombHdr.Bytes()...)
				out := append(gzipBytes(t, head), zeroGzipMember()...)
				return append(out, gzipBytes(t, make([]byte, 1024))...)
			},
			wantErr: "File is a gzip bomb",
			maxRead: 0.1,
		},
		{
			name: "gzip bomb hidden after the end-of-archive marker",
			build: func(t *testing.T) []byte {
				return append(buildSdist(t, sdistEntries()...), zeroGzipMember()...)
			},
			wantErr: "File is a gzip bomb",
			maxRead: 0.5,
		},
		{
			name: "gzip bomb with a lower ratio limit",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("demo-1.0/zeros.bin", strings.Repeat("\x00", 1<<20)))...)
			},
			lim:     Limits{MaxUncompressed: 1 << 10, MaxRatio: 10},
			wantErr: "File is a gzip bomb",
		},
		{
			name: "highly compressible but below MaxUncompressed",
			build: func(t *testing.T) []byte {
				return buildSdist(t, sdistEntries(tfile("demo-1.0/zeros.bin", strings.Repeat("\x00", 1<<20)))...)
			},
		},
		{
			name:     "not a .tar.gz filename",
			filename: "demo-1.0.zip",
			build:    func(t *testing.T) []byte { return buildSdist(t, sdistEntries()...) },
			wantErr:  "Invalid sdist filename 'demo-1.0.zip': only .tar.gz source distributions are supported",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.build(t)
			fn := cmp.Or(tt.filename, filename)
			wantMeta := testPKGInfo
			if tt.wantMeta != nil {
				wantMeta = *tt.wantMeta
			}
			cr := &countingTestReader{r: bytes.NewReader(data)}
			sd, err := InspectSdist(cr, int64(len(data)), fn, tt.lim)
			meta := pkgInfoOf(sd)
			checkResult(t, meta, err, tt.wantErr, wantMeta)
			if tt.wantErr == "" && string(meta) != wantMeta {
				t.Errorf("PKG-INFO = %q; want %q", meta, wantMeta)
			}
			if tt.maxRead > 0 {
				t.Logf("read %d of %d bytes", cr.n, len(data))
				if float64(cr.n) > tt.maxRead*float64(len(data)) {
					t.Errorf("read %d of %d bytes; want at most %.0f%%", cr.n, len(data), 100*tt.maxRead)
				}
			}
		})
	}
}

// TestInspectSdistReaders checks the handling of the reader and size: read
// failures and size mismatches are internal errors, not *Error.
func TestInspectSdistReaders(t *testing.T) {
	data := buildSdist(t, sdistEntries()...)
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		wantErr error // nil: any internal error
		ok      bool
	}{
		{name: "one byte at a time", r: iotest.OneByteReader(bytes.NewReader(data)), size: int64(len(data)), ok: true},
		{name: "data and EOF together", r: iotest.DataErrReader(bytes.NewReader(data)), size: int64(len(data)), ok: true},
		{name: "read error at start", r: iotest.ErrReader(errDisk), size: int64(len(data)), wantErr: errDisk},
		{name: "read error midway", r: io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(errDisk)), size: int64(len(data)), wantErr: errDisk},
		{name: "size too small", r: bytes.NewReader(data), size: int64(len(data)) - 1},
		{name: "size too large", r: bytes.NewReader(data), size: int64(len(data)) + 1},
		{name: "negative size", r: bytes.NewReader(data), size: -1},
		{name: "nil reader", r: nil, size: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := InspectSdist(tt.r, tt.size, "demo-1.0.tar.gz", Limits{})
			meta := pkgInfoOf(sd)
			if tt.ok {
				if err != nil || string(meta) != testPKGInfo {
					t.Fatalf("got %q, %v; want PKG-INFO", meta, err)
				}
				return
			}
			var de *Error
			if err == nil || errors.As(err, &de) {
				t.Fatalf("got %v; want an internal error", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v; want an error wrapping %v", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkInspectSdist(b *testing.B) {
	var entries []tarEntry
	for i := range 200 {
		entries = append(entries, tfile(fmt.Sprintf("demo-1.0/demo/mod%03d.py", i), strings.Repeat(testModule, 200)))
	}
	data := buildSdist(b, sdistEntries(entries...)...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := InspectSdist(bytes.NewReader(data), int64(len(data)), "demo-1.0.tar.gz", Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// pkgInfoOf is the PKG-INFO InspectSdist returned (nil when it refused).
func pkgInfoOf(sd *Sdist) []byte {
	if sd == nil {
		return nil
	}
	return sd.PKGInfo
}
