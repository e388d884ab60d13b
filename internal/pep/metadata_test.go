package pep

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "metadata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

func TestParseMetadataFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Metadata // Fields is checked separately
	}{
		{
			file: "wheel-2.1.METADATA",
			want: Metadata{
				MetadataVersion: "2.1",
				Name:            "sample-project",
				Version:         "2.0.1",
				Summary:         "A sample Python project",
				Description: "# A sample Python project\n\n" +
					"A sample project that exists as an aid to the [Python Packaging User Guide][packaging guide].\n\n" +
					"    indented code block\n",
				DescriptionContentType: "text/markdown",
				Keywords:               "sample,setuptools,development",
				HomePage:               "https://github.com/pypa/sampleproject",
				Author:                 "A. Random Developer",
				AuthorEmail:            "author@example.com",
				License:                "MIT",
				RequiresPython:         ">=3.7",
				Classifiers: []string{
					"Development Status :: 3 - Alpha",
					"Intended Audience :: Developers",
					"Programming Language :: Python :: 3",
				},
				RequiresDist: []string{
					"peppercorn",
					"check-manifest ; extra == 'dev'",
					"coverage ; extra == 'test'",
				},
				ProvidesExtra: []string{"dev", "test"},
				ProjectURLs: []string{
					"Bug Reports, https://github.com/pypa/sampleproject/issues",
					"Source, https://github.com/pypa/sampleproject/",
				},
			},
		},
		{
			file: "distutils-1.0.PKG-INFO",
			want: Metadata{
				MetadataVersion: "1.0",
				Name:            "OldThing",
				Version:         "0.9b1",
				Summary:         "An old distutils project",
				Description: "OldThing\n========\n\n" +
					"This description was written by distutils, which indents\n" +
					"every continuation line by 8 spaces.\n\n" +
					"  An indented line.",
				HomePage:    "http://example.com/",
				Author:      "Someone",
				AuthorEmail: "someone@example.com",
				License:     "UNKNOWN",
				Platforms:   []string{"UNKNOWN"},
			},
		},
		{
			file: "setuptools-1.1.PKG-INFO",
			want: Metadata{
				MetadataVersion: "1.1",
				Name:            "pipe-thing",
				Version:         "1.0",
				Summary:         "Uses the pipe continuation",
				Author:          "Someone",
				License: "This software may only be obtained by sending the\n" +
					"author a postcard, and then the user promises not\n" +
					"to redistribute it.",
				Description: "First line\n\nSecond paragraph\n    indented",
				Keywords:    "a b c",
				Platforms:   []string{"linux", "win32"},
				Classifiers: []string{"License :: Other/Proprietary License"},
			},
		},
		{
			file: "core-2.4.METADATA",
			want: Metadata{
				MetadataVersion:        "2.4",
				Name:                   "modern",
				Version:                "3.0.0rc1",
				Summary:                "Uses the newest fields",
				Description:            "Body description, with ünïcödé.\nTrailing line.\n",
				DescriptionContentType: "text/x-rst; charset=UTF-8",
				DownloadURL:            "https://example.com/modern-3.0.0rc1.tar.gz",
				AuthorEmail:            `"Jane Doe" <jane@example.com>, Bob <bob@example.com>`,
				MaintainerEmail:        "Team <team@example.com>",
				LicenseExpression:      "MIT OR Apache-2.0",
				RequiresPython:         ">=3.9",
				RequiresDist:           []string{`typing-extensions>=4; python_version < "3.11"`},
				ProvidesDist:           []string{"modern-compat (1.0)"},
				ObsoletesDist:          []string{"oldmodern"},
				RequiresExternal:       []string{"libpng (>=1.5)"},
				SupportedPlatforms:     []string{"RedHat 7.2"},
				Dynamic:                []string{"Requires-Dist", "Version"},
				LicenseFiles:           []string{"LICENSE-MIT", "LICENSE-APACHE"},
			},
		},
		{
			file: "malformed.PKG-INFO",
			want: Metadata{
				MetadataVersion: "1.2",
				Name:            "messy",
				Version:         "1.0",
				Summary:         "kept",
				Classifiers:     []string{"Topic :: Utilities"},
			},
		},
	}
	for _, tt := range tests {
		raw := readFixture(t, tt.file)
		variants := map[string][]byte{
			"LF":     raw,
			"CRLF":   []byte(strings.ReplaceAll(string(raw), "\n", "\r\n")),
			"BOM+LF": append([]byte("\xef\xbb\xbf"), raw...),
		}
		for variant, input := range variants {
			t.Run(tt.file+"/"+variant, func(t *testing.T) {
				m, err := ParseMetadata(input)
				if err != nil {
					t.Fatalf("ParseMetadata: %v", err)
				}
				if len(m.Fields) == 0 {
					t.Errorf("Fields is empty")
				}
				got := *m
				got.Fields = nil
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ParseMetadata mismatch:\n got  %#v\n want %#v", got, tt.want)
				}
			})
		}
	}
}

