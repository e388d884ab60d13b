package pep

import (
	"errors"
	"testing"
)

func TestCanonicalLicenseExpression(t *testing.T) {
	tests := []struct {
		in, want string // want "" with err
		err      string
	}{
		{in: "MIT", want: "MIT"},
		{in: "mit", want: "MIT"},
		{in: "mit or apache-2.0", want: "MIT OR Apache-2.0"},
		{in: "(mit OR bsd-3-clause) and apache-2.0", want: "(MIT OR BSD-3-Clause) AND Apache-2.0"},
		{in: "( MIT  OR  0bsd )", want: "(MIT OR 0BSD)"},
		{in: "gpl-2.0-or-later WITH classpath-exception-2.0", want: "GPL-2.0-or-later WITH Classpath-exception-2.0"},
		{in: "GPL-2.0+", want: "GPL-2.0+"},
		{in: "gpl-2.0", want: "GPL-2.0"}, // deprecated, still accepted
		{in: "LicenseRef-Proprietary.1", want: "LicenseRef-Proprietary.1"},
		{in: "licenseref-Special OR MIT", want: "LicenseRef-Special OR MIT"},
		{in: "", err: "Invalid license expression: ''"},
		{in: "MIT AND", err: "Invalid license expression: 'MIT AND'"},
		{in: "MIT Apache-2.0", err: "Invalid license expression: 'MIT Apache-2.0'"},
		{in: "((MIT))", err: "Invalid license expression: '((MIT))'"},
		{in: "MIT (Apache-2.0)", err: "Invalid license expression: 'MIT (Apache-2.0)'"},
		{in: "(MIT", err: "Invalid license expression: '(MIT'"},
		{in: "()", err: "Invalid license expression: '()'"},
		{in: "MIT License", err: "Invalid license expression: 'MIT License'"},
		{in: "Foo", err: "Unknown license: 'foo'"},
		{in: "MIT WITH Foo-exception", err: "Unknown license exception: 'foo-exception'"},
		{in: "LicenseRef-a_b", err: "Invalid licenseref: 'licenseref-a_b'"},
	}
	for _, tt := range tests {
		got, err := CanonicalLicenseExpression(tt.in)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrInvalidLicenseExpression) || err.Error() != "invalid license expression: "+tt.err {
				t.Errorf("CanonicalLicenseExpression(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalLicenseExpression(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestClassifierLists(t *testing.T) {
	for _, c := range []string{"Programming Language :: Python :: 3.14", "License :: OSI Approved :: MIT License", "Typing :: Typed",
		// trove-classifiers 2026.6.1.19, added by hand to the generated list.
		"Programming Language :: Python :: 3.16", "Framework :: Django :: 6.1", "Environment :: Cygwin (MS Windows)"} {
		if !ValidClassifier(c) {
			t.Errorf("ValidClassifier(%q) = false", c)
		}
	}
	for _, c := range []string{"Natural Language :: Ukranian", "Private :: Do Not Upload", "Programming Language :: Python :: 3.14 ", ""} {
		if ValidClassifier(c) {
			t.Errorf("ValidClassifier(%q) = true", c)
		}
	}
	if by, ok := DeprecatedClassifier("Natural Language :: Ukranian"); !ok || len(by) != 1 || by[0] != "Natural Language :: Ukrainian" {
		t.Errorf("DeprecatedClassifier(Ukranian) = %q, %v", by, ok)
	}
	if by, ok := DeprecatedClassifier("Topic :: Communications :: Chat :: AOL Instant Messenger"); !ok || len(by) != 0 {
		t.Errorf("DeprecatedClassifier(AIM) = %q, %v", by, ok)
	}
	if len(classifiers) < 800 || len(spdxLicenses) < 600 || len(spdxExceptions) < 50 {
		t.Errorf("lists too short: %d classifiers, %d licenses, %d exceptions", len(classifiers), len(spdxLicenses), len(spdxExceptions))
	}
	for _, c := range []string{"Private :: Do Not Upload", "private :: x"} {
		if !PrivateClassifier(c) {
			t.Errorf("PrivateClassifier(%q) = false", c)
		}
	}
}

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       `'abc'`,
		"it's":      `"it's"`,
		`a'b"c`:     `'a\'b"c'`,
		"a\\b":      `'a\\b'`,
		"tab\there": `'tab\there'`,
		"nul\x00":   `'nul\x00'`,
		"é":         `'é'`,
	} {
		if got := PyRepr(in); got != want {
			t.Errorf("PyRepr(%q) = %s, want %s", in, got, want)
		}
	}
}
