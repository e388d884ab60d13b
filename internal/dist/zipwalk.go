package dist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// This file checks the framing of a zip archive the way PyPI does since
// 2025 (warehouse/utils/zipfiles.py, validate_zipfile): readers that trust
// the central directory (Python's zipfile, pip) and readers that stream the
// local file headers (some installers, bsdtar from a pipe) must see the same
// files, so every record is walked in file order and any disagreement is
// refused. It goes beyond PyPI where two common readers could still unpack
// the same archive differently: each central-directory entry must point at
// the local header of its file and agree with it on compression method,
// flags and CRC-32, and an Info-ZIP Unicode Path extra (which unzip
// honours and zipfile does not) must repeat the entry's own name.

// Zip record signatures.
const (
	sigLocal     = "PK\x03\x04"
	sigCentral   = zipCentralSig
	sigEOCD      = zipEOCDSig
	sigEOCD64    = "PK\x06\x06"
	sigEOCD64Loc = "PK\x06\x07"
)

// Fixed sizes of the records, signature included.
const (
	localLen     = 30
	centralLen   = 46
	eocd64Len    = 56
	eocd64LocLen = 20
)

// Extra field IDs that may not repeat in one header.
const (
	extraZip64       = 0x0001
	extraUnicodePath = 0x7075
)

// Zip flag bits.
const (
	flagDataDescriptor = 0x8
	flagUTF8           = 0x800
)

const (
	// zipNotAcceptedFmt is PyPI's wording for every framing refusal.
	zipNotAcceptedFmt = "ZIP archive not accepted: %s. See https://docs.pypi.org/archives for more information"
	// notZipMsg is PyPI's message for a file without an end record.
	notZipMsg = "File is not a zipfile"
	// malformedMsg is PyPI's message for most framing errors.
	malformedMsg = "Malformed zip file"
	// multiDiskMsg is zipfile's message for a split archive.
	multiDiskMsg = "zipfiles that span multiple disks are not supported"
)

// zipRefusal returns the *Error PyPI gives for an archive its framing
// check refuses, for the reason msg.
func zipRefusal(msg string) *Error {
	return errorf(zipNotAcceptedFmt, msg)
}

// walkError carries a framing refusal inside the walker; checkZipFraming
// turns it into an *Error.
type walkError string

func (e walkError) Error() string { return string(e) }

// cdSizes is what Python's zipfile reads from the central directory for one
// member: its compressed and uncompressed sizes.
type cdSizes struct{ csize, usize uint64 }

// localEntry is what the walk keeps of a local file header, to compare it
// with the central directory entry of the same name.
type localEntry struct {
	offset       int64
	flags        uint16
	method       uint16
	crc          uint32
	csize, usize uint64
}

// checkZipFraming walks the records of the zip archive of size bytes behind
// r from its first byte to its last, as PyPI does, and returns an *Error for
// an archive that readers could unpack differently. maxMembers bounds the
// number of records kept in memory. Errors from r are returned as they are.
//
// The work is linear in size: each record is read once, member data is
// skipped, and the archive is never decompressed.
func checkZipFraming(r io.ReaderAt, size int64, maxMembers int) error {
	py, err := pythonDirectory(r, size, maxMembers)
	if err != nil {
		return err
	}
	w := &zipWalker{c: newCursor(r, size), py: py, dir: py.sizes, maxMembers: maxMembers,
		local: make(map[string]localEntry, len(py.sizes)), central: make(map[string]bool, len(py.sizes))}
	err = w.walk()
	var we walkError
	switch {
	case errors.As(err, &we):
		return zipRefusal(string(we))
	case errors.Is(err, errTooManyRecords):
		return errorf("Zip file contains too many members (more than %d)", maxMembers)
	}
	return err
}

