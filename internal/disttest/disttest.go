// Package disttest builds small but genuine Python distributions (wheels
// and sdists) in memory, for tests, benchmarks and the index loader.
package disttest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Dist describes a distribution to build.
type Dist struct {
	Name           string // project name as in metadata, e.g. "Foo_Bar.baz"
	Version        string
	Summary        string
	RequiresPython string
	RequiresDist   []string
	Description    string
	// DescriptionContentType is the Description-Content-Type:
	// text/markdown when empty, none at all when NoContentType.
	DescriptionContentType string
	// Module is the importable module written into the archive; default
	// derived from Name.
	Module string
	// Extra files (path inside the archive → content).
	Extra map[string]string
	// MetadataVersion is the core metadata's version, "2.1" when empty.
	MetadataVersion string
	// Headers are more core metadata header lines ("Import-Name: x\n").
	Headers string
	// Stored keeps the wheel's members uncompressed (zip.Store), which is
	// many times faster to make: for filling large indexes.
	Stored bool
}

// NoContentType as a Dist's DescriptionContentType leaves the field out of
// its metadata (its description is then reStructuredText).
const NoContentType = "none"

var nonAlnum = regexp.MustCompile(`[-_.]+`)

// Escaped is the name as it appears in file names: normalized, '-' → '_'.
func Escaped(name string) string {
	return strings.ReplaceAll(strings.ToLower(nonAlnum.ReplaceAllString(name, "-")), "-", "_")
}

func (d Dist) metadataVersion() string {
	if d.MetadataVersion == "" {
		return "2.1"
	}
	return d.MetadataVersion
}

// Metadata renders the core metadata file (METADATA / PKG-INFO).
func (d Dist) Metadata() string {
	var b strings.Builder
	b.WriteString("Metadata-Version: " + d.metadataVersion() + "\n")
	b.WriteString("Name: " + d.Name + "\n")
	b.WriteString("Version: " + d.Version + "\n")
	if d.Summary != "" {
		b.WriteString("Summary: " + d.Summary + "\n")
	}
	if d.RequiresPython != "" {
		b.WriteString("Requires-Python: " + d.RequiresPython + "\n")
	}
	for _, r := range d.RequiresDist {
		b.WriteString("Requires-Dist: " + r + "\n")
	}
	b.WriteString(d.Headers)
	switch d.DescriptionContentType {
	case "":
		b.WriteString("Description-Content-Type: text/markdown\n")
	case NoContentType:
	default:
		b.WriteString("Description-Content-Type: " + d.DescriptionContentType + "\n")
	}
	b.WriteString("\n")
	b.WriteString(d.Description)
	return b.String()
}

func (d Dist) module() string {
	if d.Module != "" {
		return d.Module
	}
	return Escaped(d.Name)
}

// WheelFilename is the PEP 427 file name of the pure-Python wheel.
func (d Dist) WheelFilename() string {
	return Escaped(d.Name) + "-" + d.Version + "-py3-none-any.whl"
}

// SdistFilename is the PEP 625 file name of the sdist.
func (d Dist) SdistFilename() string {
	return Escaped(d.Name) + "-" + d.Version + ".tar.gz"
}

// Wheel builds the wheel: a module, and a dist-info with METADATA, WHEEL
// and a RECORD listing every file with its hash.
func (d Dist) Wheel() []byte {
	distInfo := Escaped(d.Name) + "-" + d.Version + ".dist-info/"
	files := []struct{ name, body string }{
		{d.module() + "/__init__.py", fmt.Sprintf("__version__ = %q\n", d.Version)},
	}
	for p, c := range d.Extra {
		files = append(files, struct{ name, body string }{p, c})
	}
	files = append(files,
		struct{ name, body string }{distInfo + "METADATA", d.Metadata()},
		struct{ name, body string }{distInfo + "WHEEL", "Wheel-Version: 1.0\nGenerator: cheeseshop-disttest\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	)
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.body))
	}
	record.WriteString(distInfo + "RECORD,,\n")
	files = append(files, struct{ name, body string }{distInfo + "RECORD", record.String()})

	var buf bytes.Buffer
	zw := NewZipWriter(&buf)
	method := uint16(zip.Deflate)
	if d.Stored {
		method = zip.Store
	}
	for _, f := range files {
		if err := zw.AddBytes(f.name, method, []byte(f.body)); err != nil {
			panic(err) // writing to memory cannot fail
		}
	}
	zw.Close()
	return buf.Bytes()
}

// Sdist builds the sdist: one top folder with PKG-INFO, pyproject.toml
// and the module.
func (d Dist) Sdist() []byte {
	top := Escaped(d.Name) + "-" + d.Version + "/"
	files := []struct{ name, body string }{
		{top + "PKG-INFO", d.Metadata()},
		{top + "pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n"},
		{top + d.module() + "/__init__.py", fmt.Sprintf("__version__ = %q\n", d.Version)},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tw.WriteHeader(&tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mod, Format: tar.FormatPAX})
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body)), ModTime: mod, Format: tar.FormatPAX})
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// Digests of content, hex-encoded, as upload forms carry them.
type Digests struct{ MD5, SHA256, Blake2_256 string }

// Digest computes the three digests PyPI accepts.
func Digest(content []byte) Digests {
	m := md5.Sum(content)
	s := sha256.Sum256(content)
	b := blake2b.Sum256(content)
	return Digests{hex.EncodeToString(m[:]), hex.EncodeToString(s[:]), hex.EncodeToString(b[:])}
}

// Form returns the upload form twine would send for a file of d.
func (d Dist) Form(filetype string, content []byte) map[string][]string {
	dg := Digest(content)
	f := map[string][]string{
		":action": {"file_upload"}, "protocol_version": {"1"}, "metadata_version": {d.metadataVersion()},
		"name": {d.Name}, "version": {d.Version}, "filetype": {filetype}, "summary": {d.Summary},
		"md5_digest": {dg.MD5}, "sha256_digest": {dg.SHA256}, "blake2_256_digest": {dg.Blake2_256},
		"requires_dist": d.RequiresDist, "requires_python": {d.RequiresPython},
	}
	if filetype == "bdist_wheel" {
		f["pyversion"] = []string{"py3"}
	} else {
		f["pyversion"] = []string{"source"}
	}
	return f
}
