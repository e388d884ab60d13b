// Package lookalike finds project names that imitate protected (popular)
// ones: typosquats such as reqeusts, separator and homoglyph games such as
// python-dateutil → pythondateutil or co1orama, reordered words, and
// affixes such as python-requests or requests-lib.
//
// An Index is built once from the protected names and is then read-only;
// Check takes a few microseconds. Thresholds depend on the target's rank
// (tiers) and on its length without a shared family word (django-*,
// *-stubs), so that short names and plugin families do not flood the
// reviewers. The measurement behind the defaults is in
// docs/SUPPLY-CHAIN.md. The package knows no database: callers own the
// protected list and decide what to do with a Match.
package lookalike

import (
	"slices"
	"strings"
	"sync"

	"cheeseshop/internal/pep"
)

// Protected is one name to protect.
type Protected struct {
	Name string // any spelling; the index normalizes it (PEP 503)
	// Rank is 1 for the most popular name; 0 is unranked, which makes a
	// target of the last tier, or no target at all when Options.Top is set.
	Rank   int
	Source string // where the name comes from, e.g. "index" or "imported"
}

// Match is one look-alike finding: Name resembles the protected Target.
type Match struct {
	Name, Target string // PEP 503 normalized
	TargetRank   int
	// Kind says how the name imitates the target: "separator",
	// "homoglyph", "reordered", "version", "simplified", a typo
	// ("omitted", "repeated", "inserted", "plural", "swapped",
	// "substituted", "homoglyph", or "typos" for two edits),
	// "version+<typo kind>" (a typo of the target without its version),
	// "affix", "affix-swap", "affix+version", "affix+<typo kind>",
	// "affix+reordered" or "reordered+<typo kind>".
	Kind string
	// Cost is the weighted edit cost of a typo (0 for the exact kinds).
	Cost float32
}

// target is one protected name that look-alikes are matched against.
type target struct {
	name, flat string
	// bare is flat without its trailing version digits (beautifulsoup
	// for beautifulsoup4) when the tier reports versions and it has at
	// least minBareLen characters, else "": typos are matched against it
	// too.
	bare string
	rank int
	tier *tier
	// head and tail are the first and last words when they are family
	// words (shared by Options.FamilyMin protected names), else "".
	head, tail string
	letters    int
}

// tier is Tier with costs in tenths.
type tier struct {
	Tier
	typo, affixTypo, reorderTypo []step
}

type step struct {
	minLen int
	cost   int32
}

// affix is one entry of the affix vocabulary.
type affix struct {
	text   string // as it appears in a normalized name, separator included
	strong bool
}

// Index matches names against the protected ones. It is immutable after
// New and safe for concurrent use.
type Index struct {
	tiers    []tier
	prefixes []affix
	suffixes []affix
	// vocabulary holds the affix words without separators (utils, lib).
	vocabulary map[string]bool
	known      map[string]Protected // every protected name, targets or not
	targets    []target
	byFlat     map[string][]int32
	bySkel     map[string][]int32
	bySorted   map[string][]int32
	byVersion  map[string][]int32 // version key of tier targets with digits
	byNoVer    map[string][]int32 // flat without its trailing digits
	bySimple   map[string][]int32 // flat without a vocabulary affix
	bySwap     map[string][]int32 // flat without a strong affix
	// dels holds, sorted, the deletions of the target flats: the high
	// bits of each hash (hashKey) with the target's position in the low
	// idBits. A shared prefix of 40 bits only adds candidates, which the
	// distance then removes.
	dels    []uint64
	dir     []uint32 // dir[b] is the first entry of dels whose top dirBits are ≥ b
	dirBits uint
	// filter has the bit (hash >> idBits) mod 2^filterBits set for every
	// entry of dels.
	filter     []uint64
	filterBits uint
	// minTypoLen is the shortest target length any typo step starts at:
	// a name shorter by more than the edits allowed needs no search.
	minTypoLen int
	scratch    sync.Pool
}

