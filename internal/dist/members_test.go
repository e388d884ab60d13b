package dist

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// TestMemberNames: the inspection of a wheel or an sdist lists every
// member's name, for the index's License-File check.
func TestMemberNames(t *testing.T) {
	whl := validWheel(t, file("demo-1.0.dist-info/licenses/LICENSE", "MIT"))
	w, err := InspectWheel(bytes.NewReader(whl), int64(len(whl)), "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/RECORD", "demo-1.0.dist-info/WHEEL",
		"demo-1.0.dist-info/licenses/LICENSE", "demo/__init__.py"}
	if names := slices.Sorted(maps.Keys(w.Members)); !slices.Equal(names, want) {
		t.Errorf("Wheel.Members = %q, want %q", names, want)
	}

	sdist := buildSdist(t, sdistEntries(tfile("demo-1.0/LICENSE", "MIT"))...)
	sd, err := InspectSdist(bytes.NewReader(sdist), int64(len(sdist)), "demo-1.0.tar.gz", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"demo-1.0", "demo-1.0/LICENSE", "demo-1.0/PKG-INFO", "demo-1.0/demo", "demo-1.0/demo/__init__.py", "demo-1.0/setup.py"}
	if names := slices.Sorted(maps.Keys(sd.Members)); !slices.Equal(names, want) || sd.Top != "demo-1.0" {
		t.Errorf("Sdist.Members = %q, Top %q; want %q, demo-1.0", names, sd.Top, want)
	}
}
