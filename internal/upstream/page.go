package upstream

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cheeseshop/internal/pep"
)

// Page is an upstream project's simple page as this package understood
// it: only files it could check are listed.
type Page struct {
	// Name is the project's name as the upstream spells it (it normalizes
	// to the requested name); the normalized name when the page gave none.
	Name string
	// Status is the PEP 792 status (active, archived, deprecated or
	// quarantined; active when the page says none or an unknown one), with
	// its reason (one line, at most MaxStatusReason characters).
	Status, StatusReason string
	// Files are the distributions of the project the page lists, in page
	// order, unique by filename and by SHA-256.
	Files []File
	// URL is the page's URL, after redirects, without credentials.
	URL string
	// ETag and LastModified are the validators of the answer, for the next
	// conditional fetch.
	ETag, LastModified string
	// Format is "json" (PEP 691) or "html" (PEP 503).
	Format string
	// Dropped counts the entries left out as unsafe or unreadable, and
	// Warnings says why (the first few, for a log line).
	Dropped  int
	Warnings []string
	// Skipped counts the files of formats pip does not install (eggs,
	// Windows installers, ...), left out without a warning: old projects
	// on PyPI list many.
	Skipped int
}

// File is one distribution file of an upstream page.
type File struct {
	// Filename is a wheel, sdist or legacy archive name of the project.
	Filename string
	// Version is the normalized PEP 440 version in the filename.
	Version string
	// URL is where it is fetched: absolute, on an allowed host, without
	// credentials or fragment.
	URL string
	// SHA256 is its lower-case hex digest, as the page lists it.
	SHA256 string
	// RequiresPython is its Requires-Python, "" when none.
	RequiresPython string
	// MetadataSHA256 is the digest of its core metadata file (PEP 658/714),
	// "" when the page does not advertise one with a SHA-256.
	MetadataSHA256 string
	// Yanked tells a yanked file (PEP 592), with its reason (at most
	// MaxYankReason characters).
	Yanked       bool
	YankedReason string
	// Size is its length in bytes (PEP 700), -1 when unknown.
	Size int64
	// UploadTime is when it was uploaded (PEP 700), zero when unknown.
	UploadTime time.Time
}

// MetadataURL returns the URL of the file's core metadata (PEP 658).
func (f File) MetadataURL() string { return f.URL + ".metadata" }

// Limits of a page: a page listing more than MaxFiles entries is
// refused; an entry beyond the others is dropped or its text cut.
const (
	MaxFiles           = 200_000
	MaxFilenameBytes   = 255
	MaxURLBytes        = 8 << 10
	MaxRequiresPython  = 1 << 10
	MaxYankReason      = 1000 // characters, as a local yank
	MaxStatusReason    = 400  // characters, as a local status
	MaxNameLength      = 200
	MaxFutureUploadGap = time.Hour // an upload-time further ahead is unknown
	maxWarnings        = 20
	maxAnchorText      = 1 << 10
)

// ParseOptions says what a page must be.
type ParseOptions struct {
	// Project is the normalized name asked for: the page must be of it,
	// and its files too.
	Project string
	// PageURL is the page's URL: relative file URLs resolve against it.
	PageURL *url.URL
	// Allowed accepts the file URLs (Upstream.Allowed); nil accepts none.
	Allowed func(*url.URL) bool
	// Now is the time of the fetch, to refuse upload times in the future;
	// zero: the wall clock.
	Now time.Time
}

// rawFile is an entry as a page gives it, before it is checked.
type rawFile struct {
	filename       string
	url            *url.URL // resolved
	sha256         string
	requiresPython string
	metadataSHA256 string
	yanked         bool
	yankedReason   string
	size           int64
	uploadTime     time.Time
}

// builder collects the checked files of a page.
type builder struct {
	o         ParseOptions
	page      *Page
	filenames map[string]bool
	digests   map[string]bool
}

func newBuilder(o ParseOptions, format string) *builder {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return &builder{o: o, page: &Page{Name: o.Project, Status: "active", Format: format},
		filenames: map[string]bool{}, digests: map[string]bool{}}
}

// warn notes why something was dropped or changed.
func (b *builder) warn(format string, args ...any) {
	if len(b.page.Warnings) < maxWarnings {
		b.page.Warnings = append(b.page.Warnings, fmt.Sprintf(format, args...))
	}
}

// drop leaves an entry out.
func (b *builder) drop(filename, reason string) {
	b.page.Dropped++
	b.warn("dropped %q: %s", cut(strings.ToValidUTF8(filename, "?"), 100), reason)
}

// setName checks the page's own name against the one asked for.
func (b *builder) setName(name string) error {
	if len(name) > MaxNameLength || !pep.ValidProjectName(name) || pep.NormalizeName(name) != b.o.Project {
		return fmt.Errorf("the page is of project %q, not %q", cut(strings.ToValidUTF8(name, "?"), 100), b.o.Project)
	}
	b.page.Name = name
	return nil
}

// setStatus records the PEP 792 status; an unknown one is active.
func (b *builder) setStatus(status, reason string) {
	switch status {
	case "", "active":
		status = "active"
	case "archived", "deprecated", "quarantined":
	default:
		b.warn("unknown project status %q taken as active", cut(strings.ToValidUTF8(status, "?"), 40))
		status = "active"
	}
	b.page.Status = status
	if status != "active" {
		b.page.StatusReason = cleanLine(reason, MaxStatusReason)
	}
}