// New builds an index of names with opt. Names are normalized; a name
// given twice keeps its best rank.
func New(names []Protected, opt Options) *Index {
	ix := &Index{
		known:     make(map[string]Protected, len(names)),
		byFlat:    make(map[string][]int32),
		bySkel:    make(map[string][]int32),
		bySorted:  make(map[string][]int32),
		byVersion: make(map[string][]int32),
		byNoVer:   make(map[string][]int32),
		bySimple:  make(map[string][]int32),
		bySwap:    make(map[string][]int32),
	}
	ix.scratch.New = func() any { return new(scratch) }
	for _, t := range opt.Tiers {
		ix.tiers = append(ix.tiers, tier{Tier: t, typo: steps(t.Typo),
			affixTypo: steps(t.AffixTypo), reorderTypo: steps(t.ReorderTypo)})
	}
	ix.minTypoLen = 1 << 30
	for _, t := range ix.tiers {
		for _, st := range [][]step{t.typo, t.affixTypo, t.reorderTypo} {
			for _, x := range st {
				ix.minTypoLen = min(ix.minTypoLen, x.minLen)
			}
		}
	}
	strong := func(a string) bool { return slices.Contains(opt.StrongAffixes, strings.Trim(a, "-")) }
	ix.vocabulary = make(map[string]bool)
	for _, p := range opt.Prefixes {
		ix.prefixes = append(ix.prefixes, affix{p, strong(p)})
		ix.vocabulary[strings.Trim(p, "-")] = true
	}
	for _, s := range opt.Suffixes {
		ix.suffixes = append(ix.suffixes, affix{s, strong(s)})
		ix.vocabulary[strings.Trim(s, "-")] = true
	}
	merged := Merge(names)
	for _, p := range merged {
		ix.known[p.Name] = p
	}
	heads, tails := make(map[string]int), make(map[string]int)
	for _, p := range merged {
		if opt.Top > 0 && (p.Rank == 0 || p.Rank > opt.Top) || p.Name == "" || len(ix.targets) > idMask {
			continue
		}
		tr := ix.tierOf(p.Rank)
		if tr == nil {
			continue
		}
		t := target{name: p.Name, flat: flatten(p.Name), rank: p.Rank, tier: tr}
		for i := 0; i < len(t.flat); i++ {
			if c := t.flat[i]; 'a' <= c && c <= 'z' {
				t.letters++
			}
		}
		if first, last, multi := ends(p.Name); multi {
			heads[first]++
			tails[last]++
		}
		ix.targets = append(ix.targets, t)
	}
	size := 0
	for _, t := range ix.targets {
		l := len(t.flat)
		size += 1 + l + l*(l-1)/2
		if t.tier.Version && t.letters >= 3 && len(trimVersion(t.flat)) >= minBareLen && trimVersion(t.flat) != t.flat {
			size += 1 + l + l*(l-1)/2
		}
	}
	dels := make([]uint64, 0, size)
	for i := range ix.targets {
		t := &ix.targets[i]
		id := uint64(i)
		if first, last, multi := ends(t.name); multi {
			if heads[first] >= opt.FamilyMin && opt.FamilyMin > 0 {
				t.head = first
			}
			if tails[last] >= opt.FamilyMin && opt.FamilyMin > 0 {
				t.tail = last
			}
		}
		ix.byFlat[t.flat] = append(ix.byFlat[t.flat], int32(i))
		ix.bySkel[skeleton(t.flat)] = append(ix.bySkel[skeleton(t.flat)], int32(i))
		if k, ok := sortedKey(t.name); ok {
			ix.bySorted[k] = append(ix.bySorted[k], int32(i))
		}
		if t.tier.Version && t.letters >= 3 {
			if k, digits := versionKey(t.flat); digits {
				ix.byVersion[k] = append(ix.byVersion[k], int32(i))
			}
			if s := trimVersion(t.flat); s != t.flat {
				ix.byNoVer[s] = append(ix.byNoVer[s], int32(i))
				if len(s) >= minBareLen {
					t.bare = s
				}
			}
		}
		if t.tier.SimplifyMinLen > 0 {
			rests, strong := ix.withoutAffix(t.name)
			for k, r := range rests {
				if rf := flatten(r); len(rf) >= t.tier.SimplifyMinLen {
					ix.bySimple[rf] = append(ix.bySimple[rf], int32(i))
					if strong[k] {
						ix.bySwap[rf] = append(ix.bySwap[rf], int32(i))
					}
				}
			}
		}
		depth := 0
		if t.tier.maxCost(len(t.flat)) > 0 {
			depth = 1
		}
		if t.tier.maxCost(len(t.flat)) >= 2*costGlyph {
			depth = 2
		}
		if depth > 0 {
			deletions(t.flat, depth, func(h uint64) { dels = append(dels, h&^idMask|id) })
			if t.bare != "" {
				deletions(t.bare, depth, func(h uint64) { dels = append(dels, h&^idMask|id) })
			}
		}
	}
	ix.dels = slices.Compact(radixSort(dels))
	// The directory maps the top dirBits of a hash to its first entry,
	// so that a lookup touches two cache lines instead of binary searching
	// megabytes.
	ix.dirBits = 10
	for 4<<ix.dirBits < len(ix.dels) && ix.dirBits < 26 {
		ix.dirBits++
	}
	ix.dir = make([]uint32, 1<<ix.dirBits+1)
	b := 0
	for i, d := range ix.dels {
		for top := int(d >> (64 - ix.dirBits)); b <= top; b++ {
			ix.dir[b] = uint32(i)
		}
	}
	for ; b < len(ix.dir); b++ {
		ix.dir[b] = uint32(len(ix.dels))
	}
	// Most deletions of a checked name are in no target: a bitset of a
	// few bits per entry answers them from the cache.
	ix.filterBits = ix.dirBits + 4
	ix.filter = make([]uint64, 1<<ix.filterBits/64)
	for _, d := range ix.dels {
		f := d >> idBits & (1<<ix.filterBits - 1)
		ix.filter[f/64] |= 1 << (f % 64)
	}
	return ix
}

