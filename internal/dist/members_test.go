package dist

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

func TestMemberNames(t *testing.T) {
	whl := validWheel(t, file("demo-1.0.dist-info/licenses/LICENSE", "MIT"))
	got, err := WheelMemberNames(bytes.NewReader(whl), int64(len(whl)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/RECORD", "demo-1.0.dist-info/WHEEL",
		"demo-1.0.dist-info/licenses/LICENSE", "demo/__init__.py"}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, want) {
		t.Errorf("WheelMemberNames = %q, want %q", names, want)
	}

	sdist := buildSdist(t, sdistEntries(tfile("demo-1.0/LICENSE", "MIT"))...)
	got, err = SdistMemberNames(bytes.NewReader(sdist))
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"demo-1.0", "demo-1.0/LICENSE", "demo-1.0/PKG-INFO", "demo-1.0/demo", "demo-1.0/demo/__init__.py", "demo-1.0/setup.py"}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, want) {
		t.Errorf("SdistMemberNames = %q, want %q", names, want)
	}
	if _, err := SdistMemberNames(bytes.NewReader([]byte("not gzip"))); err == nil {
		t.Error("SdistMemberNames(not gzip) = nil error")
	}
}
