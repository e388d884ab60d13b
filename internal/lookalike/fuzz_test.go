package lookalike

import (
	"testing"

	"cheeseshop/internal/pep"
)

// FuzzCheck checks arbitrary names: no panic, a match names a target the
// name is not, and Check agrees with CheckAll.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"reqeusts", "py-reqests", "dateutil-pyhton", "co1orama", "urllib4",
		"beautifulsoup", "a-b-c-d", "--", "rnrnrn", "0", "x" + string(make([]byte, 120)), "ÄÖ-requests"} {
		f.Add(s)
	}
	ix := testIndex(f)
	f.Fuzz(func(t *testing.T, name string) {
		m, ok := ix.Check(name)
		all := ix.CheckAll(name, 0)
		if !ok {
			if len(all) != 0 {
				t.Fatalf("Check(%q) found nothing, CheckAll found %+v", name, all)
			}
			return
		}
		n := pep.NormalizeName(name)
		if _, protected := ix.Protected(n); protected {
			t.Fatalf("Check(%q) flags a protected name: %+v", name, m)
		}
		if _, target := ix.Protected(m.Target); !target || m.Target == n || m.Kind == "" || m.Name != n {
			t.Fatalf("Check(%q) = %+v", name, m)
		}
		if len(all) == 0 || all[0].Target != m.Target {
			t.Fatalf("Check(%q) = %+v, CheckAll = %+v", name, m, all)
		}
	})
}
