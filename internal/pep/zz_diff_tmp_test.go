package pep

import (
	"encoding/json"
	"os"
	"testing"
)

func TestTmpDifferential(t *testing.T) {
	b, err := os.ReadFile("/tmp/pepdiff/data.json")
	if err != nil {
		t.Skip(err)
	}
	var d struct {
		Versions [][]any `json:"versions"`
		Pairs    [][]any `json:"pairs"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, r := range d.Versions {
		s := r[0].(string)
		v, err := ParseVersion(s)
		if (err == nil) != r[1].(bool) {
			t.Errorf("%q: valid=%v want %v", s, err == nil, r[1])
			bad++
		} else if err == nil {
			if v.String() != r[2].(string) || v.Canonical() != r[3].(string) || v.IsPrerelease() != r[4].(bool) {
				t.Errorf("%q: %q %q %v want %v", s, v.String(), v.Canonical(), v.IsPrerelease(), r)
				bad++
			}
		}
		if bad > 30 {
			t.FailNow()
		}
	}
	for _, p := range d.Pairs {
		a, _ := ParseVersion(p[0].(string))
		b, _ := ParseVersion(p[1].(string))
		if c := a.Compare(b); c != int(p[2].(float64)) {
			t.Errorf("Compare(%q,%q)=%d want %v", p[0], p[1], c, p[2])
			bad++
		}
		if bad > 30 {
			t.FailNow()
		}
	}
}
