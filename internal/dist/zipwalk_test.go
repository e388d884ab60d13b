package dist

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestZipFramingRealWheels walks real wheels: Debian's bundled ones and,
// if CHEESESHOP_TEST_WHEELS names a folder, every wheel in it (for instance
// wheels built locally with setuptools, hatchling, flit-core and
// poetry-core). None may be refused.
func TestZipFramingRealWheels(t *testing.T) {
	paths, _ := filepath.Glob("/usr/share/python-wheels/*.whl")
	if dir := os.Getenv("CHEESESHOP_TEST_WHEELS"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
		paths = append(paths, more...)
	}
	if len(paths) == 0 {
		t.Skip("no real wheels on this machine")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkZipFraming(bytes.NewReader(data), int64(len(data)), DefaultMaxMembers); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// zipNotAccepted is PyPI's message for an archive its framing check refuses.
func zipNotAccepted(why string) string {
	return "ZIP archive not accepted: " + why + ". See https://docs.pypi.org/archives for more information"
}
