package dist

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// WheelMemberNames returns the set of the member names of a wheel that
// InspectWheel accepted, as its central directory lists them. The index
// checks with it that every License-File the metadata lists is in the
// archive, as PyPI does.
func WheelMemberNames(r io.ReaderAt, size int64) (map[string]bool, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("dist: list wheel members: %w", err)
	}
	names := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		names[f.Name] = true
	}
	return names, nil
}

// SdistMemberNames returns the set of the member names of a gzip-compressed
// sdist that InspectSdist accepted, without the trailing '/' of
// directories. It reads the whole archive again; the work is bounded by
// the limits InspectSdist applied.
func SdistMemberNames(r io.Reader) (map[string]bool, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("dist: list sdist members: %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	names := make(map[string]bool)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dist: list sdist members: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		names[strings.TrimSuffix(hdr.Name, "/")] = true
	}
}
