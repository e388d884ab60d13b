package pep

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
)

func TestTmpFilenames(t *testing.T) {
	b, err := os.ReadFile("/tmp/pepdiff/fn.json")
	if err != nil {
		t.Skip(err)
	}
	var d [][]json.RawMessage
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, r := range d {
		var s string
		var w, sd []any
		json.Unmarshal(r[0], &s)
		json.Unmarshal(r[1], &w)
		json.Unmarshal(r[2], &sd)
		wf, werr := ParseWheelFilename(s)
		res := "ok"
		if werr != nil {
			res = "InvalidWheelFilename"
			if errors.Is(werr, ErrInvalidVersion) {
				res = "InvalidVersion"
			}
		}
		if res != w[0] {
			if !(w[0] == "ok" && (len(w[1].(string)) == 0)) {
				t.Errorf("wheel %q: %s want %v (%v)", s, res, w, werr)
				bad++
			}
		} else if res == "ok" {
			var tags []any
			for _, x := range lowerSortedUnique(wf.Tags()) {
				tags = append(tags, x)
			}
			if NormalizeName(wf.Name) != w[1] || mustParse(t, wf.Version).String() != w[2] || !slices.Equal(tags, w[4].([]any)) {
				t.Errorf("wheel %q: %#v want %v", s, wf, w)
				bad++
			}
			if wf.Build != "" && buildKey(wf.Build) != w[3] {
				t.Logf("build %q: %q want %v", s, buildKey(wf.Build), w[3])
			}
		}
		n, v, serr := ParseSdistFilename(s)
		res = "ok"
		if serr != nil {
			res = "InvalidSdistFilename"
			if errors.Is(serr, ErrInvalidVersion) {
				res = "InvalidVersion"
			}
		}
		if res != sd[0] {
			if !(sd[0] == "ok" && sd[1] == "") {
				t.Errorf("sdist %q: %s want %v (%v)", s, res, sd, serr)
				bad++
			}
		} else if res == "ok" && (NormalizeName(n) != sd[1] || mustParse(t, v).String() != sd[2]) {
			t.Errorf("sdist %q: %q %q want %v", s, n, v, sd)
			bad++
		}
		if bad > 30 {
			t.FailNow()
		}
	}
}