func steps(s []Step) []step {
	out := make([]step, len(s))
	for i, x := range s {
		out[i] = step{x.MinLen, int32(x.MaxCost*10 + 0.5)}
	}
	return out
}

// allows returns the cost the steps allow at effective length l (0: none).
func (t *tier) allows(s []step, l int) int32 {
	var c int32
	for _, x := range s {
		if l >= x.minLen {
			c = x.cost
		}
	}
	return c
}

// maxCost is the most any typo kind of the tier allows at length l.
func (t *tier) maxCost(l int) int32 {
	return max(t.allows(t.typo, l), t.allows(t.affixTypo, l), t.allows(t.reorderTypo, l))
}

func (ix *Index) tierOf(rank int) *tier {
	for i := range ix.tiers {
		t := &ix.tiers[i]
		if t.MaxRank == 0 || rank > 0 && rank <= t.MaxRank {
			return t
		}
	}
	return nil
}

// Len returns the number of target names.
func (ix *Index) Len() int { return len(ix.targets) }

// Protected returns the protected entry of name (in any spelling), whether
// or not it is a target.
func (ix *Index) Protected(name string) (Protected, bool) {
	p, ok := ix.known[pep.NormalizeName(name)]
	return p, ok
}

// Merge unions lists of protected names by normalized name. A name keeps
// its best rank (an unranked entry loses to a ranked one) and the source
// of that entry. The result is sorted by rank, unranked last, then name.
func Merge(lists ...[]Protected) []Protected {
	best := make(map[string]Protected)
	for _, l := range lists {
		for _, p := range l {
			p.Name = pep.NormalizeName(p.Name)
			if old, ok := best[p.Name]; ok && !rankBetter(p.Rank, old.Rank) {
				continue
			}
			best[p.Name] = p
		}
	}
	out := make([]Protected, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Protected) int {
		if a.Rank != b.Rank {
			if rankBetter(a.Rank, b.Rank) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// rankBetter reports whether rank a is more popular than rank b.
func rankBetter(a, b int) bool {
	return a > 0 && (b == 0 || a < b)
}

// flatten drops the separators of a normalized name.
func flatten(n string) string {
	if !strings.Contains(n, "-") {
		return n
	}
	return strings.ReplaceAll(n, "-", "")
}

// ends returns the first and last words of a normalized name, and whether
// it has more than one.
func ends(n string) (first, last string, multi bool) {
	i, j := strings.IndexByte(n, '-'), strings.LastIndexByte(n, '-')
	if i < 0 {
		return n, n, false
	}
	return n[:i], n[j+1:], true
}

// glyphRuns are the look-alike runs of letters the skeleton folds.
var glyphRuns = strings.NewReplacer("rn", "m", "vv", "w", "cl", "d")

// skeleton folds characters that look alike: separators go, 1 and i
// become l, 0 becomes o and 5 becomes s, then rn, vv and cl become m, w
// and d.
func skeleton(flat string) string {
	return glyphRuns.Replace(strings.Map(func(r rune) rune {
		switch r {
		case '1', 'i':
			return 'l'
		case '0':
			return 'o'
		case '5':
			return 's'
		}
		return r
	}, flat))
}

// sortedKey returns the words of a normalized name in sorted order, if it
// has at least two.
func sortedKey(n string) (string, bool) {
	if !strings.Contains(n, "-") {
		return "", false
	}
	w := strings.Split(n, "-")
	slices.Sort(w)
	return strings.Join(w, " "), true
}

// versionKey replaces every run of digits by '#', and reports whether
// there was one.
func versionKey(flat string) (string, bool) {
	var b []byte
	digits := false
	for i := 0; i < len(flat); i++ {
		if isDigit(flat[i]) {
			if !digits || len(b) == 0 || b[len(b)-1] != '#' {
				b = append(b, '#')
			}
			digits = true
			continue
		}
		b = append(b, flat[i])
	}
	return string(b), digits
}

// trimVersion drops a trailing run of one or two digits.
func trimVersion(flat string) string {
	i := len(flat)
	for i > 0 && isDigit(flat[i-1]) {
		i--
	}
	if len(flat)-i > 2 || i == 0 {
		return flat
	}
	return flat[:i]
}

// oneRunDiffers reports whether a and b, which have the same version key,
// differ in exactly one run of digits, by one digit changed, added or
// removed.
func oneRunDiffers(a, b string) bool {
	ra, rb := digitRuns(a), digitRuns(b)
	if len(ra) != len(rb) {
		return false
	}
	diff := 0
	for i := range ra {
		if ra[i] == rb[i] {
			continue
		}
		diff++
		x, y := ra[i], rb[i]
		if len(x) > len(y) {
			x, y = y, x
		}
		switch {
		case len(x) == len(y):
			n := 0
			for k := range x {
				if x[k] != y[k] {
					n++
				}
			}
			if n != 1 {
				return false
			}
		case len(x)+1 == len(y):
			if !(strings.HasPrefix(y, x) || strings.HasSuffix(y, x)) {
				return false
			}
		default:
			return false
		}
	}
	return diff == 1
}

func digitRuns(s string) []string {
	var runs []string
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		runs = append(runs, s[i:j])
		i = j
	}
	return runs
}

// radixSort sorts a in increasing order, 16 bits a pass, and returns the
// sorted slice (a or a buffer of the same length). It is several times
// faster than a comparison sort on the millions of deletion entries.
func radixSort(a []uint64) []uint64 {
	buf := make([]uint64, len(a))
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, x := range a {
			count[x>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, x := range a {
			d := x >> shift & 0xffff
			buf[count[d]] = x
			count[d]++
		}
		a, buf = buf, a
	}
	return a
}

// minBareLen is the shortest target without its version (beautifulsoup,
// progressbar) that typos and affixes are matched against: shorter ones
// (json for json5, boto for boto3, pywin for pywin32) are words or other
// projects of their own, and flagged thousands of real names.
const minBareLen = 8

// idBits is the room left for a target's position in a deletion entry:
// 2^24 targets.
const (
	idBits = 24
	idMask = 1<<idBits - 1
)

// hash is FNV-1a 64 of s.
func hash(s []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range s {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// deletions calls f with the hash of s and of every string s gives with
// up to depth characters deleted (with repeats, which the caller removes).
func deletions(s string, depth int, f func(uint64)) {
	var stack [2 * maxTypoLen]byte
	if len(s) > maxTypoLen {
		return
	}
	buf := stack[:0]
	f(hash([]byte(s)))
	if depth < 1 {
		return
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i] == s[i-1] {
			continue // deleting either of a double gives the same string
		}
		buf = append(append(buf[:0], s[:i]...), s[i+1:]...)
		f(hash(buf))
		if depth < 2 {
			continue
		}
		one := buf
		for j := i; j < len(one); j++ {
			if j > i && one[j] == one[j-1] {
				continue
			}
			b2 := append(append(stack[maxTypoLen:maxTypoLen], one[:j]...), one[j+1:]...)
			f(hash(b2))
		}
	}
}
