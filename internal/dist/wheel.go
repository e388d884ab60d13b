package dist

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strings"
)

const (
	// tarMagic, at offset tarMagicOffset, identifies POSIX and GNU tar
	// archives.
	tarMagic       = "ustar"
	tarMagicOffset = 257
	// zipEOCDSig starts a zip end-of-central-directory record, which is
	// zipEOCDLen bytes long plus a comment of up to zipMaxComment bytes.
	zipEOCDSig = "PK\x05\x06"
	// zipCentralSig starts each central directory record.
	zipCentralSig = "PK\x01\x02"
	zipEOCDLen    = 22
	zipMaxComment = 65535
	// zipFlagEncrypted is the general purpose flag bit of encrypted members.
	zipFlagEncrypted = 0x1
	// copyBufferSize is the size of the buffer member contents are streamed
	// through.
	copyBufferSize = 32 << 10
	distInfoSuffix = ".dist-info"
	wheelBombMsg   = "File is a zip bomb"
)

// InspectWheel checks a wheel (PEP 427) and returns the bytes of its
// <name>-<version>.dist-info/METADATA and how its RECORD agrees with it.
// name and version are the first two components of the wheel filename exactly
// as they appear there; size is the size in bytes of the file behind r.
//
// The file must be a zip archive (and not also a tar archive) whose records
// pass PyPI's framing check (see checkZipFraming: local headers and central
// directory agree, no data descriptors, comments on entries or trailing
// data), whose members are all stored or deflated, unencrypted, regular files or folders (no
// symbolic links, devices, FIFOs or sockets, whatever the Unix mode in their
// external attributes), uniquely and safely named (relative, no "..", no
// backslashes), at most lim.MaxMembers in number, and which
// contains METADATA, WHEEL and RECORD in a .dist-info directory matching the
// filename. The directory name is compared case-insensitively with
// "<name>-<version>.dist-info", and a name part equal to the PEP 503
// normalized name with '-' replaced by '_' (the form real wheels use) is
// accepted as well.
//
// Every member is decompressed (never trusting declared sizes), its CRC-32
// verified and its SHA-256 hash compared with RECORD's. A RECORD that PyPI
// cannot read (not UTF-8, not CSV) is refused as missing, as on PyPI. If the total uncompressed size, declared or actual, exceeds
// lim.MaxUncompressed and its ratio to size exceeds lim.MaxRatio, the wheel is
// rejected as a zip bomb as soon as that is known.
//
// Problems with the upload are reported as *Error. Errors returned by r
// (including a file shorter than size), a nil r or a negative size are
// returned as other errors.
func InspectWheel(r io.ReaderAt, size int64, filename, name, version string, lim Limits) (*Wheel, error) {
	if r == nil {
		return nil, fmt.Errorf("dist: inspecting wheel %q: nil reader", filename)
	}
	if size < 0 {
		return nil, fmt.Errorf("dist: inspecting wheel %q: negative size %d", filename, size)
	}
	ra := &trackingReaderAt{r: r, size: size}
	w, err := inspectWheel(ra, size, filename, name, version, lim.withDefaults())
	if ra.err != nil {
		// The archive could not be read completely: not the uploader's
		// fault, whatever the zip reader made of it.
		return nil, fmt.Errorf("dist: reading wheel %q: %w", filename, ra.err)
	}
	return w, err
}

// Wheel is what InspectWheel learns of a wheel it accepts.
type Wheel struct {
	// Metadata is the content of <name>-<version>.dist-info/METADATA.
	Metadata []byte
	// Members are the names of every member, as the central directory
	// lists them: the index checks with them that every License-File the
	// metadata lists is in the archive.
	Members map[string]bool
	// RecordProblem describes the first disagreement between RECORD and
	// the archive (a file it does not list, an entry for a file the
	// archive lacks, a wrong sha256 hash or size), "" if there is none.
	// PyPI accepts such wheels (and emails the owners): whether to
	// refuse them is the caller's policy.
	RecordProblem string
}

// maxRecordSize bounds the RECORD file, read into memory: some 200 000
// lines, more than a wheel may have members.
const maxRecordSize = 32 << 20

