package lookalike

// Edit costs are in tenths, so that sums are exact: a glyph substitution
// or a doubled letter costs 4 (0.4), a typing slip 6, a spelling slip (a
// vowel for a vowel, a vowel added beside a vowel: colarama, colourama),
// an omitted first or last character and a changed last one 8, anything
// else 10 or 12. Digit edits at the end and digit for digit substitutions
// are never typos: they are versions (boto2, urllib4, cu12) and go to the
// version kind.
const (
	costGlyph    = 4
	costDouble   = 4
	costSlip     = 6
	costVowel    = 8
	costEnd      = 8
	costAny      = 10
	costFirstIns = 12
	costNever    = 1 << 20

	// maxTypoLen bounds the names the weighted distance is computed for.
	maxTypoLen = 100
	// maxOps is the most edits a typo match may take.
	maxOps = 2
)

// Edit kinds, as reported in Match.Kind.
const (
	kindNone byte = iota
	kindOmitted
	kindRepeated
	kindInserted
	kindPlural
	kindSwapped
	kindHomoglyph
	kindSubstituted
)

var kindNames = [...]string{
	kindOmitted:     "omitted",
	kindRepeated:    "repeated",
	kindInserted:    "inserted",
	kindPlural:      "plural",
	kindSwapped:     "swapped",
	kindHomoglyph:   "homoglyph",
	kindSubstituted: "substituted",
}

// charTables are the static neighbourhoods of characters.
type charTables struct {
	keyboard [128][128]bool // QWERTY 8-neighbourhood, digit row included
	glyph    [128][128]bool // characters that look alike
	// sub holds subCost of every pair, computed once: the distance asks
	// for it in its innermost loop.
	sub [128][128]subEntry
}

type subEntry struct {
	cost int32
	kind byte
}

// tables is built once; it is read-only afterwards.
var tables = buildTables()

func buildTables() *charTables {
	t := new(charTables)
	rows := []string{"1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"}
	set := func(a, b byte) {
		t.keyboard[a][b] = true
		t.keyboard[b][a] = true
	}
	for r, row := range rows {
		for c := 0; c < len(row); c++ {
			if c+1 < len(row) {
				set(row[c], row[c+1])
			}
			if r+1 < len(rows) {
				below := rows[r+1]
				// Each row is shifted right by about half a key.
				for _, d := range []int{c - 1, c} {
					if d >= 0 && d < len(below) {
						set(row[c], below[d])
					}
				}
			}
		}
	}
	for _, g := range []string{"1li", "0o", "5s", "uv", "gq", "mn"} {
		for i := 0; i < len(g); i++ {
			for j := 0; j < len(g); j++ {
				if i != j {
					t.glyph[g[i]][g[j]] = true
				}
			}
		}
	}
	for a := range byte(128) {
		for b := range byte(128) {
			c, k := t.subCost(a, b)
			t.sub[a][b] = subEntry{c, k}
		}
	}
	return t
}