// zipWalker holds the state of one walk over the records.
type zipWalker struct {
	c          *cursor
	py         *pyDirectory
	dir        map[string]cdSizes // py.sizes
	maxMembers int

	local   map[string]localEntry // by raw name
	central map[string]bool       // raw names seen in the central directory

	eocd64At    int64 // offset of the ZIP64 end record, -1 if none yet
	eocdAt      int64 // offset of the end record
	locatorSeen bool  // after a ZIP64 end record, whose values then win
	cdRecords   uint64
	cdOffset    int64 // offset of the first central directory record, -1 if none yet
	cdSize      uint64
	endRecords  uint64 // as the end records declare them
	endSize     uint64
	endOffset   uint64
}

func (w *zipWalker) walk() error {
	w.eocd64At, w.cdOffset = -1, -1
	for {
		at := w.c.off
		sig, err := w.c.read(4)
		if err != nil {
			return err
		}
		s := string(sig)
		switch {
		case s == sigEOCD && w.eocd64At >= 0 && !w.locatorSeen,
			s == sigEOCD64Loc && (w.eocd64At < 0 || w.locatorSeen),
			s != sigEOCD64Loc && s != sigEOCD && w.eocd64At >= 0:
			return walkError(malformedMsg)
		}
		switch s {
		case sigLocal:
			err = w.localHeader(at)
		case sigCentral:
			err = w.centralHeader(at)
		case sigEOCD64:
			err = w.eocd64(at)
		case sigEOCD64Loc:
			err = w.locator()
		case sigEOCD:
			if err := w.eocd(at); err != nil {
				return err
			}
			return w.finish()
		default:
			return walkError("Unknown record signature")
		}
		if err != nil {
			return err
		}
	}
}

// localHeader checks a local file header (after its signature, at offset
// at) and skips its data.
func (w *zipWalker) localHeader(at int64) error {
	h, err := w.c.read(localLen - 4)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	e := localEntry{
		offset: at,
		flags:  le.Uint16(h[2:]),
		method: le.Uint16(h[4:]),
		crc:    le.Uint32(h[10:]),
		csize:  uint64(le.Uint32(h[14:])),
		usize:  uint64(le.Uint32(h[18:])),
	}
	headerCsize, headerUsize := e.csize, e.usize
	nameLen, extraLen := int(le.Uint16(h[22:])), int(le.Uint16(h[24:]))
	nx, err := w.c.read(nameLen + extraLen)
	if err != nil {
		return err
	}
	rawName, extra := nx[:nameLen], nx[nameLen:]
	if hasControlByte(rawName) {
		return walkError("Invalid character in filename")
	}
	unicodeName, err := w.localExtras(extra, &e)
	if err != nil {
		return err
	}
	if e.flags&flagDataDescriptor != 0 {
		return walkError("ZIP contains a data descriptor")
	}
	if !utf8.Valid(rawName) {
		return walkError("Filename not unicode")
	}
	want, ok := w.dir[string(rawName)]
	if !ok {
		return walkError("Filename not in central directory")
	}
	if want.csize != e.csize {
		return walkError("Mis-matched data size")
	}
	if want.usize != e.usize {
		return walkError("Mis-matched file size")
	}
	w.c.skip(e.csize)
	name := string(rawName)
	if _, dup := w.local[name]; dup {
		return walkError("Duplicate filename in local headers")
	}
	// Beyond PyPI, which takes the compressed size from a ZIP64 extra
	// even when the header gives one: a reader streaming the local
	// headers takes the header's, and would look for the next record
	// inside this one's data, where the central directory readers see
	// none. A ZIP64 extra may only stand for a saturated size.
	if headerCsize != 0xFFFFFFFF && headerCsize != e.csize || headerUsize != 0xFFFFFFFF && headerUsize != e.usize {
		return walkError("ZIP64 extra disagrees with the local header sizes")
	}
	// Beyond PyPI.
	if !printable(name) {
		return walkError("Invalid character in filename")
	}
	if unicodeName != nil && !bytes.Equal(unicodeName, rawName) {
		return walkError("Unicode path extra does not match filename")
	}
	if len(w.local) >= w.maxMembers {
		return errTooManyRecords
	}
	w.local[name] = e
	return nil
}

