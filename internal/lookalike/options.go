package lookalike

// Step is one threshold of a tier: targets whose effective length is at
// least MinLen allow a weighted edit cost up to MaxCost.
type Step struct {
	MinLen  int
	MaxCost float32
}

// Tier holds the thresholds for the targets of one band of ranks. Popular
// targets are attacked most, so the first tiers allow more.
type Tier struct {
	// MaxRank is the worst rank of the tier; 0 means every rank (and the
	// unranked names), which only the last tier should use.
	MaxRank int
	// Typo, AffixTypo and ReorderTypo are steps in ascending MinLen: the
	// last step whose MinLen is at most the target's effective length
	// gives the allowed cost of a typo on the whole name, on the name
	// without an affix, and on the name with its words reordered. No
	// step, no match.
	Typo, AffixTypo, ReorderTypo []Step
	// SkeletonMinLen is the shortest target (without separators) that
	// separator and homoglyph games are reported for.
	SkeletonMinLen int
	// AffixMinLen is the shortest target an exact affix is reported for;
	// 0 turns exact affixes off.
	AffixMinLen int
	// AffixStrongOnly limits the affixes to Options.StrongAffixes.
	AffixStrongOnly bool
	// SimplifyMinLen reports the target without one vocabulary affix
	// (dateutil for python-dateutil) when the rest has at least this many
	// characters; 0 turns it off.
	SimplifyMinLen int
	// Version reports a digit changed, added or removed (requests2,
	// urllib4, beautifulsoup) for targets of at least three letters.
	Version bool
}

// Options are the detector's thresholds and vocabularies.
type Options struct {
	// Tiers by ascending MaxRank; a target belongs to the first tier whose
	// MaxRank is 0 or at least its rank.
	Tiers []Tier
	// Prefixes and Suffixes are the closed affix vocabulary, in normalized
	// form: "python-" is a whole first word, "python" a glued prefix
	// (pythondateutil); "-lib" a whole last word, "lib" a glued suffix.
	Prefixes, Suffixes []string
	// StrongAffixes are the affix words (without separator) that tiers
	// with AffixStrongOnly still report.
	StrongAffixes []string
	// FamilyMin is how many protected names must share a first (last)
	// word for it to be a family head (tail), such as django or stubs;
	// a head or tail both names share does not count in the effective
	// length, so django-reds is judged as reds against redis.
	FamilyMin int
	// Top, when positive, makes only the names ranked 1..Top targets; the
	// others (and the unranked ones) are still never flagged themselves.
	Top int
}

// DefaultOptions returns the measured defaults (docs/SUPPLY-CHAIN.md):
// tier A is the top 1,000, tier B the top 5,000, tier C the rest.
func DefaultOptions() Options {
	return Options{
		Tiers: []Tier{
			{
				MaxRank:        1000,
				Typo:           []Step{{4, 0.6}, {6, 0.8}, {9, 1.4}},
				AffixTypo:      []Step{{6, 0.6}, {9, 1.0}},
				ReorderTypo:    []Step{{6, 0.6}, {9, 1.0}},
				SkeletonMinLen: 4,
				AffixMinLen:    3,
				SimplifyMinLen: 5,
				Version:        true,
			},
			{
				MaxRank:         5000,
				Typo:            []Step{{5, 0.6}, {8, 0.8}, {10, 1.0}},
				AffixTypo:       []Step{{8, 0.6}},
				ReorderTypo:     []Step{{8, 0.6}},
				SkeletonMinLen:  4,
				AffixMinLen:     6,
				AffixStrongOnly: false,
				SimplifyMinLen:  6,
				Version:         true,
			},
			{
				MaxRank:        0,
				Typo:           []Step{{7, 0.4}, {8, 0.6}, {11, 1.0}},
				SkeletonMinLen: 5,
			},
		},
		Prefixes: []string{"python-", "python", "py-", "py", "lib-", "lib"},
		Suffixes: []string{"-python", "python", "-py", "py", "-lib", "lib", "-dev", "-utils", "-util",
			"-tools", "-tool", "-sdk", "-api", "-client", "-core", "-helper", "-helpers",
			"-plugin", "-cli", "-async", "-aio", "-wrapper", "-ng", "-new", "-fixed",
			"-official", "-latest", "-pro", "-lite", "-toolkit", "-package", "-pkg",
			"-module", "-test", "-beta", "-updated", "-secure", "-next", "-x", "-master",
			"-main", "-plus", "-extra", "-fast", "-update", "-fix", "-full", "-free"},
		StrongAffixes: []string{"py", "python", "lib"},
		FamilyMin:     3,
	}
}
