package pep

import (
	"bufio"
	_ "embed"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeName returns the PEP 503 normalized form of a project name:
// every run of '-', '_' and '.' becomes a single '-', and the result is
// lower-cased, exactly as packaging.utils.canonicalize_name and
// re.sub(r"[-_.]+", "-", name).lower() do. Lower-casing follows Python's
// str.lower, including its two context-dependent rules for non-ASCII text
// (U+0130 becomes "i\u0307" and a word-final capital sigma becomes "ς").
func NormalizeName(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var b strings.Builder
	b.Grow(len(name))
	inRun := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isSeparator(c) {
			if !inRun {
				b.WriteByte('-')
			}
			inRun = true
			continue
		}
		inRun = false
		if ascii && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	if ascii {
		return b.String()
	}
	return pyLower(b.String())
}

// ValidProjectName reports whether name is acceptable as a project name on
// PyPI: ASCII letters and digits, with '.', '_' and '-' allowed inside but
// not at either end. This is PyPI's
// ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$ (case-insensitive), restricted to
// ASCII: unlike Python's re, it does not take the non-ASCII letters that fold
// to ASCII ones (such as U+212A, the Kelvin sign), nor a trailing newline.
func ValidProjectName(name string) bool {
	if name == "" {
		return false
	}
	if !isASCIIAlnum(name[0]) || !isASCIIAlnum(name[len(name)-1]) {
		return false
	}
	for i := 1; i < len(name)-1; i++ {
		if c := name[i]; !isASCIIAlnum(c) && !isSeparator(c) {
			return false
		}
	}
	return true
}

// UltraNormalizeName returns PyPI's "ultranormalized" form of a project
// name, used to refuse names that only differ from an existing project's by
// look-alike characters: the name is lower-cased, every '.', '_' and '-' is
// dropped, 'l' and 'i' become '1' and 'o' becomes '0'. For example
// "Foo-Bar", "f00bar" and "FOO.BAR" all give "f00bar".
func UltraNormalizeName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range strings.ToLower(name) {
		switch r {
		case '.', '_', '-':
		case 'l', 'i':
			b.WriteByte('1')
		case 'o':
			b.WriteByte('0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WheelNamePrefix returns the form a project name takes as the first
// component of a wheel or PEP 625 sdist filename: NormalizeName(name) with
// '-' replaced by '_' (so "Foo.Bar-baz" gives "foo_bar_baz").
func WheelNamePrefix(name string) string {
	return strings.ReplaceAll(NormalizeName(name), "-", "_")
}

//go:embed stdlib_modules.txt
var stdlibModulesFile string

// stdlibModules is the sorted list of the normalized names of the Python
// standard library's public top-level modules. It is built once, at package
// initialization, and only read afterwards.
var stdlibModules = parseModuleList(stdlibModulesFile)

// parseModuleList reads one module name a line, skipping blank lines,
// '#' comments and private names (starting with '_'), and returns the
// sorted, de-duplicated normalized names.
func parseModuleList(text string) []string {
	var names []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '_' {
			continue
		}
		names = append(names, NormalizeName(line))
	}
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	return out
}

// IsStdlibModule reports whether name, once normalized, is the normalized
// name of a public top-level module of the Python standard library (the
// union of sys.stdlib_module_names for Python 3.11 to 3.13, without the
// names that start with '_'). PyPI refuses such project names. For example
// "os", "Py_Compile" and "tkinter" are, "requests" and "_thread" are not.
func IsStdlibModule(name string) bool {
	n := NormalizeName(name)
	i := sort.SearchStrings(stdlibModules, n)
	return i < len(stdlibModules) && stdlibModules[i] == n
}

// StdlibModules returns the normalized names IsStdlibModule accepts, sorted.
// The caller may modify the returned slice.
func StdlibModules() []string {
	return append([]string(nil), stdlibModules...)
}

// pyLower lower-cases s as Python's str.lower does: the simple lower-case
// mapping of each character, except U+0130 (capital I with dot above), which
// becomes "i\u0307", and U+03A3 (capital sigma), which becomes the final
// form "ς" when it ends a word (Unicode's Final_Sigma condition). Invalid
// UTF-8 bytes are kept as they are.
func pyLower(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteByte(s[i])
		case r == 0x130:
			b.WriteString("i\u0307")
		case r == 0x3a3:
			if isFinalSigma(s, i, size) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
		i += size
	}
	return b.String()
}

// isFinalSigma reports whether the capital sigma at s[i:i+size] is in the
// Final_Sigma context: preceded by a cased letter, skipping case-ignorable
// characters, and not followed by one, skipping case-ignorable characters.
func isFinalSigma(s string, i, size int) bool {
	before := s[:i]
	preceded := false
	for before != "" {
		r, n := utf8.DecodeLastRuneInString(before)
		before = before[:len(before)-n]
		if !isCaseIgnorable(r) {
			preceded = isCased(r)
			break
		}
	}
	if !preceded {
		return false
	}
	for _, r := range s[i+size:] {
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

// isCased reports whether r has the Unicode Cased property.
func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorableWordBreak lists the characters whose Word_Break property is
// MidLetter, MidNumLet or Single_Quote, which makes them Case_Ignorable.
var caseIgnorableWordBreak = map[rune]bool{
	'\'': true, '.': true, ':': true, 0xb7: true, 0x387: true, 0x55f: true,
	0x5f4: true, 0x2018: true, 0x2019: true, 0x2024: true, 0x2027: true,
	0xfe13: true, 0xfe52: true, 0xfe55: true, 0xff07: true, 0xff0e: true,
	0xff1a: true,
}

// isCaseIgnorable reports whether r has the Unicode Case_Ignorable property.
func isCaseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
		caseIgnorableWordBreak[r]
}
