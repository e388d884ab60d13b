package disttest

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

// TestWheelReusesCompressors checks that wheels made with reused
// compressors are the same bytes each time and read back whole.
func TestWheelReusesCompressors(t *testing.T) {
	d := Dist{Name: "reuse-me", Version: "1.0", Summary: "compressors reused", Extra: map[string]string{"reuse_me/big.py": string(bytes.Repeat([]byte("x = 1\n"), 5000))}}
	first := d.Wheel()
	for range 3 {
		if again := d.Wheel(); !bytes.Equal(first, again) {
			t.Fatal("the same wheel made twice differs")
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil { // checks the CRC-32
			t.Fatalf("%s: %v", f.Name, err)
		}
		rc.Close()
	}
}

func BenchmarkWheel(b *testing.B) {
	d := Dist{Name: "bench-wheel", Version: "1.0", Summary: "a small wheel", RequiresDist: []string{"requests>=2"}}
	b.ReportAllocs()
	for b.Loop() {
		d.Wheel()
	}
}
