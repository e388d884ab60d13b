// Package pep implements the Python packaging rules a package index needs,
// as laid down by the Python Enhancement Proposals (PEPs) and the PyPA
// specifications, and as implemented by the reference library
// ("packaging") and by PyPI itself:
//
//   - project names: PEP 503 normalization, PyPI's name validity rule and its
//     "ultranormalized" look-alike form, and the standard-library module list
//     PyPI refuses as project names;
//   - PEP 440 versions: parsing, normalization and ordering, matching
//     packaging.version.Version;
//   - distribution filenames: wheel (PEP 427/491) and sdist (PEP 625)
//     filenames and PyPI's allow-list of wheel platform tags;
//   - core metadata (PKG-INFO / METADATA files).
//
// The package does no I/O beyond reading its own embedded data, holds no
// mutable global state and is safe for concurrent use.
//
// Where this package deliberately differs from packaging 23.0 (always by
// rejecting some exotic input packaging accepts), the difference is noted on
// the function concerned.
package pep
