// Package synth makes synthetic look-alikes of project names, one family
// of attack at a time, for measuring the lookalike detector (its tests and
// cheeseshop-bench lookalike-eval). The families follow the published
// taxonomies (typomind, SpellBound, typomania): typing slips, homoglyphs,
// separator games, reordered words, affixes and their combinations. It
// uses no list of real malicious names.
package synth

import (
	"math/rand/v2"
	"strings"

	"cheeseshop/internal/pep"
)

// Families are the families Generate knows, in report order.
var Families = []string{
	"repeat", "omit", "insert", "swap", "subkbd", "homoglyph", "separator", "reorder",
	"affix", "plural", "version", "affix_typo", "reorder_typo", "sep_typo", "typo2",
	"affix_out", "simplify",
}

// Single reports whether family is one of the single-step families the
// detector is designed to catch (issue 14's ≥ 90 % aim): one typo, a
// homoglyph, a separator game, reordered words, a vocabulary affix, a
// plural or a version.
func Single(family string) bool {
	switch family {
	case "affix_typo", "reorder_typo", "sep_typo", "typo2", "affix_out", "simplify":
		return false
	}
	return true
}

// InVocabulary are the affixes of the "affix" family, a subset of the
// detector's default vocabulary.
var InVocabulary = []string{"python-", "py-", "py", "python", "-python", "-py", "py", "-lib",
	"lib", "-dev", "-utils", "-tools", "-sdk", "-api", "-client", "-core", "-cli", "-plugin",
	"-helper", "-wrapper", "-async", "-new", "-official", "-latest", "-fixed", "-pro", "-lite"}

// OutOfVocabulary are the suffixes of the "affix_out" family, disjoint
// from the detector's vocabulary: they measure what it does not cover.
var OutOfVocabulary = []string{"-hack", "-ai", "-x64", "-win", "-gui", "-bot", "-crack", "-v3",
	"-2024", "-mod", "-kit"}

var keyRows = []string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}

