package pep

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidVersion is matched, through errors.Is, by every error that
// ParseVersion returns, and by the errors of the filename parsers when the
// version part of a filename is not a PEP 440 version.
var ErrInvalidVersion = errors.New("Invalid version")

// Version is a parsed PEP 440 version.
//
// Numbers are kept as decimal strings (without leading zeros), so versions
// such as 1.0.99999999999999999999 are handled exactly, the way Python's
// arbitrary-precision integers handle them.
//
// The zero Version behaves as the version "0". Versions hold slices, so use
// Compare or Equal rather than == to compare them.
type Version struct {
	epoch   string   // "" means 0
	release []string // empty means [0]
	pre     string   // "", "a", "b" or "rc"
	preN    string   // the pre-release number when pre != ""
	post    string   // the post-release number, "" when there is none
	dev     string   // the development release number, "" when there is none
	local   []string // normalized local segment parts, nil when there is none
}

// ParseVersion parses s as a PEP 440 version. It accepts exactly what
// packaging.version.Version accepts: letters in any case, leading and
// trailing whitespace, an optional "v" prefix, the alternative spellings
// alpha, beta, c, pre, preview, rev and r, '-', '_' and '.' separators,
// implicit numbers ("1.0a" is 1.0a0) and implicit post releases ("1.0-1" is
// 1.0.post1). Anything else is rejected with an error that names the input
// and wraps ErrInvalidVersion.
//
// Difference from packaging: packaging matches letters with Python's
// Unicode-aware case folding, so it also takes the four non-ASCII letters
// that fold to ASCII ones (U+0130, U+0131, U+017F and U+212A, as in
// "1.0.poſt1"); ParseVersion rejects them.
func ParseVersion(s string) (Version, error) {
	v, ok := parseVersion(s)
	if !ok {
		return Version{}, fmt.Errorf("%w: %q", ErrInvalidVersion, s)
	}
	return v, nil
}

// parseVersion is a hand-written matcher equivalent to packaging's
// VERSION_PATTERN anchored with ^\s* and \s*$ and compiled with re.VERBOSE and
// re.IGNORECASE. The regular expression is greedy and backtracks, but every
// optional part it has can be decided by looking at the next characters, so
// a single left-to-right pass gives the same groups.
func parseVersion(s string) (Version, bool) {
	s = strings.TrimFunc(s, isPySpace)
	var v Version
	p := 0
	if p < len(s) && (s[p] == 'v' || s[p] == 'V') {
		p++
	}

	// Epoch and release.
	num, p := scanDigits(s, p)
	if num == "" {
		return Version{}, false
	}
	if p < len(s) && s[p] == '!' {
		v.epoch = trimLeadingZeros(num)
		if num, p = scanDigits(s, p+1); num == "" {
			return Version{}, false
		}
	}
	v.release = append(v.release, trimLeadingZeros(num))
	for p+1 < len(s) && s[p] == '.' && isASCIIDigit(s[p+1]) {
		num, p = scanDigits(s, p+1)
		v.release = append(v.release, trimLeadingZeros(num))
	}

	// Pre-release: [-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*
	q := skipSeparator(s, p)
	if label, n := matchLabel(s, q, preLabels); n > 0 {
		v.pre = label
		v.preN, p = scanLetterNumber(s, q+n)
	}

	// Post-release: -[0-9]+ | [-_.]?(post|rev|r)[-_.]?[0-9]*
	if p+1 < len(s) && s[p] == '-' && isASCIIDigit(s[p+1]) {
		num, p = scanDigits(s, p+1)
		v.post = trimLeadingZeros(num)
	} else {
		q = skipSeparator(s, p)
		if _, n := matchLabel(s, q, postLabels); n > 0 {
			v.post, p = scanLetterNumber(s, q+n)
		}
	}

	// Development release: [-_.]?dev[-_.]?[0-9]*
	q = skipSeparator(s, p)
	if _, n := matchLabel(s, q, devLabels); n > 0 {
		v.dev, p = scanLetterNumber(s, q+n)
	}

	// Local version: \+[a-z0-9]+([-_.][a-z0-9]+)*
	if p < len(s) && s[p] == '+' {
		p++
		for {
			start := p
			for p < len(s) && isASCIIAlnum(s[p]) {
				p++
			}
			if p == start {
				return Version{}, false
			}
			v.local = append(v.local, normalizeLocalPart(s[start:p]))
			if p+1 < len(s) && isSeparator(s[p]) && isASCIIAlnum(s[p+1]) {
				p++
				continue
			}
			break
		}
	}

	if p != len(s) {
		return Version{}, false
	}
	return v, true
}

