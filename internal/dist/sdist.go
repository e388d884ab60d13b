package dist

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	sdistSuffix  = ".tar.gz"
	pkgInfoName  = "PKG-INFO"
	sdistBombMsg = "File is a gzip bomb"
	// sniffLen is how much of the upload is looked at to recognise formats.
	sniffLen = 512
	// readBufferSize is the read-ahead on the compressed stream; it is kept
	// small so that a bomb is stopped after reading little more than needed.
	readBufferSize = 8 << 10
	// maxLinkBytes bounds the memory kept for the symbolic link check (a few
	// tens of bytes per path component at worst): the total length of the
	// names and targets of all symbolic links.
	maxLinkBytes = 1 << 20
)

// globalPAXKeys are the records accepted in a PAX global header (as written
// by "git archive"). Records that would change how later members are read
// (path, linkpath, size, ...) are refused, because readers disagree on
// whether they apply.
var globalPAXKeys = map[string]bool{
	"comment": true, "mtime": true, "atime": true, "ctime": true,
	"charset": true, "hdrcharset": true,
}

// InspectSdist checks a gzip-compressed tar source distribution (.tar.gz)
// and returns the bytes of <top>/PKG-INFO. size is the size in bytes of the
// compressed stream r, used for the decompression bomb check; r must yield
// exactly size bytes.
//
// The file must be gzip data (other formats, including an uncompressed tar,
// are refused with a message naming them) holding a tar archive with exactly
// one top-level directory, which directly contains a regular file PKG-INFO of
// at most lim.MaxMetadataSize bytes. Members must be safely named (relative,
// no ".." or "." components, no backslashes), be regular files,
// directories, or links whose targets stay inside the top-level directory
// (also when following other links in the archive); sparse files, devices,
// FIFOs and other special members are refused, as are more than
// lim.MaxMembers members, anything but zero padding after the tar
// end-of-archive marker, and any data after the gzip stream.
//
// A name may appear more than once, as tar allows and PyPI accepts: every
// occurrence is checked, and, as with Python's tarfile (and every extractor,
// which writes the members in order), the last one counts, so PKG-INFO is
// the content of its last occurrence, which must be a regular file.
//
// The whole stream is decompressed; if the total uncompressed size, declared
// by tar headers or actually produced, exceeds lim.MaxUncompressed and its
// ratio to size exceeds lim.MaxRatio, the upload is rejected as a gzip bomb as
// soon as that is known.
//
// Problems with the upload are reported as *Error. Errors returned by r, a
// nil r, a negative size or a size that does not match the stream are
// returned as other errors.
// Sdist is what InspectSdist found in an sdist it accepted.
type Sdist struct {
	// PKGInfo is the content of <top>/PKG-INFO (the last such member, as
	// Python's tarfile reads it).
	PKGInfo []byte
	// Top is the one top-level folder.
	Top string
	// Members are the names of every member, without a folder's trailing
	// '/': the index checks with them that every License-File the
	// metadata lists is in the archive.
	Members map[string]bool
}

func InspectSdist(r io.Reader, size int64, filename string, lim Limits) (*Sdist, error) {
	if r == nil {
		return nil, fmt.Errorf("dist: inspecting sdist %q: nil reader", filename)
	}
	if size < 0 {
		return nil, fmt.Errorf("dist: inspecting sdist %q: negative size %d", filename, size)
	}
	cr := &countingReader{r: r}
	sd, err := inspectSdist(cr, size, filename, lim.withDefaults())
	switch {
	case cr.err != nil:
		return nil, fmt.Errorf("dist: reading sdist %q: %w", filename, cr.err)
	case err != nil:
		return nil, err
	case cr.n != size:
		return nil, fmt.Errorf("dist: inspecting sdist %q: read %d bytes, but size is %d", filename, cr.n, size)
	}
	return sd, nil
}

