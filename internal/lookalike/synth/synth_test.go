package synth

import (
	"math/rand/v2"
	"testing"

	"cheeseshop/internal/pep"
)

// TestGenerate makes valid, normalized names that differ from the
// target, the same ones for the same seed.
func TestGenerate(t *testing.T) {
	t.Parallel()
	for _, fam := range Families {
		made := 0
		for _, n := range []string{"requests", "python-dateutil", "urllib3", "opencv-python", "six", "mock"} {
			a, okA := Generate(rand.New(rand.NewPCG(1, 2)), fam, n)
			b, okB := Generate(rand.New(rand.NewPCG(1, 2)), fam, n)
			if okA != okB || a != b {
				t.Errorf("%s(%q) is not deterministic: %q, %q", fam, n, a, b)
			}
			if !okA {
				continue
			}
			made++
			if a == n || !pep.ValidProjectName(a) || pep.NormalizeName(a) != a {
				t.Errorf("%s(%q) = %q", fam, n, a)
			}
		}
		if made == 0 {
			t.Errorf("family %s made no variant", fam)
		}
	}
	if _, ok := Generate(rand.New(rand.NewPCG(1, 2)), "reorder", "requests"); ok {
		t.Error("a single word cannot be reordered")
	}
	if _, ok := Generate(rand.New(rand.NewPCG(1, 2)), "nonsense", "requests"); ok {
		t.Error("an unknown family made a variant")
	}
}