// localExtras checks the extra fields of a local header, resolving its
// ZIP64 sizes into e, and returns the name of its Unicode Path extra (nil
// if none).
func (w *zipWalker) localExtras(extra []byte, e *localEntry) ([]byte, error) {
	var unicodeName []byte
	var seenZip64, seenUnicode bool
	le := binary.LittleEndian
	for len(extra) > 0 {
		if len(extra) < 4 {
			return nil, walkError(malformedMsg)
		}
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if n+4 > len(extra) {
			return nil, walkError(malformedMsg)
		}
		data := extra[4 : 4+n]
		switch id {
		case extraZip64:
			if seenZip64 {
				return nil, walkError("Invalid duplicate extra in local file")
			}
			seenZip64 = true
			switch n {
			case 0:
				if e.csize == 0xFFFFFFFF || e.usize == 0xFFFFFFFF {
					return nil, walkError(malformedMsg)
				}
			case 8:
				if e.method != 0 {
					return nil, walkError(malformedMsg)
				}
				v := le.Uint64(data)
				e.csize = v
				if e.usize == 0xFFFFFFFF {
					e.usize = v
				}
			case 16, 24, 28:
				if e.usize == 0xFFFFFFFF {
					e.usize = le.Uint64(data)
				}
				e.csize = le.Uint64(data[8:])
			default:
				return nil, walkError(malformedMsg)
			}
		case extraUnicodePath:
			if seenUnicode {
				return nil, walkError("Invalid duplicate extra in local file")
			}
			seenUnicode = true
			var u []byte
			if n > 5 {
				u = data[5:]
			}
			if hasControlByte(u) {
				return nil, walkError("Invalid character in filename")
			}
			if !utf8.Valid(u) {
				return nil, walkError("Filename not valid UTF-8")
			}
			unicodeName = u
			if unicodeName == nil {
				unicodeName = []byte{}
			}
		}
		extra = extra[4+n:]
	}
	return unicodeName, nil
}

// centralHeader checks a central directory header (after its signature,
// at offset at) against the local header of the same name.
func (w *zipWalker) centralHeader(at int64) error {
	if w.cdOffset < 0 {
		w.cdOffset = at
	}
	w.cdRecords++
	rec, err := w.c.read(centralLen - 4)
	if err != nil {
		return err
	}
	// centralFields reads the header after the name and extra: keep it
	// from the cursor's next read, which may reuse its buffer.
	var fixed [centralLen - 4]byte
	h := fixed[:]
	copy(h, rec)
	le := binary.LittleEndian
	if le.Uint16(h[28:]) != 0 {
		return walkError("Comment in central directory")
	}
	nameLen, extraLen := int(le.Uint16(h[24:])), int(le.Uint16(h[26:]))
	nx, err := w.c.read(nameLen + extraLen)
	if err != nil {
		return err
	}
	rawName, extra := nx[:nameLen], nx[nameLen:]
	if hasControlByte(rawName) {
		return walkError("Invalid character in filename")
	}
	w.cdSize += uint64(centralLen + nameLen + extraLen)
	name := string(rawName)
	if w.central[name] {
		return walkError("Duplicate filename in central directory")
	}
	loc, ok := w.local[name]
	if !ok {
		return walkError("Missing filename in local headers")
	}
	w.central[name] = true

	// Beyond PyPI: the entry must describe its own local header.
	f, err := centralFields(h, extra)
	if err != nil {
		return err
	}
	switch {
	case f.dupExtra:
		return walkError("Invalid duplicate extra in central directory")
	case f.unicodeName != nil && !bytes.Equal(f.unicodeName, rawName):
		return walkError("Unicode path extra does not match filename")
	case f.offset != uint64(loc.offset):
		return walkError("Mis-matched local header offset")
	case f.method != loc.method:
		return walkError("Mis-matched compression method")
	case f.flags != loc.flags:
		return walkError("Mis-matched flags")
	case f.crc != loc.crc:
		return walkError("Mis-matched CRC-32")
	case f.csize != loc.csize:
		return walkError("Mis-matched data size")
	case f.usize != loc.usize:
		return walkError("Mis-matched file size")
	}
	return nil
}

