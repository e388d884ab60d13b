package pep

import (
	"slices"
	"strings"
	"testing"
)

// validBase is metadata every check accepts.
func validBase() *Metadata {
	return &Metadata{
		MetadataVersion: "2.5", Name: "sample", Version: "1.0",
		Summary: "A sample", AuthorEmail: "Ann <ann@example.org>", MaintainerEmail: "bob@example.org",
		HomePage: "https://example.org", LicenseExpression: "MIT", LicenseFiles: []string{"LICENSE", "licenses/NOTICE.txt"},
		Classifiers:  []string{"Programming Language :: Python :: 3", "Typing :: Typed"},
		RequiresDist: []string{"requests>=2", "tomli; python_version < '3.11'"},
		ProjectURLs:  []string{"Source, https://example.org/src", "Issues, https://example.org/issues"},
		Dynamic:      []string{"Requires-Dist"},
		ImportNames:  []string{"sample", "sample._impl ; private"},
	}
}

// sentOnly reports the fields an old client sends: the given ones, and
// none of those newer than Metadata-Version 2.1.
func sentOnly(fields ...string) func(string) bool {
	return func(f string) bool {
		switch f {
		case "dynamic", "license-expression", "license-file", "import-name", "import-namespace":
			return slices.Contains(fields, f)
		}
		return true
	}
}

