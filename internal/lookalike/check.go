package lookalike

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"cheeseshop/internal/pep"
)

// scratch is the reusable state of one Check.
type scratch struct {
	name  string
	cells []cell
	ids   []int32
	seen  []uint32 // seen[id] == gen: id is already in ids
	gen   uint32
	all   []Match
	keep  bool // collect every match in all
	best  Match
	found bool
}

// Check reports the protected name that name imitates, if any: the one of
// best rank, then of lowest cost. A protected name (in any spelling) is
// never flagged.
func (ix *Index) Check(name string) (Match, bool) {
	s := ix.scratch.Get().(*scratch)
	defer ix.scratch.Put(s)
	s.keep = false
	ix.check(pep.NormalizeName(name), s)
	return s.best, s.found
}

// CheckAll returns up to limit protected names that name imitates, one
// match per target, by rank then cost; limit 0 means all. It is for the
// review of a held name ("also resembles …").
func (ix *Index) CheckAll(name string, limit int) []Match {
	s := &scratch{keep: true}
	ix.check(pep.NormalizeName(name), s)
	// The cheapest match per target, then by rank and cost as Check.
	slices.SortFunc(s.all, func(a, b Match) int {
		if c := strings.Compare(a.Target, b.Target); c != 0 {
			return c
		}
		return cmp.Compare(a.Cost, b.Cost)
	})
	out := s.all[:0]
	for i, m := range s.all {
		if i == 0 || m.Target != s.all[i-1].Target {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Match) int {
		switch {
		case rankBetter(a.TargetRank, b.TargetRank):
			return -1
		case rankBetter(b.TargetRank, a.TargetRank):
			return 1
		}
		if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// emit records a finding against target id.
func (ix *Index) emit(s *scratch, id int32, kind string, cost int32) {
	t := &ix.targets[id]
	m := Match{Name: s.name, Target: t.name, TargetRank: t.rank, Kind: kind, Cost: float32(cost) / 10}
	if s.keep {
		s.all = append(s.all, m)
	}
	if !s.found || rankBetter(m.TargetRank, s.best.TargetRank) ||
		m.TargetRank == s.best.TargetRank && m.Cost < s.best.Cost {
		s.best, s.found = m, true
	}
}

// check runs every detector on the normalized name n.
func (ix *Index) check(n string, s *scratch) {
	s.name, s.found, s.best, s.all = n, false, Match{}, s.all[:0]
	if n == "" {
		return
	}
	if _, ok := ix.known[n]; ok {
		return
	}
	flat := flatten(n)
	for _, id := range ix.byFlat[flat] {
		if t := &ix.targets[id]; len(flat) >= t.tier.SkeletonMinLen {
			ix.emit(s, id, "separator", 0)
		}
	}
	for _, id := range ix.bySkel[skeleton(flat)] {
		if t := &ix.targets[id]; t.flat != flat && len(t.flat) >= t.tier.SkeletonMinLen {
			ix.emit(s, id, "homoglyph", 0)
		}
	}
	if k, ok := sortedKey(n); ok {
		for _, id := range ix.bySorted[k] {
			ix.emit(s, id, "reordered", 0)
		}
	}
	ix.version(s, n, flat)
	ix.typo(s, n, flat, typoWhole, "", 2)
	for _, id := range ix.bySimple[flat] {
		ix.emit(s, id, "simplified", 0)
	}
	ix.eachAffix(n, func(r string, strong bool) { ix.affix(s, r, strong) })
	ix.reorderTypo(s, n)
}

// eachAffix calls f with n without each vocabulary affix it carries.
func (ix *Index) eachAffix(n string, f func(rest string, strong bool)) {
	for _, a := range ix.prefixes {
		if r, ok := strings.CutPrefix(n, a.text); ok && (strings.HasSuffix(a.text, "-") || !strings.HasPrefix(r, "-")) {
			f(r, a.strong)
		}
	}
	for _, a := range ix.suffixes {
		if r, ok := strings.CutSuffix(n, a.text); ok && (strings.HasPrefix(a.text, "-") || !strings.HasSuffix(r, "-")) {
			f(r, a.strong)
		}
	}
}

// withoutAffix returns n without each vocabulary affix it carries, and
// whether that affix is one of Options.StrongAffixes.
func (ix *Index) withoutAffix(n string) (rests []string, strong []bool) {
	ix.eachAffix(n, func(r string, st bool) {
		if r != "" && r[0] != '-' && r[len(r)-1] != '-' {
			rests, strong = append(rests, r), append(strong, st)
		}
	})
	return rests, strong
}

// version finds a digit changed, added or removed: urllib4, requests2,
// beautifulsoup (for beautifulsoup4), and a year added as a first or last
// word: 2022-requests.
func (ix *Index) version(s *scratch, n, flat string) {
	if first, last, multi := ends(n); multi {
		for _, w := range [2]string{first, last} {
			if !isYear(w) {
				continue
			}
			rest := strings.TrimPrefix(strings.TrimSuffix(n, "-"+w), w+"-")
			for _, id := range ix.byFlat[flatten(rest)] {
				if t := &ix.targets[id]; t.tier.Version && t.letters >= 3 {
					ix.emit(s, id, "version", 0)
				}
			}
		}
	}
	if k, digits := versionKey(flat); digits {
		for _, id := range ix.byVersion[k] {
			if t := &ix.targets[id]; t.flat != flat && oneRunDiffers(t.flat, flat) {
				ix.emit(s, id, "version", 0)
			}
		}
		if tv := trimVersion(flat); tv != flat {
			for _, id := range ix.byFlat[tv] {
				if t := &ix.targets[id]; t.tier.Version && t.letters >= 3 {
					ix.emit(s, id, "version", 0)
				}
			}
		}
	}
	for _, id := range ix.byNoVer[flat] {
		ix.emit(s, id, "version", 0)
	}
}

// affix checks r, the name without one vocabulary affix.
func (ix *Index) affix(s *scratch, r string, strong bool) {
	if r == "" || r[0] == '-' || r[len(r)-1] == '-' {
		return
	}
	first, last, _ := ends(r)
	allowed := func(t *target) bool {
		return t.tier.AffixMinLen > 0 && (strong || !t.tier.AffixStrongOnly) &&
			effLen(t, first, last) >= t.tier.AffixMinLen
	}
	rf := flatten(r)
	for _, id := range ix.byFlat[rf] {
		if allowed(&ix.targets[id]) {
			ix.emit(s, id, "affix", 0)
		}
	}
	// A strong affix for another one of the target: python-mongo for
	// pymongo, pythonkafka for kafka-python. A rest that is an affix word
	// itself (py-utils, utils-lib) is no project's name.
	if strong && !ix.vocabulary[rf] {
		for _, id := range ix.bySwap[rf] {
			if t := &ix.targets[id]; t.flat != flatten(s.name) && allowed(t) {
				ix.emit(s, id, "affix-swap", 0)
			}
		}
	}
	// A version removed or added under the affix: beautifulsoup-new,
	// pytz3-dev. Short stems (json for json5, ray for ray2) are words
	// of their own.
	if len(rf) >= minBareLen {
		for _, id := range ix.byNoVer[rf] {
			if allowed(&ix.targets[id]) {
				ix.emit(s, id, "affix+version", 0)
			}
		}
	}
	if tv := trimVersion(rf); tv != rf {
		if _, protected := ix.known[rf]; !protected {
			for _, id := range ix.byFlat[tv] {
				if t := &ix.targets[id]; t.tier.Version && t.letters >= 4 && allowed(t) {
					ix.emit(s, id, "affix+version", 0)
				}
			}
		}
	}
	if k, ok := sortedKey(r); ok {
		for _, id := range ix.bySorted[k] {
			if t := &ix.targets[id]; t.name != r && allowed(t) {
				ix.emit(s, id, "affix+reordered", 0)
			}
		}
	}
	if strong {
		ix.typo(s, r, rf, typoAffix, "affix+", 1)
	} else {
		ix.typo(s, r, rf, typoAffixWeak, "affix+", 1)
	}
}

// reorderTypo checks every other order of the two or three words of n
// for a typo.
func (ix *Index) reorderTypo(s *scratch, n string) {
	words := strings.Split(n, "-")
	if len(words) < 2 || len(words) > 3 {
		return
	}
	var perms [][3]int
	if len(words) == 2 {
		perms = [][3]int{{1, 0}}
	} else {
		perms = [][3]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	}
	for _, p := range perms {
		var b strings.Builder
		for i := range words {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteString(words[p[i]])
		}
		pn := b.String()
		if pn == n {
			continue
		}
		ix.typo(s, pn, flatten(pn), typoReorder, "reordered+", 1)
	}
}

// Which steps of a tier a typo search uses.
const (
	typoWhole = iota
	typoAffix
	typoAffixWeak // an affix outside StrongAffixes: not for AffixStrongOnly tiers
	typoReorder
)

// typo finds the targets within a weighted edit cost of flat (the
// separator-free form of n), using the deletion index to depth deletes.
func (ix *Index) typo(s *scratch, n, flat string, which int, prefix string, depth int) {
	if len(flat) > maxTypoLen {
		return
	}
	if len(flat)+depth < ix.minTypoLen {
		return
	}
	s.ids = s.ids[:0]
	if len(s.seen) != len(ix.targets) {
		s.seen, s.gen = make([]uint32, len(ix.targets)), 0
	}
	s.gen++
	if s.gen == 0 {
		clear(s.seen)
		s.gen = 1
	}
	deletions(flat, depth, func(h uint64) {
		h &^= idMask
		if f := h >> idBits & (1<<ix.filterBits - 1); ix.filter[f/64]&(1<<(f%64)) == 0 {
			return
		}
		b := h >> (64 - ix.dirBits)
		for _, d := range ix.dels[ix.dir[b]:ix.dir[b+1]] {
			if d&^idMask == h {
				if id := d & idMask; s.seen[id] != s.gen {
					s.seen[id] = s.gen
					s.ids = append(s.ids, int32(id))
				}
			} else if d&^idMask > h {
				break
			}
		}
	})
	first, last, _ := ends(n)
	for _, id := range s.ids {
		t := &ix.targets[id]
		if t.flat == flat {
			continue
		}
		var st []step
		switch which {
		case typoWhole:
			// A whole word added to a protected name (django-q) is an
			// affix, not a typo: only the vocabulary counts.
			if strings.HasPrefix(n, t.name+"-") || strings.HasSuffix(n, "-"+t.name) {
				continue
			}
			st = t.tier.typo
		case typoAffix:
			st = t.tier.affixTypo
		case typoAffixWeak:
			if t.tier.AffixStrongOnly {
				continue
			}
			st = t.tier.affixTypo
		case typoReorder:
			st = t.tier.reorderTypo
		}
		limit := t.tier.allows(st, effLen(t, first, last))
		if limit == 0 {
			continue
		}
		ix.typoOf(s, id, t.flat, flat, limit, prefix)
		if t.bare != "" && t.bare != flat {
			ix.typoOf(s, id, t.bare, flat, limit, prefix+"version+")
		}
	}
}

// typoOf reports target id if flat is within limit of its form tf.
func (ix *Index) typoOf(s *scratch, id int32, tf, flat string, limit int32, prefix string) {
	if int32(abs(len(tf)-len(flat)))*costGlyph > limit {
		return
	}
	cost, ops, kind, ok := distance(tf, flat, limit, &s.cells)
	if !ok {
		return
	}
	name := "typos"
	if ops == 1 {
		name = kindNames[kind]
	}
	ix.emit(s, id, prefix+name, cost)
}

// isYear reports whether w is a year of this or the last century: other
// numbers (mcp-12306, django-503) name ports, codes and versions of real
// projects.
func isYear(w string) bool {
	if len(w) != 4 || !strings.HasPrefix(w, "19") && !strings.HasPrefix(w, "20") {
		return false
	}
	return isDigit(w[2]) && isDigit(w[3])
}

// effLen is the length of t without separators and without a family head
// or, failing that, tail that the other name shares (flask-cors counts as
// cors, not as nothing).
func effLen(t *target, first, last string) int {
	l := len(t.flat)
	switch {
	case t.head != "" && first == t.head:
		l -= len(t.head)
	case t.tail != "" && last == t.tail:
		l -= len(t.tail)
	}
	return l
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// CheckMany checks names with up to workers goroutines (at least one) and
// returns the best match of each name in input order; a name let through
// gets a zero Match (empty Target).
func (ix *Index) CheckMany(names []string, workers int) []Match {
	out := make([]Match, len(names))
	const chunk = 1024
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(names) {
					return
				}
				for i := lo; i < min(lo+chunk, len(names)); i++ {
					if m, ok := ix.Check(names[i]); ok {
						out[i] = m
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}
