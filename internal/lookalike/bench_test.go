package lookalike

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
)

// dataEnv names the environment variable that points at the shared list
// of PyPI names (pypi-projects.tsv.gz); without it the benchmarks and
// tests use a deterministic synthetic list of the same shape.
const dataEnv = "CHEESESHOP_LOOKALIKE_DATA"

// benchNames returns the protected names (the top 15,000) and names to
// check: the real ones when dataEnv is set, else synthetic ones.
func benchNames(tb testing.TB) (protected []Protected, names []string) {
	tb.Helper()
	if path := os.Getenv(dataEnv); path != "" {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		ps, err := ReadTSV(f, 15000)
		if err != nil {
			tb.Fatal(err)
		}
		for i, p := range ps {
			if i%3 == 0 {
				names = append(names, p.Name+"x", p.Name[1:]+"-py")
			}
		}
		return ps, names
	}
	return syntheticProtected(15000), syntheticNames(10000)
}

// syllables make pronounceable synthetic names.
var syllables = []string{"py", "req", "uest", "dj", "ango", "num", "lib", "data", "flask", "test",
	"core", "net", "http", "json", "yaml", "sql", "cloud", "aws", "ml", "tensor", "flow", "tool",
	"kit", "log", "auth", "api", "web", "grid", "graph", "cache", "async", "io", "util", "time"}

// syntheticName makes a name of one to three words from r.
func syntheticName(r *rand.Rand) string {
	words := 1 + r.IntN(3)
	name := ""
	for w := range words {
		if w > 0 {
			name += "-"
		}
		for range 1 + r.IntN(3) {
			name += syllables[r.IntN(len(syllables))]
		}
	}
	return name
}

func syntheticProtected(n int) []Protected {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	var ps []Protected
	for len(ps) < n {
		name := syntheticName(r)
		if seen[name] {
			continue
		}
		seen[name] = true
		ps = append(ps, Protected{Name: name, Rank: len(ps) + 1})
	}
	return ps
}

func syntheticNames(n int) []string {
	r := rand.New(rand.NewPCG(3, 4))
	names := make([]string, n)
	for i := range names {
		names[i] = syntheticName(r)
		if i%4 == 0 {
			names[i] += fmt.Sprint(r.IntN(10))
		}
	}
	return names
}

// BenchmarkCheck checks one name against 15,000 protected names (issue
// 14: under 1 ms).
func BenchmarkCheck(b *testing.B) {
	ps, names := benchNames(b)
	ix := New(ps, DefaultOptions())
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ix.Check(names[i%len(names)])
	}
}

// BenchmarkCheckParallel is BenchmarkCheck on every core.
func BenchmarkCheckParallel(b *testing.B) {
	ps, names := benchNames(b)
	ix := New(ps, DefaultOptions())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			ix.Check(names[i%len(names)])
		}
	})
	_ = runtime.GOMAXPROCS(0)
}

// BenchmarkNew loads 15,000 protected names (issue 14: under 1 s).
func BenchmarkNew(b *testing.B) {
	ps, _ := benchNames(b)
	for b.Loop() {
		New(ps, DefaultOptions())
	}
}
