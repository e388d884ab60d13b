package pep

import (
	_ "embed"
	"sort"
	"strings"
)

// The trove classifiers PyPI accepts, generated from pypa/trove-classifiers
// by ./gen (see README.md, "Updating the metadata lists").
var (
	//go:embed data/classifiers.txt
	classifiersFile string
	//go:embed data/classifiers-deprecated.txt
	deprecatedClassifiersFile string
)

// classifiers is the sorted list of the valid classifiers, and
// deprecatedClassifiers maps each deprecated classifier to its
// replacements (none for some). Both are built once, at package
// initialization, and only read afterwards.
var (
	classifiers           = dataLines(classifiersFile, true)
	deprecatedClassifiers = func() map[string][]string {
		m := make(map[string][]string)
		for _, line := range dataLines(deprecatedClassifiersFile, false) {
			fields := strings.Split(line, "\t")
			m[fields[0]] = fields[1:]
		}
		return m
	}()
)

// dataLines returns the lines of an embedded data file, without blank
// lines and '#' comments, sorted when sorted is set.
func dataLines(text string, sorted bool) []string {
	var out []string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, line)
	}
	if sorted {
		sort.Strings(out)
	}
	return out
}

// ValidClassifier reports whether c is one of the trove classifiers PyPI
// accepts today (compared exactly, as PyPI does). Deprecated classifiers
// are not valid; see DeprecatedClassifier.
func ValidClassifier(c string) bool {
	i := sort.SearchStrings(classifiers, c)
	return i < len(classifiers) && classifiers[i] == c
}

// DeprecatedClassifier reports whether c is a deprecated trove classifier,
// and returns the classifiers that replace it (possibly none). The
// returned slice must not be modified.
func DeprecatedClassifier(c string) (replacements []string, ok bool) {
	replacements, ok = deprecatedClassifiers[c]
	return replacements, ok
}

// PrivateClassifier reports whether c starts with "Private ::", the prefix
// trove-classifiers promises never to use: a project marks itself with
// such a classifier so that a public index refuses it.
// The prefix is compared without regard to case.
func PrivateClassifier(c string) bool {
	const prefix = "private ::"
	return len(c) >= len(prefix) && strings.EqualFold(c[:len(prefix)], prefix)
}