// label is one spelling of a pre-release, post-release or development marker
// and the normalized form it stands for.
type label struct{ spelling, normal string }

// The spellings are listed longest first: when a shorter spelling is a
// prefix of a longer one that also matches, the regular expression would
// backtrack to the longer one, because nothing may follow the shorter one
// with the letters that the longer one continues with.
var (
	preLabels = []label{
		{"preview", "rc"}, {"alpha", "a"}, {"beta", "b"}, {"pre", "rc"},
		{"rc", "rc"}, {"a", "a"}, {"b", "b"}, {"c", "rc"},
	}
	postLabels = []label{{"post", "post"}, {"rev", "post"}, {"r", "post"}}
	devLabels  = []label{{"dev", "dev"}}
)

// matchLabel reports which of labels starts s at i, ignoring ASCII case, and
// its length, or 0 if none does.
func matchLabel(s string, i int, labels []label) (string, int) {
	for _, l := range labels {
		if len(s)-i >= len(l.spelling) && strings.EqualFold(s[i:i+len(l.spelling)], l.spelling) {
			return l.normal, len(l.spelling)
		}
	}
	return "", 0
}

// scanLetterNumber scans the optional "[-_.]?[0-9]*" after a pre, post or dev
// label that ends at i. It returns the number, "0" when it is implicit, and
// the position after what it consumed. A separator with no digits after it
// is consumed anyway, as the greedy regular expression does; whatever can
// follow accepts an optional separator of its own, so this never turns a
// match into a failure.
func scanLetterNumber(s string, i int) (string, int) {
	i = skipSeparator(s, i)
	num, j := scanDigits(s, i)
	if num == "" {
		return "0", i
	}
	return trimLeadingZeros(num), j
}

// scanDigits returns the run of ASCII digits at s[i:] and the position after it.
func scanDigits(s string, i int) (string, int) {
	j := i
	for j < len(s) && isASCIIDigit(s[j]) {
		j++
	}
	return s[i:j], j
}

// skipSeparator returns i+1 when s[i] is one of '-', '_' or '.', else i.
func skipSeparator(s string, i int) int {
	if i < len(s) && isSeparator(s[i]) {
		return i + 1
	}
	return i
}

func isSeparator(c byte) bool { return c == '-' || c == '_' || c == '.' }

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isASCIIAlnum(c byte) bool {
	return isASCIIDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// isPySpace reports whether r is whitespace for Python's str.isspace and
// therefore for \s in a Unicode regular expression.
func isPySpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0,
		0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// trimLeadingZeros returns the decimal number s (ASCII digits only) without
// leading zeros, as Python's str(int(s)) would.
func trimLeadingZeros(s string) string {
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return "0"
	}
	return t
}

// normalizeLocalPart lower-cases an alphanumeric local part, or removes the
// leading zeros of a numeric one.
func normalizeLocalPart(s string) string {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return strings.ToLower(s)
		}
	}
	return trimLeadingZeros(s)
}

// isNumeric reports whether the normalized local part s is a number.
func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// compareNumbers compares two decimal numbers without leading zeros.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func (v Version) epochOrZero() string {
	if v.epoch == "" {
		return "0"
	}
	return v.epoch
}

func (v Version) releaseOrZero() []string {
	if len(v.release) == 0 {
		return []string{"0"}
	}
	return v.release
}

// String returns the normalized form of the version, exactly as
// str(packaging.version.Version(s)) does: for example " V1.0-ALPHA " gives
// "1.0a0" and "1.0-1" gives "1.0.post1".
func (v Version) String() string {
	var b strings.Builder
	v.write(&b, false, true)
	return b.String()
}

// Canonical returns the version as packaging.utils.canonicalize_version
// does: like String, but with trailing zero components of the release
// segment dropped (keeping at least one), so "1.0.0", "1.0" and "1" all give
// "1" and "1.2.0rc1" gives "1.2rc1". Two versions with the same Canonical
// form compare equal.
func (v Version) Canonical() string {
	var b strings.Builder
	v.write(&b, true, true)
	return b.String()
}

// Public returns the normalized version without its local segment.
func (v Version) Public() string {
	var b strings.Builder
	v.write(&b, false, false)
	return b.String()
}

// BaseVersion returns the epoch and release segment only, as packaging's
// Version.base_version does: "1!2.0rc1.post2+abc" gives "1!2.0".
func (v Version) BaseVersion() string {
	var b strings.Builder
	if e := v.epochOrZero(); e != "0" {
		b.WriteString(e)
		b.WriteByte('!')
	}
	b.WriteString(strings.Join(v.releaseOrZero(), "."))
	return b.String()
}

