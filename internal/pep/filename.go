package pep

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidWheelFilename is matched, through errors.Is, by every error that
// ParseWheelFilename returns.
var ErrInvalidWheelFilename = errors.New("Invalid wheel filename")

// ErrInvalidSdistFilename is matched, through errors.Is, by every error that
// ParseSdistFilename returns.
var ErrInvalidSdistFilename = errors.New("Invalid sdist filename")

// WheelFilename holds the parts of a wheel filename,
// {name}-{version}(-{build})?-{python tags}-{abi tags}-{platform tags}.whl.
type WheelFilename struct {
	// Name is the distribution name exactly as found in the filename
	// (normally WheelNamePrefix of the project name).
	Name string
	// Version is the version exactly as found in the filename; it is known
	// to parse with ParseVersion.
	Version string
	// Build is the optional build tag as found, "" when there is none; when
	// present it starts with a digit.
	Build string
	// PythonTags, ABITags and PlatformTags are the '.'-separated members of
	// the three compressed tag sets, as found in the filename (not
	// lower-cased).
	PythonTags, ABITags, PlatformTags []string
}

// MaxWheelTags is the largest number of expanded compatibility tags (the
// product of the numbers of Python, ABI and platform tags) a wheel filename
// may have for ParseWheelFilename to accept it. Real wheels have a handful;
// the limit keeps Tags cheap on hostile input.
const MaxWheelTags = 4096

// Tags returns the expanded compatibility tags of the wheel, every
// "{python}-{abi}-{platform}" combination, in filename order.
func (w WheelFilename) Tags() []string {
	tags := make([]string, 0, len(w.PythonTags)*len(w.ABITags)*len(w.PlatformTags))
	for _, py := range w.PythonTags {
		for _, abi := range w.ABITags {
			for _, plat := range w.PlatformTags {
				tags = append(tags, py+"-"+abi+"-"+plat)
			}
		}
	}
	return tags
}

// ParseWheelFilename splits a wheel filename into its parts, checking it as
// packaging.utils.parse_wheel_filename (packaging 23.0) does: it must end in
// ".whl" and have 5 or 6 '-'-separated parts; the name part may only hold
// letters, digits, '_' and '.', and no "__" (that is, it must be the escaped
// form of the name, in which every '-' has become '_'); the version must be
// a PEP 440 version; the build tag, when there is one, must start with a
// digit. The tags themselves are not checked (see ValidPlatformTag).
//
// Errors wrap ErrInvalidWheelFilename (and ErrInvalidVersion for a bad
// version) and read like packaging's, for example
// "Invalid wheel filename (wrong number of parts): foo-1.0.whl".
//
// Differences from packaging: an empty name part is rejected, as is a name
// part ending in a newline (which Python's re lets through because '$'
// matches before a final newline), and a filename with more than
// MaxWheelTags expanded tags.
func ParseWheelFilename(filename string) (WheelFilename, error) {
	stem, ok := strings.CutSuffix(filename, ".whl")
	if !ok {
		return WheelFilename{}, fmt.Errorf("%w (extension must be '.whl'): %s", ErrInvalidWheelFilename, filename)
	}
	dashes := strings.Count(stem, "-")
	if dashes != 4 && dashes != 5 {
		return WheelFilename{}, fmt.Errorf("%w (wrong number of parts): %s", ErrInvalidWheelFilename, filename)
	}
	parts := strings.Split(stem, "-")
	name := parts[0]
	if !validWheelNamePart(name) {
		return WheelFilename{}, fmt.Errorf("%w (invalid project name %q): %s", ErrInvalidWheelFilename, name, filename)
	}
	version := parts[1]
	if _, err := ParseVersion(version); err != nil {
		return WheelFilename{}, fmt.Errorf("%w (invalid version): %s: %w", ErrInvalidWheelFilename, filename, err)
	}
	if name == "" {
		return WheelFilename{}, fmt.Errorf("%w (empty project name): %s", ErrInvalidWheelFilename, filename)
	}
	w := WheelFilename{Name: name, Version: version}
	if dashes == 5 {
		w.Build = parts[2]
		if r, _ := utf8.DecodeRuneInString(w.Build); !unicode.IsDigit(r) {
			return WheelFilename{}, fmt.Errorf("%w (invalid build number %q): %s", ErrInvalidWheelFilename, w.Build, filename)
		}
	}
	n := len(parts)
	w.PythonTags = strings.Split(parts[n-3], ".")
	w.ABITags = strings.Split(parts[n-2], ".")
	w.PlatformTags = strings.Split(parts[n-1], ".")
	if len(w.PythonTags)*len(w.ABITags)*len(w.PlatformTags) > MaxWheelTags {
		return WheelFilename{}, fmt.Errorf("%w (more than %d tags): %s", ErrInvalidWheelFilename, MaxWheelTags, filename)
	}
	return w, nil
}

// validWheelNamePart reports whether s is acceptable as the name part of a
// wheel filename: packaging's `"__" not in s and re.match(r"^[\w\d._]*$", s)`,
// except that a trailing newline is refused. Python's \w takes any Unicode
// letter or number, as unicode.IsLetter and unicode.IsNumber do. (The empty
// name, which this accepts, is refused after the version is checked, so
// that the error for a filename with both problems is packaging's.)
func validWheelNamePart(s string) bool {
	if strings.Contains(s, "__") {
		return false
	}
	for _, r := range s {
		if r != '_' && r != '.' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return false
		}
	}
	return true
}