// neighbours returns the QWERTY neighbours of c.
func neighbours(c byte) []byte {
	var out []byte
	for r, row := range keyRows {
		i := strings.IndexByte(row, c)
		if i < 0 {
			continue
		}
		add := func(rr, cc int) {
			if rr >= 0 && rr < len(keyRows) && cc >= 0 && cc < len(keyRows[rr]) {
				out = append(out, keyRows[rr][cc])
			}
		}
		add(r, i-1)
		add(r, i+1)
		add(r-1, i)
		add(r-1, i+1)
		add(r+1, i-1)
		add(r+1, i)
	}
	return out
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// positions returns the indexes of n whose byte satisfies ok.
func positions(n string, ok func(i int) bool) []int {
	var out []int
	for i := 0; i < len(n); i++ {
		if ok(i) {
			out = append(out, i)
		}
	}
	return out
}

func pick[T any](r *rand.Rand, s []T) (T, bool) {
	var zero T
	if len(s) == 0 {
		return zero, false
	}
	return s[r.IntN(len(s))], true
}

// Generate returns a look-alike of the normalized name n in family, or
// false when the family does not apply (reorder of a single word) or the
// result is not a valid name different from n.
func Generate(r *rand.Rand, family, n string) (string, bool) {
	v, ok := generate(r, family, n)
	if !ok || !pep.ValidProjectName(v) {
		return "", false
	}
	v = pep.NormalizeName(v)
	if v == n {
		return "", false
	}
	return v, true
}

func generate(r *rand.Rand, family, n string) (string, bool) {
	switch family {
	case "repeat", "omit", "insert", "swap", "subkbd":
		return typo(r, family, n)
	case "homoglyph":
		return homoglyph(r, n)
	case "separator":
		return separator(r, n)
	case "reorder":
		return reorder(r, n)
	case "affix":
		return withAffix(r, n, InVocabulary)
	case "affix_out":
		return withAffix(r, n, OutOfVocabulary)
	case "plural":
		if strings.HasSuffix(n, "s") {
			return "", false
		}
		return n + "s", true
	case "version":
		return version(r, n)
	case "affix_typo":
		t, ok := anyTypo(r, n)
		if !ok {
			return "", false
		}
		return withAffix(r, t, InVocabulary)
	case "reorder_typo":
		t, ok := reorder(r, n)
		if !ok {
			return "", false
		}
		return anyTypo(r, t)
	case "sep_typo":
		t, ok := separator(r, n)
		if !ok {
			return "", false
		}
		return anyTypo(r, t)
	case "typo2":
		t, ok := anyTypo(r, n)
		if !ok {
			return "", false
		}
		return anyTypo(r, t)
	case "simplify":
		return simplify(r, n)
	}
	return "", false
}

func anyTypo(r *rand.Rand, n string) (string, bool) {
	return typo(r, []string{"repeat", "omit", "insert", "swap", "subkbd"}[r.IntN(5)], n)
}

// typo makes one typing slip.
func typo(r *rand.Rand, kind, n string) (string, bool) {
	letter := func(i int) bool { return 'a' <= n[i] && n[i] <= 'z' }
	switch kind {
	case "repeat":
		i, ok := pick(r, positions(n, letter))
		if !ok {
			return "", false
		}
		return n[:i+1] + n[i:], true
	case "omit":
		i, ok := pick(r, positions(n, func(i int) bool { return isAlnum(n[i]) }))
		if !ok || len(n) < 3 {
			return "", false
		}
		return n[:i] + n[i+1:], true
	case "insert":
		// A neighbour of a key next to the insertion point: the finger
		// brushes it.
		i := r.IntN(len(n) + 1)
		var near []byte
		if i > 0 {
			near = append(near, neighbours(n[i-1])...)
		}
		if i < len(n) {
			near = append(near, neighbours(n[i])...)
		}
		c, ok := pick(r, near)
		if !ok {
			return "", false
		}
		return n[:i] + string(c) + n[i:], true
	case "swap":
		i, ok := pick(r, positions(n, func(i int) bool {
			return i+1 < len(n) && isAlnum(n[i]) && isAlnum(n[i+1]) && n[i] != n[i+1]
		}))
		if !ok {
			return "", false
		}
		return n[:i] + string(n[i+1]) + string(n[i]) + n[i+2:], true
	case "subkbd":
		i, ok := pick(r, positions(n, letter))
		if !ok {
			return "", false
		}
		c, _ := pick(r, neighbours(n[i]))
		return n[:i] + string(c) + n[i+1:], true
	}
	return "", false
}

var glyphs = map[string][]string{
	"l": {"1", "i"}, "i": {"1", "l"}, "o": {"0"}, "m": {"rn", "nn"}, "w": {"vv"}, "d": {"cl"},
}

func homoglyph(r *rand.Rand, n string) (string, bool) {
	i, ok := pick(r, positions(n, func(i int) bool { return glyphs[n[i:i+1]] != nil }))
	if !ok {
		return "", false
	}
	g, _ := pick(r, glyphs[n[i:i+1]])
	return n[:i] + g + n[i+1:], true
}

// separator removes a separator, or adds one inside a word.
func separator(r *rand.Rand, n string) (string, bool) {
	if seps := positions(n, func(i int) bool { return n[i] == '-' }); len(seps) > 0 && r.IntN(2) == 0 {
		i := seps[r.IntN(len(seps))]
		return n[:i] + n[i+1:], true
	}
	i, ok := pick(r, positions(n, func(i int) bool {
		return i > 0 && isAlnum(n[i-1]) && isAlnum(n[i])
	}))
	if !ok {
		return "", false
	}
	sep := []string{"-", "_", "."}[r.IntN(3)]
	return n[:i] + sep + n[i:], true
}

func reorder(r *rand.Rand, n string) (string, bool) {
	w := strings.Split(n, "-")
	if len(w) < 2 {
		return "", false
	}
	for range 10 {
		p := append([]string(nil), w...)
		r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		if v := strings.Join(p, "-"); v != n {
			return v, true
		}
	}
	return "", false
}

func withAffix(r *rand.Rand, n string, vocab []string) (string, bool) {
	a, _ := pick(r, vocab)
	if strings.HasSuffix(a, "-") || a == "py" && r.IntN(2) == 0 || a == "python" && r.IntN(2) == 0 {
		return a + n, true
	}
	return n + a, true
}

func version(r *rand.Rand, n string) (string, bool) {
	if ds := positions(n, func(i int) bool { return '0' <= n[i] && n[i] <= '9' }); len(ds) > 0 {
		i := ds[r.IntN(len(ds))]
		d := byte('0' + (int(n[i]-'0')+1+r.IntN(8))%10)
		return n[:i] + string(d) + n[i+1:], true
	}
	return n + []string{"2", "3", "-2", "-3"}[r.IntN(4)], true
}

// simplify drops a word or a py/python affix: the squat is shorter than
// the target (beautifulsoup for beautifulsoup4, dateutil for
// python-dateutil).
func simplify(r *rand.Rand, n string) (string, bool) {
	for _, p := range []string{"python-", "py-", "python", "py"} {
		if s, ok := strings.CutPrefix(n, p); ok && len(s) >= 3 {
			return s, true
		}
	}
	for _, p := range []string{"-python", "-py"} {
		if s, ok := strings.CutSuffix(n, p); ok && len(s) >= 3 {
			return s, true
		}
	}
	if i := len(n) - 1; i > 2 && '0' <= n[i] && n[i] <= '9' {
		return strings.TrimRight(n[:i], "-"), true
	}
	w := strings.Split(n, "-")
	if len(w) < 2 {
		return "", false
	}
	if r.IntN(2) == 0 {
		return strings.Join(w[1:], "-"), true
	}
	return strings.Join(w[:len(w)-1], "-"), true
}