func TestParseMetadataFields(t *testing.T) {
	m, err := ParseMetadata(readFixture(t, "setuptools-1.1.PKG-INFO"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"metadata-version", []string{"1.1"}},
		{"platform", []string{"linux", "win32"}},
		{"requires", []string{"os"}},
		{"provides", []string{"pipe_thing"}},
		{"description", []string{"First line\n\nSecond paragraph\n    indented"}},
		{"home-page", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := m.Fields[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Fields[%q] = %q, want %q", tt.key, got, tt.want)
			}
		})
	}

	m, err = ParseMetadata(readFixture(t, "malformed.PKG-INFO"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Fields["summary"], []string{"kept", "second summary is ignored"}; !reflect.DeepEqual(got, want) {
		t.Errorf("repeated Summary: Fields = %q, want %q", got, want)
	}
	if got, want := m.Fields["classifier"], []string{"", "Topic :: Utilities"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Fields[classifier] = %q, want %q", got, want)
	}
}

func TestParseMetadataInline(t *testing.T) {
	const head = "Metadata-Version: 2.1\nName: x\nVersion: 1\n"
	tests := []struct {
		name        string
		input       string
		description string
		summary     string
	}{
		{"no body", head, "", ""},
		{"blank body keeps header", head + "Description: from header\n\n  \n\n", "from header", ""},
		{"body wins", head + "Description: from header\n\nfrom body", "from body", ""},
		{"body kept verbatim", head + "\n\n  lead\r\n\ttab\n", "\n  lead\n\ttab\n", ""},
		{"folded summary unfolded", head + "Summary: one\n   two\n\tthree\n", "", "one two three"},
		{"trailing whitespace trimmed", head + "Summary:   padded   \n", "", "padded"},
		{"no space after colon", head + "Summary:tight\n", "", "tight"},
		{"colon in value", head + "Summary: a: b: c\n", "", "a: b: c"},
		{"invalid utf-8 replaced", head + "Summary: caf\xe9\n", "", "caf\uFFFD"},
		{"lone CR kept in value", head + "Summary: a\rb\n", "", "a\rb"},
		{"description continuation with tabs", head + "Description: a\n\tb\n\t\tc\n", "a\nb\nc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tt.input))
			if err != nil {
				t.Fatalf("ParseMetadata: %v", err)
			}
			if m.Description != tt.description {
				t.Errorf("Description = %q, want %q", m.Description, tt.description)
			}
			if m.Summary != tt.summary {
				t.Errorf("Summary = %q, want %q", m.Summary, tt.summary)
			}
		})
	}
}

func TestParseMetadataErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   []byte
		wantMsg string
	}{
		{"html", readFixture(t, "not-metadata.html"), "no header fields found"},
		{"missing version", readFixture(t, "missing-version.PKG-INFO"), "missing required field(s) Version"},
		{"empty", nil, "no header fields found"},
		{"binary", []byte("\x00\x01\x02PK\x03\x04"), "no header fields found"},
		{"only body", []byte("\nName: x\nVersion: 1\n"), "no header fields found"},
		{"empty values", []byte("Metadata-Version:\nName: \nVersion: 1\n"), "missing required field(s) Metadata-Version, Name"},
		{"too large", make([]byte, MaxMetadataSize+1), "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata(tt.input)
			if err == nil {
				t.Fatalf("ParseMetadata = %+v, want an error", m)
			}
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Errorf("error %v does not wrap ErrInvalidMetadata", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSupportedMetadataVersion(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"1.0", true}, {"1.1", true}, {"1.2", true}, {"2.1", true}, {"2.2", true},
		{"2.3", true}, {"2.4", true}, {"2.5", true}, {" 2.1 ", true},
		{"2.0", false}, {"1.3", false}, {"3.0", false}, {"2.10", false}, {"", false}, {"2.1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := SupportedMetadataVersion(tt.in); got != tt.want {
				t.Errorf("SupportedMetadataVersion(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
