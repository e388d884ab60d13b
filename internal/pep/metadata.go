package pep

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrInvalidMetadata is matched, through errors.Is, by every error that
// ParseMetadata returns.
var ErrInvalidMetadata = errors.New("invalid metadata")

// MaxMetadataSize is the largest input, in bytes, ParseMetadata accepts.
const MaxMetadataSize = 16 << 20

// SupportedMetadataVersions lists the core metadata versions this package
// understands, oldest first. Callers must not modify it.
var SupportedMetadataVersions = []string{"1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"}

// SupportedMetadataVersion reports whether s, a Metadata-Version value, is
// one of SupportedMetadataVersions (compared exactly, after trimming
// surrounding whitespace).
func SupportedMetadataVersion(s string) bool {
	return slices.Contains(SupportedMetadataVersions, strings.TrimSpace(s))
}

// MetadataVersionAtLeast reports whether the Metadata-Version v is min or
// newer, both being SupportedMetadataVersions; an unknown v is not.
func MetadataVersionAtLeast(v, min string) bool {
	i, j := slices.Index(SupportedMetadataVersions, strings.TrimSpace(v)), slices.Index(SupportedMetadataVersions, min)
	return i >= 0 && j >= 0 && i >= j
}

// Metadata is the parsed content of a core metadata file (PKG-INFO in an
// sdist, METADATA in a wheel). Single-use fields hold the first non-empty
// value found for their header; list fields hold every non-empty value, in
// order. Values are not validated.
type Metadata struct {
	MetadataVersion        string
	Name                   string
	Version                string
	Summary                string
	Description            string
	DescriptionContentType string
	Keywords               string
	HomePage               string
	DownloadURL            string
	Author                 string
	AuthorEmail            string
	Maintainer             string
	MaintainerEmail        string
	License                string
	LicenseExpression      string
	RequiresPython         string

	Classifiers        []string
	RequiresDist       []string
	ProvidesExtra      []string
	ProjectURLs        []string
	Platforms          []string
	SupportedPlatforms []string
	RequiresExternal   []string
	ProvidesDist       []string
	ObsoletesDist      []string
	Dynamic            []string
	LicenseFiles       []string
	// ImportNames and ImportNamespaces are metadata 2.5's Import-Name and
	// Import-Namespace (PEP 794): the importable names the project
	// provides, each optionally followed by "; private".
	ImportNames      []string
	ImportNamespaces []string

	// Fields holds every header as found, keyed by its lower-cased name,
	// with the values of repeated headers in order. Values are unfolded the
	// same way as in the typed fields. The message body is not in Fields.
	// It is left out of the JSON encoding: a stored copy of the metadata
	// keeps the typed fields only, not every unknown header an archive
	// carried.
	Fields map[string][]string `json:"-"`
}

// stringField returns a pointer to the single-use field for the lower-cased
// header name key, or nil.
func (m *Metadata) stringField(key string) *string {
	switch key {
	case "metadata-version":
		return &m.MetadataVersion
	case "name":
		return &m.Name
	case "version":
		return &m.Version
	case "summary":
		return &m.Summary
	case "description":
		return &m.Description
	case "description-content-type":
		return &m.DescriptionContentType
	case "keywords":
		return &m.Keywords
	case "home-page":
		return &m.HomePage
	case "download-url":
		return &m.DownloadURL
	case "author":
		return &m.Author
	case "author-email":
		return &m.AuthorEmail
	case "maintainer":
		return &m.Maintainer
	case "maintainer-email":
		return &m.MaintainerEmail
	case "license":
		return &m.License
	case "license-expression":
		return &m.LicenseExpression
	case "requires-python":
		return &m.RequiresPython
	}
	return nil
}

// listField returns a pointer to the multiple-use field for the lower-cased
// header name key, or nil.
func (m *Metadata) listField(key string) *[]string {
	switch key {
	case "classifier":
		return &m.Classifiers
	case "requires-dist":
		return &m.RequiresDist
	case "provides-extra":
		return &m.ProvidesExtra
	case "project-url":
		return &m.ProjectURLs
	case "platform":
		return &m.Platforms
	case "supported-platform":
		return &m.SupportedPlatforms
	case "requires-external":
		return &m.RequiresExternal
	case "provides-dist":
		return &m.ProvidesDist
	case "obsoletes-dist":
		return &m.ObsoletesDist
	case "dynamic":
		return &m.Dynamic
	case "license-file":
		return &m.LicenseFiles
	case "import-name":
		return &m.ImportNames
	case "import-namespace":
		return &m.ImportNamespaces
	}
	return nil
}