// resolve parses ref against base and checks it is an allowed URL,
// returning it without its fragment (and the fragment apart).
func (b *builder) resolve(base *url.URL, ref string) (u *url.URL, fragment string, err error) {
	if len(ref) > MaxURLBytes {
		return nil, "", fmt.Errorf("URL longer than %d bytes", MaxURLBytes)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, "", fmt.Errorf("no URL")
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, "", fmt.Errorf("bad URL")
	}
	if base != nil {
		r = base.ResolveReference(r)
	}
	fragment = r.Fragment
	r.Fragment, r.RawFragment = "", ""
	if b.o.Allowed == nil || !b.o.Allowed(r) {
		return nil, "", fmt.Errorf("URL %s is not on an allowed host", cut(redact(r), 200))
	}
	return r, fragment, nil
}

// add checks an entry and keeps it, or drops it.
func (b *builder) add(f rawFile) {
	if slices.ContainsFunc(uninstallable, func(ext string) bool { return strings.HasSuffix(f.filename, ext) }) {
		b.page.Skipped++
		return
	}
	version, reason := checkFilename(f.filename, b.o.Project)
	switch {
	case reason != "":
		b.drop(f.filename, reason)
		return
	case b.filenames[f.filename]:
		b.drop(f.filename, "listed twice")
		return
	}
	sha := strings.ToLower(f.sha256)
	if !validDigest(sha) {
		b.drop(f.filename, "no valid SHA-256")
		return
	}
	if b.digests[sha] {
		b.drop(f.filename, "same SHA-256 as another file")
		return
	}
	rp := strings.TrimSpace(f.requiresPython)
	if len(rp) > MaxRequiresPython || !utf8.ValidString(rp) || strings.ContainsFunc(rp, unicode.IsControl) {
		b.drop(f.filename, "requires-python too long or not one line of text")
		return
	}
	meta := strings.ToLower(f.metadataSHA256)
	if !validDigest(meta) {
		meta = ""
	}
	size := f.size
	if size < 0 {
		size = -1
	}
	t := f.uploadTime
	if !t.IsZero() {
		t = t.UTC()
		if t.After(b.o.Now.Add(MaxFutureUploadGap)) || t.Year() < 1970 {
			b.warn("%s: upload-time %s taken as unknown", f.filename, t.Format(time.RFC3339))
			t = time.Time{}
		}
	}
	var yr string
	if f.yanked {
		yr = cleanLine(f.yankedReason, MaxYankReason)
	}
	b.filenames[f.filename] = true
	b.digests[sha] = true
	b.page.Files = append(b.page.Files, File{Filename: f.filename, Version: version, URL: f.url.String(),
		SHA256: sha, RequiresPython: rp, MetadataSHA256: meta, Yanked: f.yanked, YankedReason: yr,
		Size: size, UploadTime: t})
}

// uninstallable are the extensions of the distributions pip never
// installs, which PyPI still lists.
var uninstallable = []string{".egg", ".exe", ".msi", ".rpm", ".dmg", ".deb"}

// archiveExtensions are the distribution archives pip installs, besides
// wheels: sdists and legacy source archives.
var archiveExtensions = []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"}

// checkFilename returns the normalized version of a distribution file of
// project, or why the filename is refused: not a wheel, sdist or legacy
// source archive whose name part normalizes to project (a page cannot list
// another project's files), or unsafe as a filename.
func checkFilename(filename, project string) (version, reason string) {
	switch {
	case filename == "" || len(filename) > MaxFilenameBytes:
		return "", "filename empty or too long"
	case !utf8.ValidString(filename) || strings.ContainsAny(filename, `/\`) || strings.ContainsFunc(filename, unicode.IsControl) || filename[0] == '.':
		return "", "unsafe filename"
	}
	var name, ver string
	if strings.HasSuffix(filename, ".whl") {
		w, err := pep.ParseWheelFilename(filename)
		if err != nil {
			return "", "not a valid wheel filename"
		}
		name, ver = w.Name, w.Version
	} else {
		i := slices.IndexFunc(archiveExtensions, func(ext string) bool { return strings.HasSuffix(filename, ext) })
		if i < 0 {
			return "", "not a wheel or source archive"
		}
		stem := strings.TrimSuffix(filename, archiveExtensions[i])
		dash := strings.LastIndexByte(stem, '-')
		if dash <= 0 {
			return "", "no version in the filename"
		}
		name, ver = stem[:dash], stem[dash+1:]
	}
	if pep.NormalizeName(name) != project {
		return "", "not a file of this project"
	}
	v, err := pep.ParseVersion(ver)
	if err != nil {
		return "", "no valid version in the filename"
	}
	return v.String(), ""
}

// validDigest reports whether s is a lower-case hex SHA-256.
func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cleanLine makes s one line of valid UTF-8 text of at most max
// characters: control characters become spaces, the ends are trimmed.
func cleanLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(cut(s, max))
}

// cut returns the first max characters of s.
func cut(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return s[:i]
		}
		n++
	}
	return s
}

// Versions returns the distinct versions of files, in PEP 440 order
// (for PEP 700's "versions", recomputed from the files kept or visible).
func Versions(files []File) []string {
	seen := make(map[string]pep.Version, len(files))
	for _, f := range files {
		if _, ok := seen[f.Version]; ok {
			continue
		}
		if v, err := pep.ParseVersion(f.Version); err == nil {
			seen[f.Version] = v
		}
	}
	versions := make([]string, 0, len(seen))
	for s := range seen {
		versions = append(versions, s)
	}
	slices.SortFunc(versions, func(a, b string) int {
		if c := seen[a].Compare(seen[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return versions
}