// centralEntry is what a central directory header says of its member.
type centralEntry struct {
	flags, method        uint16
	crc                  uint32
	csize, usize, offset uint64
	unicodeName          []byte // nil without a Unicode Path extra
	// dupExtra is set when a ZIP64 or Unicode Path extra repeats.
	dupExtra bool
}

// centralFields decodes the fixed part h (after the signature) and the extra
// fields of a central directory header as Python's zipfile does
// (ZipInfo._decodeExtra), with its messages.
func centralFields(h, extra []byte) (centralEntry, error) {
	le := binary.LittleEndian
	f := centralEntry{
		flags:  le.Uint16(h[4:]),
		method: le.Uint16(h[6:]),
		crc:    le.Uint32(h[12:]),
		csize:  uint64(le.Uint32(h[16:])),
		usize:  uint64(le.Uint32(h[20:])),
		offset: uint64(le.Uint32(h[38:])),
	}
	var seenZip64, seenUnicode bool
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if n+4 > len(extra) {
			return f, walkError(corruptExtra(id, n))
		}
		data := extra[4 : 4+n]
		switch id {
		case extraZip64:
			f.dupExtra = f.dupExtra || seenZip64
			seenZip64 = true
			if err := f.decodeZip64(data); err != nil {
				return f, err
			}
		case extraUnicodePath:
			f.dupExtra = f.dupExtra || seenUnicode
			seenUnicode = true
			f.unicodeName = []byte{}
			if n > 5 {
				f.unicodeName = data[5:]
			}
		}
		extra = extra[4+n:]
	}
	return f, nil
}

// decodeZip64 replaces the sizes and offset that a central directory entry
// marks as stored in its ZIP64 extra (0xFFFFFFFF) by the values there, in
// Python's order and with its messages.
func (f *centralEntry) decodeZip64(data []byte) error {
	for _, fld := range []struct {
		v    *uint64
		what string
	}{{&f.usize, "File size"}, {&f.csize, "Compress size"}, {&f.offset, "Header offset"}} {
		if *fld.v != 0xFFFFFFFF {
			continue
		}
		if len(data) < 8 {
			return walkError("Corrupt zip64 extra field. " + fld.what + " not found.")
		}
		*fld.v = binary.LittleEndian.Uint64(data)
		data = data[8:]
	}
	return nil
}

// corruptExtra is Python's message for an extra field overrunning its header.
func corruptExtra(id uint16, n int) string {
	return fmt.Sprintf("Corrupt extra field %04x (size=%d)", id, n)
}

// eocd64 reads a ZIP64 end of central directory record.
func (w *zipWalker) eocd64(at int64) error {
	w.eocd64At = at
	h, err := w.c.read(eocd64Len - 4)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	size := le.Uint64(h)
	onDisk, total := le.Uint64(h[20:]), le.Uint64(h[28:])
	if onDisk != total {
		return walkError(malformedMsg)
	}
	if size != 44 {
		return walkError("ZIP64 extensible data not allowed")
	}
	w.endRecords, w.endSize, w.endOffset = total, le.Uint64(h[36:]), le.Uint64(h[44:])
	// Beyond PyPI: unzip treats other disk numbers as a split archive.
	if le.Uint32(h[12:]) != 0 || le.Uint32(h[16:]) != 0 {
		return walkError(multiDiskMsg)
	}
	return nil
}