func TestValidateMetadata(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Metadata)
		opt    ValidateOptions
		want   string // the first refusal's field and message; "" if none
	}{
		{"valid", func(m *Metadata) {}, ValidateOptions{}, ""},
		{"distutils UNKNOWN values", func(m *Metadata) {
			m.HomePage, m.AuthorEmail, m.MaintainerEmail, m.DownloadURL = "UNKNOWN", "UNKNOWN", " UNKNOWN", "UNKNOWN"
			m.Platforms, m.Classifiers = []string{"UNKNOWN"}, append(m.Classifiers, "UNKNOWN")
		}, ValidateOptions{}, ""},
		{"metadata version 2.0", func(m *Metadata) { m.MetadataVersion = "2.0" }, ValidateOptions{},
			"metadata-version: '2.0' is not a valid metadata version"},
		{"license-expression too new", func(m *Metadata) { m.MetadataVersion = "2.1"; m.ImportNames = nil },
			ValidateOptions{}, "dynamic: dynamic introduced in metadata version 2.2, not 2.1"},
		{"license-expression in 2.3", func(m *Metadata) { m.MetadataVersion = "2.3"; m.ImportNames = nil },
			ValidateOptions{}, "license-expression: license-expression introduced in metadata version 2.4, not 2.3"},
		{"import-name in 2.4", func(m *Metadata) { m.MetadataVersion = "2.4" },
			ValidateOptions{}, "import-name: import-name introduced in metadata version 2.5, not 2.4"},
		{"setuptools 66: License-File in 2.1", func(m *Metadata) {
			m.MetadataVersion = "2.1"
			m.LicenseExpression, m.Dynamic, m.ImportNames = "", nil, nil
			m.License, m.LicenseFiles = "MIT", []string{"LICENSE"}
		}, ValidateOptions{}, "license-file: license-file introduced in metadata version 2.4, not 2.1"},
		{"setuptools 66: License-File in 2.1, not sent", func(m *Metadata) {
			m.MetadataVersion = "2.1"
			m.LicenseExpression, m.Dynamic, m.ImportNames = "", nil, nil
			m.License, m.LicenseFiles = "MIT", []string{"LICENSE", "../weird/*"}
		}, ValidateOptions{Sent: sentOnly()}, ""},
		{"hatchling 1.12: License-Expression in 2.1, not sent", func(m *Metadata) {
			m.MetadataVersion = "2.1"
			m.Dynamic, m.ImportNames, m.LicenseExpression = nil, nil, "not valid at all"
			m.License = "MIT"
		}, ValidateOptions{Sent: sentOnly()}, ""},
		{"License-Expression in 2.1, sent", func(m *Metadata) {
			m.MetadataVersion = "2.1"
			m.Dynamic, m.ImportNames = nil, nil
		}, ValidateOptions{Sent: sentOnly("license-expression")}, "license-expression: license-expression introduced in metadata version 2.4, not 2.1"},
		{"unknown license", func(m *Metadata) { m.LicenseExpression = "MIT-ish" }, ValidateOptions{},
			"license-expression: 'MIT-ish' is invalid for license-expression"},
		{"bad license syntax", func(m *Metadata) { m.LicenseExpression = "MIT OR" }, ValidateOptions{},
			"license-expression: 'MIT OR' is invalid for license-expression"},
		{"license file parent", func(m *Metadata) { m.LicenseFiles = []string{"../LICENSE"} }, ValidateOptions{},
			"license-file: '../LICENSE' is invalid for license-file, parent directory indicators are not allowed"},
		{"license file glob", func(m *Metadata) { m.LicenseFiles = []string{"LICEN*"} }, ValidateOptions{},
			"license-file: 'LICEN*' is invalid for license-file, paths must be resolved"},
		{"license file absolute", func(m *Metadata) { m.LicenseFiles = []string{"/LICENSE"} }, ValidateOptions{},
			"license-file: '/LICENSE' is invalid for license-file, paths must be relative"},
		{"license file drive", func(m *Metadata) { m.LicenseFiles = []string{"C:/LICENSE"} }, ValidateOptions{},
			"license-file: 'C:/LICENSE' is invalid for license-file, paths must be relative"},
		{"license file backslash", func(m *Metadata) { m.LicenseFiles = []string{`licenses\LICENSE`} }, ValidateOptions{},
			`license-file: 'licenses\\LICENSE' is invalid for license-file, paths must use '/' delimiter`},
		{"dynamic name", func(m *Metadata) { m.Dynamic = []string{"Name"} }, ValidateOptions{},
			"dynamic: 'name' is not allowed as a dynamic field"},
		{"dynamic unknown", func(m *Metadata) { m.Dynamic = []string{"Colour"} }, ValidateOptions{},
			"dynamic: 'colour' is not a valid dynamic field"},
		{"dynamic not allowed by PyPI", func(m *Metadata) { m.Dynamic = []string{"Dynamic"} }, ValidateOptions{},
			"dynamic: Dynamic field 'dynamic' is not a valid dynamic field."},
		{"import name not identifier", func(m *Metadata) { m.ImportNames = []string{"foo.1bar"} }, ValidateOptions{},
			"import-name: 'foo.1bar' is invalid for import-name; '1bar' is not a valid identifier"},
		{"import name keyword", func(m *Metadata) { m.ImportNamespaces = []string{"foo.class"} }, ValidateOptions{},
			"import-namespace: 'foo.class' is invalid for import-namespace; 'class' is a keyword"},
		{"import name option", func(m *Metadata) { m.ImportNames = []string{"foo; public"} }, ValidateOptions{},
			"import-name: 'foo; public' is invalid for import-name; the only valid option is 'private'"},
		{"duplicate project-url label", func(m *Metadata) { m.ProjectURLs = append(m.ProjectURLs, "Source, https://x.org") },
			ValidateOptions{}, "project-url: 'project-url' has invalid data"},
		{"summary too long", func(m *Metadata) { m.Summary = strings.Repeat("é", 513) }, ValidateOptions{},
			"summary: 'summary' field must be 512 characters or less."},
		{"email without at", func(m *Metadata) { m.AuthorEmail = "Ann Smith" }, ValidateOptions{},
			"author-email: 'Ann Smith' is not a valid email address: The email address is not valid. It must have exactly one @-sign."},
		{"email without dot", func(m *Metadata) { m.MaintainerEmail = "Bob <bob@localhost>" }, ValidateOptions{},
			"maintainer-email: 'bob@localhost' is not a valid email address: The part after the @-sign is not valid. It should have a period."},
		{"email with space", func(m *Metadata) { m.AuthorEmail = "ann smith@example.org" }, ValidateOptions{},
			"author-email: 'ann smith@example.org' is not a valid email address: The email address contains invalid characters before the @-sign: SPACE."},
		{"email two periods", func(m *Metadata) { m.AuthorEmail = "ann..smith@example.org" }, ValidateOptions{},
			"author-email: 'ann..smith@example.org' is not a valid email address: An email address cannot have two periods in a row."},
		{"several emails unchecked", func(m *Metadata) { m.AuthorEmail = `"Ann, A." <ann@x.org>, bob@localhost` }, ValidateOptions{}, ""},
		{"unknown classifier", func(m *Metadata) { m.Classifiers = append(m.Classifiers, "Foo :: Bar", "Alpha :: Beta") },
			ValidateOptions{}, "classifier: 'Alpha :: Beta' is not a valid classifier."},
		{"deprecated classifier", func(m *Metadata) { m.Classifiers = []string{"Natural Language :: Ukranian"} }, ValidateOptions{},
			"classifier: The classifier 'Natural Language :: Ukranian' has been deprecated, use one of ['Natural Language :: Ukrainian'] instead."},
		{"deprecated classifier without replacement", func(m *Metadata) {
			m.Classifiers = []string{"Topic :: Communications :: Chat :: AOL Instant Messenger"}
		}, ValidateOptions{}, "classifier: The classifier 'Topic :: Communications :: Chat :: AOL Instant Messenger' has been deprecated."},
		{"unknown before deprecated", func(m *Metadata) { m.Classifiers = []string{"Natural Language :: Ukranian", "Zzz :: Unknown"} },
			ValidateOptions{}, "classifier: 'Zzz :: Unknown' is not a valid classifier."},
		{"private classifier", func(m *Metadata) { m.Classifiers = []string{"Private :: Do Not Upload"} }, ValidateOptions{},
			"classifier: 'Private :: Do Not Upload' is not a valid classifier. Classifiers starting with 'Private ::' mark a project " +
				"that is never meant for a public index: this index refuses them unless its operator allows them."},
		{"private classifier allowed", func(m *Metadata) { m.Classifiers = []string{"Private :: Do Not Upload"} },
			ValidateOptions{AllowPrivateClassifiers: true}, ""},
		{"home page not http", func(m *Metadata) { m.HomePage = "ftp://example.org" }, ValidateOptions{},
			"home-page: 'ftp://example.org' is not a valid url."},
		{"download url with space", func(m *Metadata) { m.DownloadURL = "https://example.org/a b" }, ValidateOptions{},
			"download-url: 'https://example.org/a b' is not a valid url."},
		{"project url without label", func(m *Metadata) { m.ProjectURLs = []string{", https://example.org"} }, ValidateOptions{},
			"project-url: Must have a label"},
		{"project url long label", func(m *Metadata) { m.ProjectURLs = []string{strings.Repeat("L", 33) + ", https://example.org"} },
			ValidateOptions{}, "project-url: '" + strings.Repeat("L", 33) + "' must be 32 characters or less."},
		{"project url without url", func(m *Metadata) { m.ProjectURLs = []string{"Docs"} }, ValidateOptions{},
			"project-url: Must have a URL"},
		{"project url invalid", func(m *Metadata) { m.ProjectURLs = []string{"Docs, docs.example.org"} }, ValidateOptions{},
			"project-url: 'docs.example.org' is not a valid url"},
		{"requires-dist direct", func(m *Metadata) {
			m.RequiresDist = append(m.RequiresDist, `foo [b,a] @ https://example.org/foo.whl ; python_version >= "3.8"`)
		}, ValidateOptions{}, `requires-dist: Can't have direct dependency: foo[a,b]@ https://example.org/foo.whl ; python_version >= "3.8"`},
		{"provides-dist direct", func(m *Metadata) { m.ProvidesDist = []string{"foo @ file:///tmp/foo"} }, ValidateOptions{},
			"provides-dist: Can't have direct dependency: 'foo @ file:///tmp/foo'"},
		{"obsoletes-dist direct", func(m *Metadata) { m.ObsoletesDist = []string{"bar@https://x.org/bar.tgz"} }, ValidateOptions{},
			"obsoletes-dist: Can't have direct dependency: 'bar@https://x.org/bar.tgz'"},
		{"license and expression", func(m *Metadata) { m.License = "MIT" }, ValidateOptions{},
			"license: License is deprecated when License-Expression is present. Only License-Expression should be present."},
		{"field order: classifier before home-page", func(m *Metadata) {
			m.HomePage = "nope"
			m.Classifiers = []string{"Nope :: Nope"}
		}, ValidateOptions{}, "classifier: 'Nope :: Nope' is not a valid classifier."},
		{"packaging round first", func(m *Metadata) {
			m.Classifiers = []string{"Nope :: Nope"}
			m.LicenseExpression = "Nope"
		}, ValidateOptions{}, "license-expression: 'Nope' is invalid for license-expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validBase()
			tt.change(m)
			errs := ValidateMetadata(m, tt.opt)
			got := ""
			if len(errs) > 0 {
				got = errs[0].Field + ": " + errs[0].Msg
			}
			if got != tt.want {
				t.Errorf("first refusal:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestValidateMetadataFixtures checks the metadata fixtures: those real
// tools wrote pass; the hand-written 2.4 one declares its version dynamic,
// which the specification forbids.
func TestValidateMetadataFixtures(t *testing.T) {
	for name, want := range map[string]string{
		"distutils-1.0.PKG-INFO":  "",
		"setuptools-1.1.PKG-INFO": "",
		"wheel-2.1.METADATA":      "",
		"core-2.4.METADATA":       "'version' is not allowed as a dynamic field",
	} {
		m, err := ParseMetadata(readFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if errs := ValidateMetadata(m, ValidateOptions{}); len(errs) > 0 {
			got = errs[0].Msg
		}
		if got != want {
			t.Errorf("%s: first refusal %q, want %q", name, got, want)
		}
	}
}
