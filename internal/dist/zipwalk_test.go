package dist

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRealWheelsFramingAndRecord inspects real wheels: the system's (see
// systemWheels) and, if CHEESESHOP_TEST_WHEELS names a folder, every wheel
// in it (for a check by hand, with wheels built by setuptools, hatchling,
// flit-core and poetry-core, say). Their framing must pass and their
// RECORD agree with them.
func TestRealWheelsFramingAndRecord(t *testing.T) {
	paths := systemWheels(t)
	if dir := os.Getenv("CHEESESHOP_TEST_WHEELS"); dir != "" {
		more, err := filepath.Glob(filepath.Join(dir, "*.whl"))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, more...)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkZipFraming(bytes.NewReader(data), int64(len(data)), DefaultMaxMembers); err != nil {
				t.Fatalf("framing refused: %v", err)
			}
			name, version := splitWheelName(filepath.Base(p))
			w, err := InspectWheel(bytes.NewReader(data), int64(len(data)), filepath.Base(p), name, version, Limits{})
			if err != nil {
				t.Fatalf("InspectWheel: %v", err)
			}
			if w.RecordProblem != "" {
				t.Errorf("RECORD: %s", w.RecordProblem)
			}
		})
	}
}

// zipNotAccepted is PyPI's message for an archive its framing check refuses.
func zipNotAccepted(why string) string {
	return "ZIP archive not accepted: " + why + ". See https://docs.pypi.org/archives for more information"
}

// TestZipFramingSkipsData: the walk reads the records, not the members'
// data: a wheel with a 4 MiB member costs a few windows of reading.
func TestZipFramingSkipsData(t *testing.T) {
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i * 7 >> 3)
	}
	data := validWheel(t, zipEntry{name: "demo/big.bin", body: big, method: zip.Store})
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	if err := checkZipFraming(cr, int64(len(data)), DefaultMaxMembers); err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d of %d bytes", cr.n, len(data))
	if cr.n > 256<<10 {
		t.Errorf("read %d of %d bytes, want at most 256 KiB", cr.n, len(data))
	}
}