// locator reads a ZIP64 end of central directory locator, which must point
// at the ZIP64 end record just read.
func (w *zipWalker) locator() error {
	h, err := w.c.read(eocd64LocLen - 4)
	if err != nil {
		return err
	}
	w.locatorSeen = true
	if binary.LittleEndian.Uint64(h[4:]) != uint64(w.eocd64At) {
		return walkError("Mis-matched EOCD64 record and locator offset")
	}
	return nil
}

// eocd reads the end of central directory record (at offset at) and its
// comment, and checks what it declares against what was walked.
func (w *zipWalker) eocd(at int64) error {
	w.eocdAt = at
	if w.cdOffset < 0 {
		w.cdOffset = at
	}
	h, err := w.c.read(zipEOCDLen - 4)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	onDisk, total := le.Uint16(h[4:]), le.Uint16(h[6:])
	if onDisk != total {
		return walkError(malformedMsg)
	}
	if !w.locatorSeen {
		w.endRecords, w.endSize, w.endOffset = uint64(total), uint64(le.Uint32(h[8:])), uint64(le.Uint32(h[12:]))
	}
	switch {
	case w.endRecords != w.cdRecords:
		return walkError("Mismatched central directory records")
	case w.endOffset != uint64(w.cdOffset):
		return walkError("Mismatched central directory offset")
	case w.endSize != w.cdSize:
		return walkError("Mismatched central directory size")
	}
	// Beyond PyPI. zipfile takes the ZIP64 end record's values whenever
	// there is one; archive/zip and unzip only when the end record's are
	// saturated: each must then be saturated or equal.
	if w.locatorSeen && !(sameOrSaturated(uint64(total), w.endRecords, 0xFFFF) &&
		sameOrSaturated(uint64(le.Uint32(h[8:])), w.endSize, 0xFFFFFFFF) &&
		sameOrSaturated(uint64(le.Uint32(h[12:])), w.endOffset, 0xFFFFFFFF)) {
		return walkError("End record disagrees with the ZIP64 end record")
	}
	if d, cd := le.Uint16(h[0:]), le.Uint16(h[2:]); !(d == 0 || w.locatorSeen && d == 0xFFFF) || !(cd == 0 || w.locatorSeen && cd == 0xFFFF) {
		return walkError(multiDiskMsg)
	}
	w.c.skip(uint64(le.Uint16(h[16:])))
	return nil
}

// sameOrSaturated reports whether an end record's field v, at most
// sentinel, stands for v64: equal to it, or the sentinel.
func sameOrSaturated(v, v64, sentinel uint64) bool {
	return v == v64 || v == sentinel
}

// finish applies the checks made once the end record has been read.
func (w *zipWalker) finish() error {
	if len(w.local) != len(w.central) {
		// Every central name is a local one: equal sizes, equal sets.
		return walkError("Mis-matched local headers and central directory")
	}
	if w.c.off != w.c.size {
		return walkError("Trailing data")
	}
	// Beyond PyPI: zipfile must have read the directory just walked, not
	// one placed by another end record (hidden in the archive comment, or
	// a ZIP64 locator hidden in the last record's extra field), whose
	// entries could say other things of the same files.
	if w.eocdAt != int64(w.py.end.at) || w.cdOffset != w.py.start || w.locatorSeen != w.py.end.zip64 {
		return walkError("Central directory is not the one the end record places")
	}
	return nil
}

// hasControlByte reports whether b has a byte PyPI refuses in a name:
// 0x00 to 0x1F or 0x7F.
func hasControlByte(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7F {
			return true
		}
	}
	return false
}

