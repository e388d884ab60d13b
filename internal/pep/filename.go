package pep

import (
	"errors"
	"fmt"
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