func inspectSdist(cr *countingReader, size int64, filename string, lim Limits) (*Sdist, error) {
	if !hasSuffixFold(filename, sdistSuffix) {
		return nil, errorf("Invalid sdist filename '%s': only %s source distributions are supported",
			display(filename), sdistSuffix)
	}
	br := bufio.NewReaderSize(cr, readBufferSize)
	head, _ := br.Peek(sniffLen) // a short or failed read shows up below
	if !bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		return nil, errorf("%s", notGzipMessage(head))
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		return nil, errorf("File is not a valid gzip file")
	}
	s := &sdistWalker{
		filename: filename,
		lim:      lim,
		m:        &meter{limit: lim.bombThreshold(size)},
		members:  make(map[string]bool),
	}
	s.r = &meteredReader{r: gz, m: s.m}
	tr := tar.NewReader(s.r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			// ErrInsecurePath (GODEBUG=tarinsecurepath=0) comes with a
			// usable header; names are checked by s.member anyway.
			return nil, s.streamError(err)
		}
		if err := s.member(hdr, tr); err != nil {
			return nil, err
		}
	}
	if err := s.drain(); err != nil {
		return nil, err
	}
	if s.top == "" {
		return nil, errorf("Sdist '%s' does not contain a top-level directory", display(filename))
	}
	if err := checkSymlinks(s.links); err != nil {
		return nil, err
	}
	if s.pkgInfoOther != "" {
		return nil, s.notRegular(s.pkgInfoOther)
	}
	if s.pkgInfo == nil {
		return nil, errorf("Sdist '%s' does not contain the required %s file: %s/%s",
			display(filename), pkgInfoName, display(s.top), pkgInfoName)
	}
	return &Sdist{PKGInfo: s.pkgInfo, Top: s.top, Members: s.members}, nil
}

// sdistWalker holds the state of one pass over a tar archive.
type sdistWalker struct {
	filename  string
	lim       Limits
	m         *meter
	r         io.Reader // decompressed stream, metered
	count     int
	top       string
	members   map[string]bool
	links     []symlink
	linkBytes int
	// pkgInfo is the content of the last PKG-INFO member so far when it
	// is a regular file (non-nil, even if empty); otherwise pkgInfoOther
	// names that last member.
	pkgInfo      []byte
	pkgInfoOther string
}

// symlink is a symbolic link member: name is relative to the archive root,
// target to the directory holding the link.
type symlink struct{ name, target string }

// member checks one tar header, reading the member's content if it is
// PKG-INFO (tar.Reader skips anything left unread, through the meter).
func (s *sdistWalker) member(hdr *tar.Header, tr *tar.Reader) error {
	s.count++
	if s.count > s.lim.MaxMembers {
		return errorf("Tar file contains too many members (more than %d)", s.lim.MaxMembers)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		for k := range hdr.PAXRecords {
			if !globalPAXKeys[k] {
				return errorf("Tar file contains an unsupported global PAX header record '%s'", display(k))
			}
		}
		return nil
	}
	if isSparse(hdr) {
		return errorf("Tar file contains a sparse member: '%s'", display(hdr.Name))
	}
	if why := checkMemberName(hdr.Name); why != "" {
		return errorf("Tar file contains a member with an invalid path (%s): '%s'", why, display(hdr.Name))
	}
	name := strings.TrimSuffix(hdr.Name, "/")
	s.members[name] = true
	top, rest, nested := strings.Cut(name, "/")
	if !nested && hdr.Typeflag != tar.TypeDir {
		return errorf("Sdist '%s' must contain exactly one top-level directory, but '%s' is not a directory",
			display(s.filename), display(name))
	}
	if s.top == "" {
		s.top = top
	} else if top != s.top {
		return errorf("Sdist '%s' must contain exactly one top-level directory, found '%s' and '%s'",
			display(s.filename), display(s.top), display(top))
	}
	isPKGInfo := rest == pkgInfoName
	regular := hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeCont
	if isPKGInfo && !regular {
		// Refused at the end unless a regular PKG-INFO follows; the
		// member's own checks still apply.
		s.pkgInfo, s.pkgInfoOther = nil, name
	}

	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeCont:
		// Stop before decompressing a member that admits to being too big.
		if s.m.wouldExceed(hdr.Size) {
			return errorf(sdistBombMsg)
		}
		if isPKGInfo {
			return s.readPKGInfo(hdr, tr)
		}
	case tar.TypeDir:
		// Nothing to read or resolve.
	case tar.TypeSymlink:
		return s.addSymlink(name, hdr.Linkname)
	case tar.TypeLink:
		t := strings.TrimSuffix(hdr.Linkname, "/")
		if checkMemberName(t) != "" || !strings.HasPrefix(t, s.top+"/") {
			return errorf("Tar file contains a hard link pointing outside the top-level directory: '%s' -> '%s'",
				display(name), display(hdr.Linkname))
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return errorf("Tar file contains a device or FIFO member: '%s'", display(name))
	default:
		return errorf("Tar file contains a member of unsupported type '%s': '%s'",
			display(string(hdr.Typeflag)), display(name))
	}
	return nil
}

