// Package importer moves the distributions of an existing index into this
// one (cheeseshop admin import): from a folder of distributions (the
// pypiserver layout) or from the simple API of another index (pypiserver,
// devpi, a cheeseshop, a static PEP 503 mirror). Sources only list and
// open files; each file is validated and published by index.Service.Import,
// in its own transaction, so that an interrupted import run again completes
// it and a finished one run again imports nothing.
package importer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"cheeseshop/internal/pep"
)

// Source is where distributions come from.
type Source interface {
	// String names the source for messages and events, without
	// credentials.
	String() string
	// Projects lists the source's project names, as it spells them.
	Projects(ctx context.Context) ([]string, error)
	// Files lists the files of one of them.
	Files(ctx context.Context, project string) ([]File, error)
	// Open opens a file's content.
	Open(ctx context.Context, f File) (io.ReadCloser, error)
}

// File is a file as its source lists it.
type File struct {
	// Filename is the file's name in the source.
	Filename string
	// Project is the project the source lists the file under, "" when the
	// source does not say (a flat folder: its metadata names it).
	Project string
	// SHA256 is the digest the source gives, lower-case hex; "" when it
	// gives none.
	SHA256 string
	// UploadTime is when the source says it was uploaded (PEP 700, or the
	// file's modification time); zero when unknown.
	UploadTime time.Time
	// Yanked and YankedReason are the file's PEP 592 yank.
	Yanked       bool
	YankedReason string
	// loc is where the source finds it: a path in a folder or a URL;
	// remote is true for a URL (whose content the SHA-256 verifies).
	loc    string
	remote bool
}

// IsDistribution reports whether a file name is one of a distribution
// this index publishes (a wheel, or an sdist in either archive format,
// which the index then checks).
func IsDistribution(filename string) bool {
	lower := strings.ToLower(filename)
	return strings.HasSuffix(lower, ".whl") || strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".zip")
}

// nameOf is the project a distribution's file name spells (ambiguous for
// a legacy sdist whose version has a hyphen), "" when it spells none.
func nameOf(filename string) string {
	if w, err := pep.ParseWheelFilename(filename); err == nil {
		return w.Name
	}
	if n, _, err := pep.ParseSdistFilename(filename); err == nil {
		return n
	}
	return ""
}

// wanted returns a filter of project names by the names asked for (any
// spelling), which passes every name when none is asked for.
func wanted(only []string) func(string) bool {
	if len(only) == 0 {
		return func(string) bool { return true }
	}
	set := make(map[string]bool, len(only))
	for _, n := range only {
		set[pep.NormalizeName(n)] = true
	}
	return func(name string) bool { return set[pep.NormalizeName(name)] }
}

// sourceError says which source failed, and how.
func sourceError(src Source, what string, err error) error {
	return fmt.Errorf("%s: %s: %w", src, what, err)
}
