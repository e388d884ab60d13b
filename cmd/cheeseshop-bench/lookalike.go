package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"cheeseshop/internal/lookalike"
	"cheeseshop/internal/lookalike/synth"
	"cheeseshop/internal/pep"
)

// LookalikeEvalCmd measures the look-alike detector: its recall on
// synthetic look-alikes of the ranked names, per family and band of rank,
// and the share of the real names it flags against each top N. It prints
// the Markdown tables of docs/SUPPLY-CHAIN.md.
type LookalikeEvalCmd struct {
	Data    string `default:"/work/shared/data/pypi-projects.tsv.gz" type:"path" help:"TSV of every project name, with a rank column for the popular ones (gzip or plain)."`
	Top     []int  `default:"1000,5000,15000" help:"Protect the names ranked 1..N, for each N."`
	Seed    uint64 `default:"1" help:"Seed of the synthetic look-alikes and of the sampled pairs."`
	Half    string `default:"report" enum:"tune,report,all" help:"Names measured: tune (even positions and ranks), report (odd ones, held out while tuning) or all."`
	Sample  int    `default:"30" help:"Flagged real names to print, at random, for the largest --top."`
	Workers int    `default:"0" help:"Goroutines checking names (0: every core)."`
	Corpus  string `type:"path" placeholder:"FILE" help:"TSV of real look-alike names and the projects they imitate (internal/lookalike/testdata/malicious-pypi.tsv): print the share caught per class against each --top."`
}

// bands are the bands of rank of the recall table.
var bands = []struct {
	name   string
	lo, hi int
}{{"ranks 1–1,000", 1, 1000}, {"1,001–5,000", 1001, 5000}, {"5,001–15,000", 5001, 15000}}

// familyHeads are the first words of the plugin families whose share of
// the flagged names shows whether families drown the reviewers.
var familyHeads = []string{"django", "pytest", "types", "flask", "mypy", "sphinx", "aws", "google",
	"azure", "odoo", "apache", "opentelemetry", "jupyter"}

// Run implements the command.
func (c *LookalikeEvalCmd) Run(e *env) error {
	if len(c.Top) == 0 {
		return errors.New("--top needs at least one N")
	}
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	f, err := os.Open(c.Data)
	if err != nil {
		return err
	}
	ranked, err := lookalike.ReadTSV(f, 0)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", c.Data, err)
	}
	all, err := readNames(c.Data, 1<<21)
	if err != nil {
		return err
	}
	real := make(map[string]bool, len(all))
	var names []string // the measured half of the real names
	for i, n := range all {
		n = pep.NormalizeName(n)
		real[n] = true
		if c.Half == "all" || (i%2 == 0) == (c.Half == "tune") {
			names = append(names, n)
		}
	}
	w := e.stdout
	fmt.Fprintf(w, "Data: %d names, %d ranked; measured half: %s (%d names); seed %d; %d workers.\n\n",
		len(all), len(ranked), c.Half, len(names), c.Seed, workers)

	maxTop := slices.Max(c.Top)
	opt := lookalike.DefaultOptions()
	opt.Top = maxTop
	start := time.Now()
	ix := lookalike.New(ranked, opt)
	fmt.Fprintf(w, "Index of the top %d: %d targets, built in %s.\n\n", maxTop, ix.Len(), time.Since(start).Round(time.Millisecond))
	c.recall(w, ix, ranked, real)
	if c.Corpus != "" {
		if err := c.corpusRecall(w, ranked); err != nil {
			return err
		}
	}
	for _, top := range c.Top {
		opt := lookalike.DefaultOptions()
		opt.Top = top
		c.falsePositives(w, lookalike.New(ranked, opt), top, top == maxTop, names, workers)
	}
	return nil
}