// notRegular reports a PKG-INFO member that is not a regular file.
func (s *sdistWalker) notRegular(name string) error {
	return errorf("Sdist '%s' %s is not a regular file: %s", display(s.filename), pkgInfoName, display(name))
}

// readPKGInfo reads the content of PKG-INFO, bounded by MaxMetadataSize.
func (s *sdistWalker) readPKGInfo(hdr *tar.Header, tr *tar.Reader) error {
	if hdr.Size > s.lim.MaxMetadataSize {
		return errorf("Sdist '%s' %s file is too large (%d bytes, limit %d)",
			display(s.filename), pkgInfoName, hdr.Size, s.lim.MaxMetadataSize)
	}
	data := make([]byte, hdr.Size)
	if _, err := io.ReadFull(tr, data); err != nil {
		return s.streamError(err)
	}
	s.pkgInfo, s.pkgInfoOther = data, ""
	return nil
}

// addSymlink records a symbolic link for checkSymlinks, after the checks that
// need no other member.
func (s *sdistWalker) addSymlink(name, target string) error {
	if target == "" || len(target) > maxNameLen || target[0] == '/' || hasDriveLetter(target) ||
		strings.ContainsAny(target, "\\\x00") {
		return errorf("Tar file contains a symbolic link pointing outside the top-level directory: '%s' -> '%s'",
			display(name), display(target))
	}
	s.linkBytes += len(name) + len(target)
	if s.linkBytes > maxLinkBytes {
		return errorf("Tar file contains too many symbolic links")
	}
	s.links = append(s.links, symlink{name: name, target: target})
	return nil
}

// drain reads what follows the tar end-of-archive marker to the end of the
// gzip stream, which verifies the gzip checksum(s) and counts the bytes
// against the bomb threshold. Only zero padding is allowed there: anything
// else is data that some tools would see and others would not.
func (s *sdistWalker) drain() error {
	buf := make([]byte, copyBufferSize)
	for {
		n, err := s.r.Read(buf)
		if s.m.tripped {
			return errorf(sdistBombMsg)
		}
		if !isZero(buf[:n]) {
			return errorf("Tar file contains data after the end-of-archive marker")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.streamError(err)
		}
	}
}

// streamError turns a failure to read the compressed tar stream into an
// *Error describing it.
func (s *sdistWalker) streamError(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case s.m.tripped || errors.Is(err, errBomb):
		return errorf(sdistBombMsg)
	case errors.Is(err, gzip.ErrChecksum):
		return errorf("Gzip data is corrupt (checksum mismatch)")
	case errors.Is(err, gzip.ErrHeader):
		// The next gzip member header is invalid: garbage after the stream.
		return errorf("File contains data after the end of the gzip stream")
	case errors.As(err, &corrupt):
		return errorf("Gzip data is corrupt")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf("File is truncated")
	case s.count == 0:
		return errorf("File is gzip-compressed but does not contain a tar archive")
	default:
		return errorf("Tar archive is corrupt")
	}
}