func inspectWheel(ra io.ReaderAt, size int64, filename, name, version string, lim Limits) (*Wheel, error) {
	if name == "" || version == "" {
		return nil, errorf("Invalid wheel filename '%s'", display(filename))
	}
	poly, err := isTarZipPolyglot(ra, size)
	if err != nil {
		return nil, errorf(notZipMsg)
	}
	if poly {
		return nil, errorf("File is both a zip and a tar file")
	}
	// The records, walked in order, before any reader that trusts the
	// central directory alone.
	if err := checkZipFraming(ra, size, lim.MaxMembers); err != nil {
		return nil, err
	}
	// archive/zip reads every central directory record before anyone can
	// count them, some 250 bytes of memory for each 47-byte record. The
	// framing check has bounded them: the directory archive/zip reads is
	// the one the walk checked (placed by the same end record, at the
	// offset it declares), whose records name distinct members, each with
	// its local header, and the walk stops past lim.MaxMembers of those.
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath (GODEBUG=zipinsecurepath=0) comes with a usable
		// reader; the names are checked below anyway.
		return nil, errorf(notZipMsg)
	}

	byName := make(map[string]*zip.File, len(zr.File))
	members := make(map[string]bool, len(zr.File))
	var declared int64
	for _, f := range zr.File {
		if why := checkMemberName(f.Name); why != "" {
			return nil, errorf("Zip file contains a member with an invalid path (%s): '%s'", why, display(f.Name))
		}
		// The framing check refused repeated names.
		byName[f.Name] = f
		members[f.Name] = true
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, errorf("File does not use a supported compression type")
		}
		if f.Flags&zipFlagEncrypted != 0 {
			return nil, errorf("Zip file contains an encrypted member: '%s'", display(f.Name))
		}
		if why := checkMemberType(f); why != "" {
			return nil, errorf("Zip file contains %s: '%s'", why, display(f.Name))
		}
		declared = satAdd(declared, clampInt64(f.UncompressedSize64))
	}

	// Cheap first pass on the declared sizes: a bomb that admits to being
	// one is rejected without decompressing anything.
	m := &meter{limit: lim.bombThreshold(size)}
	if m.wouldExceed(declared) {
		return nil, errorf(wheelBombMsg)
	}

	dir, err := findDistInfo(zr.File, filename, name, version)
	if err != nil {
		return nil, err
	}
	for _, req := range []string{"METADATA", "WHEEL", "RECORD"} {
		p := dir + "/" + req
		if _, ok := byName[p]; !ok {
			return nil, errorf("Wheel '%s' does not contain the required %s file: %s", display(filename), req, display(p))
		}
	}
	md, rec := byName[dir+"/METADATA"], byName[dir+"/RECORD"]
	if md.UncompressedSize64 > uint64(lim.MaxMetadataSize) {
		return nil, errorf("Wheel '%s' METADATA file is too large (%d bytes, limit %d)",
			display(filename), md.UncompressedSize64, lim.MaxMetadataSize)
	}
	if rec.UncompressedSize64 > maxRecordSize {
		return nil, errorf("Wheel '%s' RECORD file is too large (%d bytes, limit %d)",
			display(filename), rec.UncompressedSize64, maxRecordSize)
	}
	c, err := readZipMembers(zr.File, md, rec, m)
	if err != nil {
		return nil, err
	}
	problem, ok := checkRecord(c.record, c.digests, c.order, dir)
	if !ok {
		// PyPI's message for a RECORD it cannot read.
		return nil, errorf("Wheel '%s' does not contain the required RECORD file: %s", display(filename), display(dir+"/RECORD"))
	}
	return &Wheel{Metadata: c.metadata, RecordProblem: problem, Members: members}, nil
}

// Unix file types in the upper 16 bits of a zip member's external
// attributes (the st_mode of the file that was zipped).
const (
	unixTypeMask    = 0o170000
	unixTypeRegular = 0o100000
	unixTypeDir     = 0o040000
	unixTypeSymlink = 0o120000
)

// checkMemberType says why a wheel member is not a regular file or a
// folder ("" when it is one). Tools that extract zips with Unix modes
// (unzip, bsdtar, some installers) create a symbolic link from a member
// whose mode says so, whose content is the link's target: a wheel could
// then write through it outside the installation. A wheel has no use for
// links, devices, FIFOs or sockets, so they are refused whatever host
// system the archive claims to come from (archive/zip's Mode reads the
// Unix bits only for Unix and macOS creators; extractors differ).
func checkMemberType(f *zip.File) string {
	switch mode := (f.ExternalAttrs >> 16) & unixTypeMask; mode {
	case 0, unixTypeRegular, unixTypeDir:
	case unixTypeSymlink:
		return "a symbolic link"
	default:
		return "a device, FIFO or socket member"
	}
	return ""
}

// wheelContents is what one pass over a wheel's members keeps.
type wheelContents struct {
	metadata, record []byte
	digests          map[string]*memberDigest // file members by name
	order            []string                 // their names in archive order
}