// printable reports whether every character of the UTF-8 name s is
// printable (letters, marks, numbers, punctuation, symbols and the ASCII
// space): no C1 controls, format characters such as bidirectional
// overrides, or other spaces, which make one name look like another.
func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// pythonDirectory reads the central directory the way Python's zipfile
// (3.11) does when it opens an archive, and returns the compressed and
// uncompressed size of each member by its decoded name (UTF-8 when the
// entry says so, else code page 437). Its refusals carry zipfile's
// messages, except an archive without an end record, which is refused with
// PyPI's "File is not a zipfile" (zipfile.is_zipfile).
func pythonDirectory(r io.ReaderAt, size int64, maxMembers int) (*pyDirectory, error) {
	end, err := findEnd(r, size)
	if err != nil {
		return nil, err
	}
	if end == nil {
		return nil, errorf(notZipMsg)
	}
	// zipfile tolerates bytes before the archive: it finds the directory
	// just before the end records, whatever offset they declare.
	start := int64(end.at) - int64(end.size)
	if end.zip64 {
		start -= eocd64Len + eocd64LocLen
	}
	if end.size > end.at || start < 0 {
		return nil, zipRefusal("Bad offset for central directory")
	}
	c := newCursor(io.NewSectionReader(r, start, int64(end.size)), int64(end.size))
	le := binary.LittleEndian
	dir := make(map[string]cdSizes)
	pd := &pyDirectory{sizes: dir, start: start, end: end}
	for total := uint64(0); total < end.size; {
		if c.size-c.off < centralLen {
			return nil, zipRefusal("Truncated central directory")
		}
		rec, err := c.read(centralLen)
		if err != nil {
			return nil, err
		}
		if string(rec[:4]) != sigCentral {
			return nil, zipRefusal("Bad magic number for central directory")
		}
		var fixed [centralLen - 4]byte // the cursor's next read may reuse rec
		h := fixed[:]
		copy(h, rec[4:])
		nameLen, extraLen, commentLen := int(le.Uint16(h[24:])), int(le.Uint16(h[26:])), int(le.Uint16(h[28:]))
		// Short names, extras and comments are read as they come, as
		// zipfile does; the next record is then truncated.
		nx, err := c.readUpTo(nameLen + extraLen)
		if err != nil {
			return nil, err
		}
		name, extra := nx[:min(nameLen, len(nx))], nx[min(nameLen, len(nx)):]
		if le.Uint16(h[4:])&flagUTF8 != 0 && !utf8.Valid(name) {
			return nil, zipRefusal("Filename not unicode")
		}
		f, err := centralFields(h, extra)
		var we walkError
		if errors.As(err, &we) {
			return nil, zipRefusal(string(we))
		}
		if _, err := c.readUpTo(commentLen); err != nil {
			return nil, err
		}
		// The name as zipfile decodes it: UTF-8 when the entry says so,
		// else code page 437 (the same bytes when they are ASCII).
		key := name
		if le.Uint16(h[4:])&flagUTF8 == 0 && !isASCII(name) {
			key = []byte(decodeCP437(name))
		}
		v := cdSizes{csize: f.csize, usize: f.usize}
		if old, ok := dir[string(key)]; !ok || old != v { // no copy of the key to look it up
			if !ok && len(dir) >= maxMembers {
				return nil, errorf("Zip file contains too many members (more than %d)", maxMembers)
			}
			dir[string(key)] = v
		}
		total += uint64(centralLen + nameLen + extraLen + commentLen)
	}
	return pd, nil
}

// pyDirectory is the central directory as Python's zipfile reads it.
type pyDirectory struct {
	sizes map[string]cdSizes // by name as zipfile decodes it
	start int64              // offset of its first record
	end   *endRecord         // the end records that place it
}

// endRecord is what zipfile makes of an archive's end records.
type endRecord struct {
	at           uint64 // offset of the (32-bit) end record
	zip64        bool
	size, offset uint64 // of the central directory
}