// isSparse reports whether hdr describes a GNU sparse file, in the old GNU
// format or in any of the PAX formats.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// checkSymlinks verifies that every symbolic link resolves inside the
// top-level directory, the first component of its name. Targets are resolved lexically from the link's
// directory, which is only sound while no symbolic link has been walked
// through: after one, the following components are relative to its target,
// not to its lexical location. So ".." is refused once the walk has entered a
// symbolic link (from the link's own directory or its target); a walk then
// only descends from the link's target, which is itself checked to be inside.
func checkSymlinks(links []symlink) error {
	if len(links) == 0 {
		return nil
	}
	t := newLinkTrie()
	for _, l := range links {
		t.insert(l.name)
	}
	for _, l := range links {
		if !t.resolvesInside(l) {
			return errorf("Tar file contains a symbolic link pointing outside the top-level directory: '%s' -> '%s'",
				display(l.name), display(l.target))
		}
	}
	return nil
}

// linkTrie is a tree of path components in which the nodes that are
// symbolic links are marked. Walking it costs time proportional to the length
// of the path walked, whatever the depth.
type linkTrie struct {
	nodes  map[trieKey]int32
	isLink []bool // indexed by node id; node 0 is the archive root
}

type trieKey struct {
	parent int32
	name   string
}

const noNode = -1 // a path not in the trie: no link at or below it

func newLinkTrie() *linkTrie {
	return &linkTrie{nodes: make(map[trieKey]int32), isLink: []bool{false}}
}

// insert marks the slash-separated path p as a symbolic link.
func (t *linkTrie) insert(p string) {
	node := int32(0)
	for c := range strings.SplitSeq(p, "/") {
		k := trieKey{node, c}
		id, ok := t.nodes[k]
		if !ok {
			id = int32(len(t.isLink))
			t.nodes[k] = id
			t.isLink = append(t.isLink, false)
		}
		node = id
	}
	t.isLink[node] = true
}

// walkStep is one component of a path being walked.
type walkStep struct {
	node int32 // trie node of the lexical path so far, or noNode
	// viaLink is set once the path so far goes through a symbolic link,
	// from which point the lexical path no longer says where it is.
	viaLink bool
}

// push returns the step for component c below parent.
func (t *linkTrie) push(parent walkStep, c string) walkStep {
	node := int32(noNode)
	if parent.node != noNode {
		if id, ok := t.nodes[trieKey{parent.node, c}]; ok {
			node = id
		}
	}
	return walkStep{node: node, viaLink: parent.viaLink || (node != noNode && t.isLink[node])}
}

// resolvesInside reports whether l's target, resolved from the directory
// holding l, stays within the top-level directory (the first component of
// l.name) without applying ".." after entering a symbolic link.
func (t *linkTrie) resolvesInside(l symlink) bool {
	var stack []walkStep
	cur := walkStep{node: 0}
	for c := range strings.SplitSeq(path.Dir(l.name), "/") {
		cur = t.push(cur, c)
		stack = append(stack, cur)
	}
	for c := range strings.SplitSeq(l.target, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(stack) <= 1 || stack[len(stack)-1].viaLink {
				return false
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, t.push(stack[len(stack)-1], c))
		}
	}
	return true
}

// notGzipMessage names the format of an upload that is not gzip data.
func notGzipMessage(head []byte) string {
	switch {
	case len(head) >= tarMagicOffset+len(tarMagic) &&
		string(head[tarMagicOffset:tarMagicOffset+len(tarMagic)]) == tarMagic:
		return "File is an uncompressed tar archive; source distributions must be gzip-compressed (.tar.gz)"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte(zipEOCDSig)):
		return "File is a zip file, not a gzip-compressed tar archive (.tar.gz)"
	case bytes.HasPrefix(head, []byte("BZh")):
		return "File is bzip2-compressed; source distributions must be gzip-compressed (.tar.gz)"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return "File is xz-compressed; source distributions must be gzip-compressed (.tar.gz)"
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return "File is zstd-compressed; source distributions must be gzip-compressed (.tar.gz)"
	default:
		return "File is not a gzip-compressed tar archive (.tar.gz)"
	}
}

// hasSuffixFold reports whether s ends with suffix, ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// countingReader counts the bytes read from r and records the first error
// other than io.EOF, so that read failures are not mistaken for malformed
// uploads.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}