// subCost is the cost of writing b for a (both ASCII).
func (t *charTables) subCost(a, b byte) (int32, byte) {
	switch {
	case isDigit(a) && isDigit(b):
		return costNever, kindNone
	case t.glyph[a][b]:
		return costGlyph, kindHomoglyph
	case t.keyboard[a][b]:
		return costSlip, kindSubstituted
	case isVowel(a) && isVowel(b):
		return costVowel, kindSubstituted
	}
	return costAny, kindSubstituted
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isVowel reports whether c is a vowel; y counts (beautyfulsoup).
func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func (t *charTables) isKeyboard(a, b byte) bool { return a < 128 && b < 128 && t.keyboard[a][b] }

// delCost is the cost of the candidate omitting t[i].
func delCost(t string, i int) (int32, byte) {
	m := len(t)
	switch {
	case i == m-1 && isDigit(t[i]):
		return costNever, kindNone
	case i > 0 && t[i-1] == t[i], i+1 < m && t[i+1] == t[i]:
		return costDouble, kindOmitted
	case i == m-1, i == 0:
		return costEnd, kindOmitted
	}
	return costSlip, kindOmitted
}

// insCost is the cost of the candidate c carrying the extra character c[j].
func insCost(c string, j int) (int32, byte) {
	n := len(c)
	switch {
	case j == n-1 && isDigit(c[j]):
		return costNever, kindNone
	case j > 0 && c[j-1] == c[j], j+1 < n && c[j+1] == c[j]:
		return costDouble, kindRepeated
	case j == n-1 && c[j] == 's':
		return costSlip, kindPlural
	case j > 0 && tables.isKeyboard(c[j-1], c[j]), j+1 < n && tables.isKeyboard(c[j+1], c[j]):
		return costSlip, kindInserted
	case j == 0:
		return costFirstIns, kindInserted
	case isVowel(c[j]) && (isVowel(c[j-1]) || j+1 < n && isVowel(c[j+1])):
		return costVowel, kindInserted
	}
	return costAny, kindInserted
}

// subCost is the cost of the candidate writing b for a.
func subCost(a, b byte) (int32, byte) {
	if a >= 128 || b >= 128 {
		return costAny, kindSubstituted
	}
	e := tables.sub[a][b]
	return e.cost, e.kind
}

// cell is one entry of the distance table: the cheapest cost of turning a
// prefix of the target into a prefix of the candidate, how many edits it
// takes, and the kind of its first edit.
type cell struct {
	cost int32
	ops  uint8
	kind byte
}

// better reports whether a is preferable to b: cheaper, then fewer edits.
func better(a, b cell) bool {
	return a.cost < b.cost || a.cost == b.cost && a.ops < b.ops
}

func (c cell) plus(cost int32, kind byte) cell {
	if cost >= costNever || c.cost >= costNever {
		return cell{cost: costNever, ops: maxOps + 1}
	}
	k := c.kind
	if c.ops == 0 {
		k = kind
	}
	return cell{cost: c.cost + cost, ops: min(c.ops+1, maxOps+1), kind: k}
}

// distance returns the weighted optimal-string-alignment cost of turning
// the target t into the candidate c, its number of edits, and the kind of
// the edit when there is one. It gives up (ok false) once every path costs
// more than limit or takes more than maxOps edits. buf is scratch space.
func distance(t, c string, limit int32, buf *[]cell) (cost int32, ops int, kind byte, ok bool) {
	m, n := len(t), len(c)
	if m > maxTypoLen || n > maxTypoLen {
		return 0, 0, 0, false
	}
	w := n + 1
	size := (m + 1) * w
	if cap(*buf) < size {
		*buf = make([]cell, size)
	}
	d := (*buf)[:size]
	d[0] = cell{}
	for j := 1; j <= n; j++ {
		c0, k := insCost(c, j-1)
		d[j] = d[j-1].plus(c0, k)
	}
	for i := 1; i <= m; i++ {
		row := i * w
		dc, dk := delCost(t, i-1)
		d[row] = d[row-w].plus(dc, dk)
		rowMin := d[row]
		for j := 1; j <= n; j++ {
			var best cell
			if t[i-1] == c[j-1] {
				best = d[row-w+j-1]
			} else {
				sc, sk := subCost(t[i-1], c[j-1])
				if sc == costAny && i == m && j == n {
					sc = costEnd // the last character changed: pandar, requestn
				}
				best = d[row-w+j-1].plus(sc, sk)
			}
			if x := d[row-w+j].plus(dc, dk); better(x, best) {
				best = x
			}
			ic, ik := insCost(c, j-1)
			if x := d[row+j-1].plus(ic, ik); better(x, best) {
				best = x
			}
			if i > 1 && j > 1 && t[i-1] == c[j-2] && t[i-2] == c[j-1] && t[i-1] != t[i-2] {
				if x := d[row-2*w+j-2].plus(costSlip, kindSwapped); better(x, best) {
					best = x
				}
			}
			if best.ops > maxOps {
				best.cost = costNever
			}
			d[row+j] = best
			if better(best, rowMin) {
				rowMin = best
			}
		}
		if rowMin.cost > limit {
			return 0, 0, 0, false
		}
	}
	end := d[size-1]
	if end.cost > limit || end.ops == 0 || end.ops > maxOps {
		return 0, 0, 0, false
	}
	return end.cost, int(end.ops), end.kind, true
}