// findEnd finds the end of central directory record as zipfile's
// _EndRecData does: at the very end of the file when it has no comment,
// else the last signature in the last 64 KiB + 22 bytes; nil if none. A
// ZIP64 locator just before it replaces the directory's size and offset
// by the ZIP64 end record's.
func findEnd(r io.ReaderAt, size int64) (*endRecord, error) {
	if size < zipEOCDLen {
		return nil, nil
	}
	start := max(size-zipEOCDLen-(1<<16), 0)
	tail := make([]byte, size-start)
	if err := readFullAt(r, tail, start); err != nil {
		return nil, err
	}
	i := len(tail) - zipEOCDLen
	if !(string(tail[i:i+4]) == sigEOCD && tail[len(tail)-2] == 0 && tail[len(tail)-1] == 0) {
		i = bytes.LastIndex(tail, []byte(sigEOCD))
		if i < 0 || len(tail)-i < zipEOCDLen {
			return nil, nil
		}
	}
	le := binary.LittleEndian
	rec := tail[i : i+zipEOCDLen]
	end := &endRecord{at: uint64(start) + uint64(i), size: uint64(le.Uint32(rec[12:])), offset: uint64(le.Uint32(rec[16:]))}

	// _EndRecData64.
	locAt := int64(end.at) - eocd64LocLen
	if locAt < 0 {
		return end, nil
	}
	loc := make([]byte, eocd64LocLen)
	if err := readFullAt(r, loc, locAt); err != nil {
		return nil, err
	}
	if string(loc[:4]) != sigEOCD64Loc {
		return end, nil
	}
	if le.Uint32(loc[4:]) != 0 || le.Uint32(loc[16:]) > 1 {
		return nil, zipRefusal(multiDiskMsg)
	}
	recAt := locAt - eocd64Len
	if recAt < 0 {
		return end, nil
	}
	rec64 := make([]byte, eocd64Len)
	if err := readFullAt(r, rec64, recAt); err != nil {
		return nil, err
	}
	if string(rec64[:4]) != sigEOCD64 {
		return end, nil
	}
	end.zip64, end.size, end.offset = true, le.Uint64(rec64[40:]), le.Uint64(rec64[48:])
	return end, nil
}

// cp437 maps the upper half of code page 437 to Unicode, as Python decodes
// names of zip entries without the UTF-8 flag.
var cp437 = [128]rune([]rune(
	"ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
		"└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"))

// isASCII reports whether b is all ASCII.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeCP437 decodes b as code page 437.
func decodeCP437(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		if c < 0x80 {
			r[i] = rune(c)
		} else {
			r[i] = cp437[c-0x80]
		}
	}
	return string(r)
}

// cursor reads a file sequentially through a window, so that walking small
// records costs few ReadAt calls.
type cursor struct {
	r    io.ReaderAt
	size int64
	off  int64 // position of the next read; may pass size after a skip
	buf  []byte
	at   int64 // file offset of buf[0]
	win  []byte
}

func newCursor(r io.ReaderAt, size int64) *cursor {
	return &cursor{r: r, size: size, buf: make([]byte, max(min(size, copyBufferSize), 0))}
}

// read returns the next n bytes, valid until the next call, or a
// malformed-archive refusal when the file ends first.
func (c *cursor) read(n int) ([]byte, error) {
	if int64(n) > c.size-c.off || c.off > c.size {
		return nil, walkError(malformedMsg)
	}
	if c.off < c.at || c.off+int64(n) > c.at+int64(len(c.win)) {
		if n > len(c.buf) {
			c.buf = make([]byte, n)
		}
		k := min(int64(len(c.buf)), c.size-c.off)
		if err := readFullAt(c.r, c.buf[:k], c.off); err != nil {
			return nil, err
		}
		c.at, c.win = c.off, c.buf[:k]
	}
	i := c.off - c.at
	c.off += int64(n)
	return c.win[i : i+int64(n)], nil
}

// skip moves past n bytes, like a seek: past the end of the file is
// allowed, and caught by the next read or the trailing data check.
func (c *cursor) skip(n uint64) {
	c.off = satAdd(c.off, clampInt64(n))
}

// readUpTo returns the next n bytes, or fewer if the file ends first.
func (c *cursor) readUpTo(n int) ([]byte, error) {
	return c.read(int(max(min(int64(n), c.size-c.off), 0)))
}