// recall prints the share of synthetic look-alikes caught, per band and
// family. A variant that is a real name or a protected one is dropped.
func (c *LookalikeEvalCmd) recall(w io.Writer, ix *lookalike.Index, ranked []lookalike.Protected, real map[string]bool) {
	fmt.Fprintf(w, "### Recall on synthetic look-alikes (%% caught; targets: %s half of each band)\n\n", c.Half)
	fmt.Fprintf(w, "| Targets | %s | single | all |\n", strings.Join(synth.Families, " | "))
	fmt.Fprintf(w, "|---|%s---|---|\n", strings.Repeat("---|", len(synth.Families)))
	var examples []string
	for _, b := range bands {
		var sCaught, sTotal, aCaught, aTotal int
		row := []string{b.name}
		for fi, fam := range synth.Families {
			rng := rand.New(rand.NewPCG(c.Seed, uint64(fi)<<32|uint64(b.lo)))
			caught, total := 0, 0
			for _, p := range ranked {
				if p.Rank < b.lo || p.Rank > b.hi || c.Half != "all" && (p.Rank%2 == 0) != (c.Half == "tune") {
					continue
				}
				v, ok := synth.Generate(rng, fam, p.Name)
				if !ok || real[v] {
					continue
				}
				if _, protected := ix.Protected(v); protected {
					continue
				}
				total++
				if _, hit := ix.Check(v); hit {
					caught++
				} else if b.lo == 1 && synth.Single(fam) && len(examples) < 40 && rng.IntN(4) == 0 {
					examples = append(examples, fmt.Sprintf("%s→%s (%s)", v, p.Name, fam))
				}
			}
			row = append(row, pct(caught, total))
			aCaught, aTotal = aCaught+caught, aTotal+total
			if synth.Single(fam) {
				sCaught, sTotal = sCaught+caught, sTotal+total
			}
		}
		row = append(row, "**"+pct(sCaught, sTotal)+"**", pct(aCaught, aTotal))
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintf(w, "\nSome single-step look-alikes of the top 1,000 that are missed: %s.\n\n", strings.Join(examples, ", "))
}

// falsePositives prints the share of the measured real names flagged
// against the top N, by kind and tier, and the share in plugin families.
func (c *LookalikeEvalCmd) falsePositives(w io.Writer, ix *lookalike.Index, top int, sample bool, names []string, workers int) {
	start := time.Now()
	ms := ix.CheckMany(names, workers)
	took := time.Since(start)
	checked, flagged, family := 0, 0, 0
	kinds := map[string][3]int{}
	var pairs []string
	for i, m := range ms {
		if _, protected := ix.Protected(names[i]); protected {
			continue
		}
		checked++
		if m.Target == "" {
			continue
		}
		flagged++
		first, _, _ := strings.Cut(m.Name, "-")
		if slices.Contains(familyHeads, first) || strings.HasSuffix(m.Name, "-stubs") {
			family++
		}
		k := kinds[m.Kind]
		k[tierIndex(m.TargetRank)]++
		kinds[m.Kind] = k
		pairs = append(pairs, fmt.Sprintf("%s→%s (%s)", m.Name, m.Target, m.Kind))
	}
	fmt.Fprintf(w, "### Real names flagged against the top %d\n\n", top)
	fmt.Fprintf(w, "%d of %d names that are not protected: **%s %%**; %d (%s %%) of them in plugin families (%s, *-stubs). Checked in %s (%d workers).\n\n",
		flagged, checked, pct2(flagged, checked), family, pct(family, flagged), strings.Join(familyHeads, ", "), took.Round(time.Millisecond), workers)
	fmt.Fprintf(w, "| Kind | tier A (≤ 1,000) | tier B (≤ 5,000) | tier C |\n|---|---|---|---|\n")
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		na, nb := kinds[a], kinds[b]
		return (nb[0] + nb[1] + nb[2]) - (na[0] + na[1] + na[2])
	})
	for _, k := range ks {
		n := kinds[k]
		fmt.Fprintf(w, "| %s | %d | %d | %d |\n", k, n[0], n[1], n[2])
	}
	fmt.Fprintln(w)
	if sample && c.Sample > 0 && len(pairs) > 0 {
		rng := rand.New(rand.NewPCG(c.Seed, 0xf1a9))
		rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
		fmt.Fprintf(w, "%d flagged names at random: %s.\n\n", min(c.Sample, len(pairs)), strings.Join(pairs[:min(c.Sample, len(pairs))], ", "))
	}
}

// tierIndex is the default tier of a rank.
func tierIndex(rank int) int {
	switch {
	case rank >= 1 && rank <= 1000:
		return 0
	case rank >= 1 && rank <= 5000:
		return 1
	}
	return 2
}

func pct(n, total int) string {
	if total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", 100*float64(n)/float64(total))
}

func pct2(n, total int) string {
	if total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", 100*float64(n)/float64(total))
}

// corpusRecall prints the share of the real look-alikes of c.Corpus caught
// per class, against each top N of ranked, and the names missed against
// the largest.
func (c *LookalikeEvalCmd) corpusRecall(w io.Writer, ranked []lookalike.Protected) error {
	data, err := os.ReadFile(c.Corpus)
	if err != nil {
		return err
	}
	type pair struct{ name, imitated, class string }
	var pairs []pair
	header := true
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 4 {
			return fmt.Errorf("%s: %q: want name, imitated, rank, class, source", c.Corpus, line)
		}
		pairs = append(pairs, pair{cols[0], cols[1], cols[3]})
	}
	tops := slices.Sorted(slices.Values(c.Top))
	caught := map[string][]int{}
	total := map[string]int{}
	var missed []string
	for ti, top := range tops {
		opt := lookalike.DefaultOptions()
		opt.Top = top
		ix := lookalike.New(ranked, opt)
		for _, p := range pairs {
			if ti == 0 {
				total[p.class]++
				caught[p.class] = make([]int, len(tops))
			}
		}
		for _, p := range pairs {
			if _, hit := ix.Check(p.name); hit {
				caught[p.class][ti]++
			} else if ti == len(tops)-1 {
				missed = append(missed, fmt.Sprintf("%s→%s (%s)", p.name, p.imitated, p.class))
			}
		}
	}
	classes := slices.Sorted(maps.Keys(total))
	fmt.Fprintf(w, "### Real look-alikes caught (%d pairs of %s)\n\n| Class | pairs |", len(pairs), c.Corpus)
	for _, top := range tops {
		fmt.Fprintf(w, " top %d |", top)
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(tops)))
	sum := make([]int, len(tops))
	for _, cl := range classes {
		fmt.Fprintf(w, "| %s | %d |", cl, total[cl])
		for ti := range tops {
			fmt.Fprintf(w, " %d |", caught[cl][ti])
			sum[ti] += caught[cl][ti]
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **all** | %d |", len(pairs))
	for ti := range tops {
		fmt.Fprintf(w, " **%d (%s %%)** |", sum[ti], pct(sum[ti], len(pairs)))
	}
	fmt.Fprintf(w, "\n\nMissed against the top %d: %s.\n\n", tops[len(tops)-1], strings.Join(missed, ", "))
	return nil
}