// multiLine reports whether the lower-cased header key keeps the line breaks
// of a folded value (Description and License), rather than unfolding it
// into one line.
func multiLine(key string) bool {
	return key == "description" || key == "license"
}

// header is one header field being collected: its name as found and its
// value lines, the first without the "Name:" prefix and the others with
// their leading whitespace.
type header struct {
	name  string
	lines []string
}

// ParseMetadata parses a core metadata file (PKG-INFO or METADATA): RFC
// 822-style "Name: value" header lines up to the first empty line, then an
// optional body holding the description.
//
// The parser is lenient, as the files found in the wild require: it
// tolerates CRLF line endings and a UTF-8 byte order mark, replaces invalid
// UTF-8 with U+FFFD, and skips malformed header lines (and their
// continuation lines). A header's continuation lines start with a space or
// a tab; for Description and License they are kept as separate lines, with
// the 8-space or "       |" prefix old tools write (or, failing that, the
// leading whitespace) removed, while other headers are unfolded into a
// single line. A non-blank body wins over a Description header.
//
// It returns an error wrapping ErrInvalidMetadata when the input is larger
// than MaxMetadataSize or lacks any of Metadata-Version, Name and Version.
// It does not check that the values are valid.
func ParseMetadata(b []byte) (*Metadata, error) {
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: input is %d bytes, more than the %d-byte limit", ErrInvalidMetadata, len(b), MaxMetadataSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	text := string(b)
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}

	m := &Metadata{Fields: make(map[string][]string)}
	var cur *header
	flush := func() {
		if cur != nil {
			m.add(cur)
			cur = nil
		}
	}
	body, inBody := "", false
	for rest := text; rest != ""; {
		line, next, _ := strings.Cut(rest, "\n")
		rest = next
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			body, inBody = rest, true
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A continuation line, or a stray one (after a malformed line or
			// before any header), which is dropped.
			if cur != nil {
				cur.lines = append(cur.lines, line)
			}
			continue
		}
		flush()
		if name, value, ok := strings.Cut(line, ":"); ok && validFieldName(name) {
			cur = &header{name: name, lines: []string{strings.TrimLeft(value, " \t")}}
		}
	}
	flush()

	if inBody && strings.TrimSpace(body) != "" {
		m.Description = strings.ReplaceAll(body, "\r\n", "\n")
	}

	var missing []string
	for _, f := range []struct{ name, value string }{
		{"Metadata-Version", m.MetadataVersion},
		{"Name", m.Name},
		{"Version", m.Version},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case len(m.Fields) == 0:
		return nil, fmt.Errorf("%w: no header fields found; not a PKG-INFO or METADATA file", ErrInvalidMetadata)
	case len(missing) > 0:
		return nil, fmt.Errorf("%w: missing required field(s) %s", ErrInvalidMetadata, strings.Join(missing, ", "))
	}
	return m, nil
}

// add records a complete header in Fields and in its typed field.
func (m *Metadata) add(h *header) {
	key := strings.ToLower(h.name)
	value := unfold(key, h.lines)
	m.Fields[key] = append(m.Fields[key], value)
	if p := m.stringField(key); p != nil {
		if *p == "" {
			*p = value
		}
		return
	}
	if p := m.listField(key); p != nil && value != "" {
		*p = append(*p, value)
	}
}

// unfold joins the lines of a header value. Description and License keep
// their line breaks, with the continuation prefix removed from every line;
// other headers are unfolded into one line, their lines trimmed and joined
// with single spaces.
func unfold(key string, lines []string) string {
	if len(lines) == 1 {
		return strings.TrimSpace(lines[0])
	}
	if !multiLine(key) {
		parts := make([]string, 0, len(lines))
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		return strings.Join(parts, " ")
	}
	out := make([]string, len(lines))
	out[0] = lines[0]
	for i, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "        "), strings.HasPrefix(l, "       |"):
			l = l[8:]
		default:
			l = strings.TrimLeft(l, " \t")
		}
		out[i+1] = l
	}
	return strings.TrimRight(strings.Join(out, "\n"), " \t\n")
}

// validFieldName reports whether s is an RFC 5322 field name: one or more
// printable ASCII characters other than ':' and space.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
