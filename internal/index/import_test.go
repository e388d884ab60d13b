package index

import (
	"testing"

	"cheeseshop/internal/pep"
)

func TestLegacySdistName(t *testing.T) {
	for _, tc := range []struct {
		fn, name, version string
		want              bool
	}{
		{"nc-hello-0.1.0.tar.gz", "nc-hello", "0.1.0", true},
		{"NC.Hello-0.1.0.tar.gz", "nc-hello", "0.1.0", true},
		{"foo-1.0-1.tar.gz", "foo", "1.0.post1", true},
		{"foo_bar-1.0.tar.gz", "Foo.Bar", "1.0", true},
		{"foo-1.0.zip", "foo", "1.0", false},
		{"foo-2.0.tar.gz", "foo", "1.0", false},
		{"bar-1.0.tar.gz", "foo", "1.0", false},
		{"foo.tar.gz", "foo", "1.0", false},
	} {
		v, err := pep.ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if got := legacySdistName(tc.fn, tc.name, v); got != tc.want {
			t.Errorf("legacySdistName(%q, %q, %s) = %v, want %v", tc.fn, tc.name, tc.version, got, tc.want)
		}
	}
}
