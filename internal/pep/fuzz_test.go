package pep

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Besides the seeds added here, each fuzz test reads the corpus kept in
// testdata/fuzz/<FuzzName>/ (interesting inputs, and any failure the fuzzer
// found once).

// addInputs adds every input listed in testdata/name (the format of
// versions.txt) as a seed, through add.
func addInputs(f *testing.F, name string, add func(string)) {
	f.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatalf("reading seeds: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, `"`) {
			if err := json.Unmarshal([]byte(line), &line); err != nil {
				f.Fatalf("%s: bad JSON line %q: %v", name, line, err)
			}
		}
		add(line)
	}
}

func FuzzParseVersion(f *testing.F) {
	var prev string
	addInputs(f, "versions.txt", func(s string) {
		f.Add(s, prev)
		prev = s
	})
	f.Fuzz(func(t *testing.T, a, b string) {
		v, err := ParseVersion(a)
		if err != nil {
			return
		}
		s := v.String()
		v2, err := ParseVersion(s)
		if err != nil {
			t.Fatalf("String() of %q is %q, which does not parse: %v", a, s, err)
		}
		if got := v2.String(); got != s {
			t.Fatalf("normalizing is not idempotent: %q -> %q -> %q", a, s, got)
		}
		if v.Compare(v2) != 0 || v2.Compare(v) != 0 {
			t.Fatalf("%q and its normal form %q compare unequal", a, s)
		}
		if v.Compare(v) != 0 {
			t.Fatalf("Compare is not reflexive for %q", a)
		}
		c, err := ParseVersion(v.Canonical())
		if err != nil || c.Compare(v) != 0 {
			t.Fatalf("Canonical() of %q is %q, which does not parse to an equal version (err %v)", a, v.Canonical(), err)
		}
		if v.Local() == "" && v.Public() != s || v.Local() != "" && v.Public()+"+"+v.Local() != s {
			t.Fatalf("Public() %q and Local() %q do not make up String() %q", v.Public(), v.Local(), s)
		}

		w, err := ParseVersion(b)
		if err != nil {
			return
		}
		vw, wv := v.Compare(w), w.Compare(v)
		if vw != -wv || vw < -1 || vw > 1 {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, vw, b, a, wv)
		}
		if (vw == 0) != (v.Canonical() == w.Canonical()) {
			t.Fatalf("Compare(%q, %q) = %d but canonical forms are %q and %q", a, b, vw, v.Canonical(), w.Canonical())
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "metadata"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "metadata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add([]byte(strings.ReplaceAll(string(data), "\n", "\r\n")))
	}
	f.Add([]byte("Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription: a\n       |b\n        c\n\td\n\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadata(data)
		if err != nil {
			return
		}
		if m.MetadataVersion == "" || m.Name == "" || m.Version == "" {
			t.Fatalf("required field empty: %q %q %q", m.MetadataVersion, m.Name, m.Version)
		}
		for key, values := range m.Fields {
			if key != strings.ToLower(key) || !validFieldName(key) {
				t.Fatalf("bad field name %q", key)
			}
			for _, v := range values {
				if !utf8.ValidString(v) {
					t.Fatalf("field %q has invalid UTF-8 %q", key, v)
				}
			}
		}
		if !utf8.ValidString(m.Description) {
			t.Fatalf("invalid UTF-8 description %q", m.Description)
		}
		for _, e := range ValidateMetadata(m, ValidateOptions{}) {
			if e.Field == "" || e.Msg == "" || !utf8.ValidString(e.Msg) {
				t.Fatalf("bad refusal %+v", e)
			}
		}
	})
}

func FuzzParseWheelFilename(f *testing.F) {
	addInputs(f, "filenames.txt", func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, filename string) {
		w, err := ParseWheelFilename(filename)
		if err != nil {
			return
		}
		parts := []string{w.Name, w.Version}
		if w.Build != "" {
			parts = append(parts, w.Build)
		}
		parts = append(parts,
			strings.Join(w.PythonTags, "."),
			strings.Join(w.ABITags, "."),
			strings.Join(w.PlatformTags, "."))
		if got := strings.Join(parts, "-") + ".whl"; got != filename {
			t.Fatalf("parts of %q rebuild %q", filename, got)
		}
		if _, err := ParseVersion(w.Version); err != nil {
			t.Fatalf("version %q of %q does not parse: %v", w.Version, filename, err)
		}
		if w.Name == "" || strings.Contains(w.Name, "-") {
			t.Fatalf("bad name %q in %q", w.Name, filename)
		}
		if n := len(w.PythonTags) * len(w.ABITags) * len(w.PlatformTags); len(w.Tags()) != n {
			t.Fatalf("Tags() has %d tags, want %d", len(w.Tags()), n)
		}
		for _, tag := range w.PlatformTags {
			ValidPlatformTag(tag)
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	addInputs(f, "names.txt", func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, name string) {
		n := NormalizeName(name)
		if again := NormalizeName(n); again != n {
			t.Fatalf("NormalizeName is not idempotent: %q -> %q -> %q", name, n, again)
		}
		if strings.ContainsAny(n, "_.") || strings.Contains(n, "--") {
			t.Fatalf("NormalizeName(%q) = %q still has separators to collapse", name, n)
		}
		if ValidProjectName(name) {
			for i := 0; i < len(n); i++ {
				if c := n[i]; !(isASCIIDigit(c) || 'a' <= c && c <= 'z' || c == '-') {
					t.Fatalf("valid name %q normalizes to %q", name, n)
				}
			}
		}
		if u := UltraNormalizeName(name); UltraNormalizeName(u) != u {
			t.Fatalf("UltraNormalizeName is not idempotent for %q", name)
		}
		if IsStdlibModule(name) != IsStdlibModule(n) {
			t.Fatalf("IsStdlibModule differs between %q and its normal form %q", name, n)
		}
		if p := WheelNamePrefix(name); strings.Contains(p, "-") {
			t.Fatalf("WheelNamePrefix(%q) = %q has a '-'", name, p)
		}
	})
}

// FuzzFilenameKey checks that FilenameKey never panics and that the
// spellings it should fold together get the key of the canonical
// filename: the build tag dropped, the tag sets reversed and repeated,
// the name and version respelled.
func FuzzFilenameKey(f *testing.F) {
	addInputs(f, "filenames.txt", func(s string) { f.Add(s) })
	f.Add("Foo.Bar-1.0.0-7-py3.py2-none-any.whl")
	f.Add("de\u212amo-1.0-py3-none-any.whl")
	f.Add("foo_bar-1.0.tar.gz")
	f.Fuzz(func(t *testing.T, fn string) {
		k := FilenameKey(fn)
		if FilenameKey(fn) != k {
			t.Fatalf("FilenameKey(%q) is not deterministic", fn)
		}
		w, err := ParseWheelFilename(fn)
		if err != nil {
			return
		}
		if !strings.HasPrefix(k, "wheel:") {
			t.Fatalf("FilenameKey(%q) = %q for a valid wheel filename", fn, k)
		}
		v, _ := ParseVersion(w.Version)
		rev := func(tags []string) string {
			r := slices.Clone(tags)
			slices.Reverse(r)
			return strings.Join(append(r, tags...), ".")
		}
		for _, variant := range []string{
			// The canonical spelling, with a build tag.
			WheelNamePrefix(w.Name) + "-" + v.Canonical() + "-1-" + strings.Join(w.PythonTags, ".") + "-" +
				strings.Join(w.ABITags, ".") + "-" + strings.Join(w.PlatformTags, ".") + ".whl",
			// Tag sets reversed and repeated, upper-cased.
			w.Name + "-" + w.Version + "-" + strings.ToUpper(rev(w.PythonTags)) + "-" + rev(w.ABITags) + "-" + rev(w.PlatformTags) + ".whl",
		} {
			if _, err := ParseWheelFilename(variant); err != nil {
				continue // e.g. too many tags once repeated
			}
			if got := FilenameKey(variant); got != k {
				t.Fatalf("FilenameKey(%q) = %q, but FilenameKey(%q) = %q", variant, got, fn, k)
			}
		}
	})
}

// FuzzNormalizeSdistFilename checks that NormalizeSdistFilename never
// panics and that what it returns is a PEP 625 filename: its own
// normalization, SdistFilename of its parts, with the key of the input.
func FuzzNormalizeSdistFilename(f *testing.F) {
	addInputs(f, "filenames.txt", func(s string) { f.Add(s) })
	for _, s := range []string{"nc-hello-0.1.0.tar.gz", "Foo_Bar.baz-1.0.tar.gz", "nc-hello-0.1.00.tar.gz",
		"foo-1.0-1.tar.gz", "nc-hello-0.1.0.zip", "zope.interface-1!5.0+local.tar.gz", "-1.0.tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		got, ok := NormalizeSdistFilename(fn)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeSdistFilename(%q) = %q, false; want \"\" with false", fn, got)
			}
			return
		}
		if again, ok := NormalizeSdistFilename(got); !ok || again != got {
			t.Fatalf("NormalizeSdistFilename(%q) = %q, but that normalizes to %q, %v", fn, got, again, ok)
		}
		name, version, err := ParseSdistFilename(got)
		if err != nil {
			t.Fatalf("NormalizeSdistFilename(%q) = %q, which does not parse: %v", fn, got, err)
		}
		v, _ := ParseVersion(version)
		if want := SdistFilename(name, v); want != got || name != WheelNamePrefix(name) {
			t.Fatalf("NormalizeSdistFilename(%q) = %q, not a PEP 625 name (%q)", fn, got, want)
		}
		if FilenameKey(got) != FilenameKey(fn) {
			t.Fatalf("FilenameKey(%q) = %q, but FilenameKey(%q) = %q", got, FilenameKey(got), fn, FilenameKey(fn))
		}
	})
}

// FuzzCanonicalLicenseExpression: the canonical form of an expression is
// accepted again and is its own canonical form.
func FuzzCanonicalLicenseExpression(f *testing.F) {
	for _, s := range []string{"MIT", "mit or (apache-2.0 AND bsd-3-clause)", "GPL-2.0+ WITH classpath-exception-2.0",
		"LicenseRef-x.y", "((MIT))", "MIT AND", "(", ")"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalLicenseExpression(s)
		if err != nil {
			return
		}
		again, err := CanonicalLicenseExpression(c)
		if err != nil || again != c {
			t.Fatalf("%q -> %q -> %q, %v", s, c, again, err)
		}
	})
}