// readZipMembers decompresses every member of files, in order, counting the
// output against m, verifying sizes and CRC-32s and hashing each file with
// SHA-256 for the RECORD check, and returns the contents of md and rec
// (whose declared sizes the caller has bounded).
func readZipMembers(files []*zip.File, md, rec *zip.File, m *meter) (*wheelContents, error) {
	buf := make([]byte, copyBufferSize)
	c := &wheelContents{digests: make(map[string]*memberDigest, len(files))}
	h := sha256.New()
	for _, f := range files {
		h.Reset()
		data, n, err := readZipMember(f, f == md || f == rec, m, buf, h)
		switch {
		case m.tripped:
			return nil, errorf(wheelBombMsg)
		case errors.Is(err, zip.ErrChecksum):
			return nil, errorf("Zip file member '%s' is corrupt (CRC-32 mismatch)", display(f.Name))
		case err != nil:
			return nil, errorf("Zip file member '%s' is corrupt", display(f.Name))
		}
		switch f {
		case md:
			c.metadata = data
		case rec:
			c.record = data
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		d := &memberDigest{size: n}
		h.Sum(d.sha256[:0])
		c.digests[f.Name] = d
		c.order = append(c.order, f.Name)
	}
	return c, nil
}

// readZipMember streams one member to its end through sum, returning its
// content if keep is set, and its size. archive/zip refuses to produce more
// than the declared size and checks the CRC-32 unless it is declared as
// zero; the CRC-32 is checked here too so that a zero declaration does not
// disable the check.
func readZipMember(f *zip.File, keep bool, m *meter, buf []byte, sum io.Writer) ([]byte, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	h := crc32.NewIEEE()
	r := io.TeeReader(&meteredReader{r: rc, m: m}, io.MultiWriter(h, sum))
	var data []byte
	var n int64
	if keep {
		// The size was bounded by the caller and archive/zip enforces it.
		data = make([]byte, f.UncompressedSize64)
		k, err := io.ReadFull(r, data)
		n += int64(k)
		if err != nil {
			return nil, n, err
		}
	}
	// Read to EOF even after a kept member: archive/zip reports a CRC
	// mismatch only once it has seen the end of the data.
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, n, err
		}
	}
	if !strings.HasSuffix(f.Name, "/") && h.Sum32() != f.CRC32 {
		return nil, n, zip.ErrChecksum
	}
	return data, n, nil
}

// findDistInfo returns the top-level .dist-info directory of the wheel that
// matches the filename's name and version. If none matches, it returns the
// directory the filename calls for, so that the caller reports the expected
// path as missing.
func findDistInfo(files []*zip.File, filename, name, version string) (string, error) {
	want := name + "-" + version + distInfoSuffix
	wantNorm := normalizeName(name) + "-" + version + distInfoSuffix
	seen := make(map[string]bool)
	var matches []string
	for _, f := range files {
		top, _, nested := strings.Cut(f.Name, "/")
		if !nested || seen[top] {
			continue
		}
		seen[top] = true
		if strings.EqualFold(top, want) || strings.EqualFold(top, wantNorm) {
			matches = append(matches, top)
		}
	}
	switch len(matches) {
	case 0:
		return want, nil
	case 1:
		return matches[0], nil
	default:
		return "", errorf("Wheel '%s' contains more than one matching .dist-info directory: '%s' and '%s'",
			display(filename), display(matches[0]), display(matches[1]))
	}
}

// normalizeName returns the PEP 503 normalized form of a project name with
// '-' replaced by '_': lower case, each run of '-', '_' and '.' replaced by
// a single '_'. This is the form wheel builders use for the .dist-info
// directory (and the wheel filename).
func normalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('_')
	}
	return b.String()
}

// isTarZipPolyglot reports whether the file is a tar archive ("ustar" magic
// at offset 257) that also carries a zip end-of-central-directory record, so
// that tar and zip tools would see different contents.
func isTarZipPolyglot(r io.ReaderAt, size int64) (bool, error) {
	if size < tarMagicOffset+int64(len(tarMagic)) {
		return false, nil
	}
	magic := make([]byte, len(tarMagic))
	if err := readFullAt(r, magic, tarMagicOffset); err != nil {
		return false, err
	}
	if string(magic) != tarMagic {
		return false, nil
	}
	tail := make([]byte, min(size, zipEOCDLen+zipMaxComment))
	if err := readFullAt(r, tail, size-int64(len(tail))); err != nil {
		return false, err
	}
	i := bytes.LastIndex(tail, []byte(zipEOCDSig))
	return i >= 0 && i <= len(tail)-zipEOCDLen, nil
}

// errTooManyRecords stops the framing check's walk at more local headers
// than a wheel may have members.
var errTooManyRecords = errors.New("dist: too many zip records")

// readFullAt fills p from r at off, reporting short reads as errors.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// clampInt64 converts v to int64, saturating at MaxInt64.
func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// trackingReaderAt serves reads within the first size bytes of r and
// records the first error r returns (including an early end of file), so that
// read failures are not mistaken for malformed uploads. Reads outside the
// file, which a malformed archive can cause, never reach r: they fail with
// io.EOF or errOffset.
type trackingReaderAt struct {
	r    io.ReaderAt
	size int64
	err  error
}

// errOffset reports a read at a negative offset, computed from a malformed
// archive.
var errOffset = errors.New("dist: read at negative offset")

func (t *trackingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errOffset
	}
	if off >= t.size {
		return 0, io.EOF
	}
	short := false
	if int64(len(p)) > t.size-off {
		p, short = p[:t.size-off], true
	}
	n, err := t.r.ReadAt(p, off)
	switch {
	case err == nil && short:
		err = io.EOF
	case err == nil:
	case errors.Is(err, io.EOF) && n < len(p) && t.err == nil:
		// All of p lies before size: the file is shorter than it should be.
		t.err = fmt.Errorf("file ends at offset %d, before its size %d: %w", off+int64(n), t.size, io.ErrUnexpectedEOF)
	case !errors.Is(err, io.EOF) && t.err == nil:
		t.err = err
	}
	return n, err
}