// Local returns the normalized local segment ("ubuntu.1" for "1.0+Ubuntu-01"),
// or "" when the version has none.
func (v Version) Local() string {
	return strings.Join(v.local, ".")
}

func (v Version) write(b *strings.Builder, stripZeros, withLocal bool) {
	if e := v.epochOrZero(); e != "0" {
		b.WriteString(e)
		b.WriteByte('!')
	}
	release := v.releaseOrZero()
	if stripZeros {
		n := len(release)
		for n > 1 && release[n-1] == "0" {
			n--
		}
		release = release[:n]
	}
	for i, r := range release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(r)
	}
	if v.pre != "" {
		b.WriteString(v.pre)
		b.WriteString(v.preN)
	}
	if v.post != "" {
		b.WriteString(".post")
		b.WriteString(v.post)
	}
	if v.dev != "" {
		b.WriteString(".dev")
		b.WriteString(v.dev)
	}
	if withLocal && len(v.local) > 0 {
		b.WriteByte('+')
		b.WriteString(v.Local())
	}
}

// IsPrerelease reports whether the version is a pre-release or a development
// release, as packaging's Version.is_prerelease does.
func (v Version) IsPrerelease() bool { return v.pre != "" || v.dev != "" }

// IsPostrelease reports whether the version has a post-release segment.
func (v Version) IsPostrelease() bool { return v.post != "" }

// IsDevrelease reports whether the version has a development release segment.
func (v Version) IsDevrelease() bool { return v.dev != "" }

// Equal reports whether v and w are the same version under PEP 440, that is
// whether v.Compare(w) == 0 (so 1.0 equals 1.0.0 and 1.0+A equals 1.0+a).
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Compare returns -1, 0 or +1 as v sorts before, the same as, or after w in
// the PEP 440 order, identical to the order of packaging.version.Version:
// epoch, then release (trailing zeros ignored), then dev releases of a
// release before its pre-releases (1.0.dev0 < 1.0a0), pre-releases
// (a < b < rc) before the release, post-releases after it, and a local
// segment after the same public version without one, local parts comparing
// numerically when numeric, lexically otherwise, numbers after words.
func (v Version) Compare(w Version) int {
	if c := compareNumbers(v.epochOrZero(), w.epochOrZero()); c != 0 {
		return c
	}
	if c := compareRelease(v.releaseOrZero(), w.releaseOrZero()); c != 0 {
		return c
	}
	if c := comparePre(v, w); c != 0 {
		return c
	}
	// A missing post-release sorts before any post-release.
	if c := compareOptional(v.post, w.post, -1); c != 0 {
		return c
	}
	// A missing development release sorts after any development release.
	if c := compareOptional(v.dev, w.dev, +1); c != 0 {
		return c
	}
	return compareLocal(v.local, w.local)
}

// compareRelease compares release segments as if padded with zeros, which is
// the same as comparing them with their trailing zeros removed.
func compareRelease(a, b []string) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		x, y := "0", "0"
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := compareNumbers(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// preKey orders the pre-release part: a version with only a development
// release sorts below every pre-release of its release (rank 0), a
// pre-release sorts by label then number (rank 1), and a version with no
// pre-release otherwise sorts above them all (rank 2).
func preKey(v Version) int {
	switch {
	case v.pre == "" && v.post == "" && v.dev != "":
		return 0
	case v.pre == "":
		return 2
	default:
		return 1
	}
}

func comparePre(v, w Version) int {
	kv, kw := preKey(v), preKey(w)
	if kv != kw {
		if kv < kw {
			return -1
		}
		return 1
	}
	if kv != 1 {
		return 0
	}
	// "a" < "b" < "rc", as Python compares these strings.
	if c := strings.Compare(v.pre, w.pre); c != 0 {
		return c
	}
	return compareNumbers(v.preN, w.preN)
}

// compareOptional compares two optional numbers; missing says where a
// missing one ("") sorts: -1 below every number, +1 above.
func compareOptional(a, b string, missing int) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return missing
	case b == "":
		return -missing
	}
	return compareNumbers(a, b)
}

// compareLocal compares local segments: none sorts first, then part by part
// (words before numbers, words lexically, numbers numerically), and a
// segment that is a prefix of another sorts first.
func compareLocal(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		an, bn := isNumeric(a[i]), isNumeric(b[i])
		var c int
		switch {
		case an && bn:
			c = compareNumbers(a[i], b[i])
		case an:
			c = 1
		case bn:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