// ParseSdistFilename splits a source distribution filename into its name and
// version parts, as packaging.utils.parse_sdist_filename (packaging 23.0)
// does: the extension must be ".tar.gz" or ".zip", the stem is split at its
// last '-', and the part after it must be a PEP 440 version. The name and
// version are returned as found in the filename; the name is not checked.
//
// Errors wrap ErrInvalidSdistFilename (and ErrInvalidVersion for a bad
// version). Difference from packaging: an empty name part is rejected.
func ParseSdistFilename(filename string) (name, version string, err error) {
	var stem string
	switch {
	case strings.HasSuffix(filename, ".tar.gz"):
		stem = strings.TrimSuffix(filename, ".tar.gz")
	case strings.HasSuffix(filename, ".zip"):
		stem = strings.TrimSuffix(filename, ".zip")
	default:
		return "", "", fmt.Errorf("%w (extension must be '.tar.gz' or '.zip'): %s", ErrInvalidSdistFilename, filename)
	}
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return "", "", fmt.Errorf("%w (no '-' between name and version): %s", ErrInvalidSdistFilename, filename)
	}
	name, version = stem[:i], stem[i+1:]
	if _, err := ParseVersion(version); err != nil {
		return "", "", fmt.Errorf("%w (invalid version): %s: %w", ErrInvalidSdistFilename, filename, err)
	}
	if name == "" {
		return "", "", fmt.Errorf("%w (empty project name): %s", ErrInvalidSdistFilename, filename)
	}
	return name, version, nil
}

// SdistFilename returns the PEP 625 filename of the source distribution of
// version v of the project called name:
// "{WheelNamePrefix(name)}-{v}.tar.gz", for example
// SdistFilename("Foo.Bar", v1_0) is "foo_bar-1.0.tar.gz".
func SdistFilename(name string, v Version) string {
	return WheelNamePrefix(name) + "-" + v.String() + ".tar.gz"
}

// NormalizeSdistFilename returns the PEP 625 filename of the source
// distribution that filename names, and whether it names one: a ".tar.gz"
// whose name part, split at the last '-' as ParseSdistFilename does, is a
// valid project name (ValidProjectName) and whose version part is a PEP 440
// version. The name part is normalized as in SdistFilename and the version
// is written in its normalized form, so the legacy names that setuptools
// before 69.3 and other old tools wrote become the names PyPI requires:
// "nc-hello-0.1.0.tar.gz" and "NC.Hello-0.1.00.tar.gz" both give
// "nc_hello-0.1.0.tar.gz". A PEP 625 filename is returned unchanged.
//
// A ".zip" sdist (which no rename makes a ".tar.gz"), a version spelled
// with a hyphen ("foo-1.0-1.tar.gz", read as the project "foo-1.0") and
// any other filename give "", false. The caller must still check that the
// name and version are those of the upload or of the archive's PKG-INFO.
func NormalizeSdistFilename(filename string) (string, bool) {
	if !strings.HasSuffix(filename, ".tar.gz") {
		return "", false
	}
	name, version, err := ParseSdistFilename(filename)
	if err != nil || !ValidProjectName(name) {
		return "", false
	}
	v, _ := ParseVersion(version) // ParseSdistFilename checked it
	return SdistFilename(name, v), true
}

// ValidTag reports whether s is acceptable as one member of a wheel
// filename's Python, ABI or platform tag set (the parts between '.'): one
// or more ASCII letters, digits and '_', as every tag packaging and
// installers produce is. Anything else (HTML, quotes, ";#?", spaces,
// non-ASCII letters that fold to ASCII ones, an empty member) is refused.
func ValidTag(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isASCIIAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

// FilenameKey returns the canonical form of a distribution filename: the
// key under which a used filename is remembered, so that a spelling
// variant of it counts as the same name. Two filenames with the same key
// name the same distribution to an installer:
//
//   - a wheel "wheel:{name}-{version}-{python}-{abi}-{platform}", where
//     name is WheelNamePrefix of the name part (case, '.', '-', '_' and
//     look-alikes such as the Kelvin sign folded), version is the
//     Canonical form of the version (1.0, 1.0.0, 1.00, v1.0 and
//     1.0-post0 spellings agree), each tag set is lower-cased,
//     deduplicated and sorted (py3.py2 is py2.py3, py3.py3 is py3), and
//     the build tag is dropped (a build of the same release and tags
//     is the same slot);
//   - a source distribution "sdist:{name}-{version}", whatever its
//     extension (a release has one sdist);
//   - anything else, or a filename these parsers refuse,
//     "file:{filename lower-cased}".
//
// FilenameKey never fails; its cost is linear in the length of filename.
func FilenameKey(filename string) string {
	if w, err := ParseWheelFilename(filename); err == nil {
		v, _ := ParseVersion(w.Version) // ParseWheelFilename checked it
		var b strings.Builder
		b.WriteString("wheel:")
		b.WriteString(WheelNamePrefix(w.Name))
		b.WriteByte('-')
		b.WriteString(v.Canonical())
		for _, set := range [][]string{w.PythonTags, w.ABITags, w.PlatformTags} {
			b.WriteByte('-')
			b.WriteString(tagSetKey(set))
		}
		return b.String()
	}
	if name, version, err := ParseSdistFilename(filename); err == nil {
		v, _ := ParseVersion(version)
		return "sdist:" + WheelNamePrefix(name) + "-" + v.Canonical()
	}
	return "file:" + strings.ToLower(filename)
}

// tagSetKey returns a compressed tag set lower-cased, deduplicated and
// sorted, joined with '.'.
func tagSetKey(tags []string) string {
	lower := make([]string, len(tags))
	for i, t := range tags {
		lower[i] = strings.ToLower(t)
	}
	slices.Sort(lower)
	return strings.Join(slices.Compact(lower), ".")
}
