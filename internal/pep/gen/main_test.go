package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenClassifiers(t *testing.T) {
	dir := t.TempDir()
	var py strings.Builder
	py.WriteString("from typing import Dict, List, Set\n\nsorted_classifiers: List[str] = [\n")
	for i := range 120 {
		fmt.Fprintf(&py, "    \"Topic :: T%03d\",\n", i)
	}
	py.WriteString(`]

deprecated_classifiers: Dict[str, List[str]] = {
    "Natural Language :: Ukranian": ["Natural Language :: Ukrainian"],
    "Topic :: Gone": [],
}
`)
	src := filepath.Join(dir, "__init__.py")
	if err := os.WriteFile(src, []byte(py.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"classifiers", "-out", dir, "-source", "test", src}, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "classifiers-deprecated.txt"))
	want := header("The deprecated trove classifiers, each followed by its replacements, tab-separated", "test") +
		"Natural Language :: Ukranian\tNatural Language :: Ukrainian\nTopic :: Gone\n"
	if string(got) != want {
		t.Errorf("classifiers-deprecated.txt:\n%s\nwant:\n%s", got, want)
	}
	list, _ := os.ReadFile(filepath.Join(dir, "classifiers.txt"))
	if n := strings.Count(string(list), "Topic :: T"); n != 120 {
		t.Errorf("classifiers.txt has %d classifiers, want 120", n)
	}
}
