package pep

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldError is the refusal of one core metadata field, worded as PyPI
// (Warehouse, and the packaging library it validates with) words it.
type FieldError struct {
	// Field is the lower-cased header name: "classifier",
	// "license-expression".
	Field string
	// Msg is PyPI's message. PyPI shows it followed by "." (unless it
	// ends with one) and " See https://packaging.python.org/specifications/core-metadata
	// for more information."
	Msg string
}

// Error returns the message.
func (e *FieldError) Error() string { return e.Msg }

// ValidateOptions are the operator's choices in ValidateMetadata.
type ValidateOptions struct {
	// AllowPrivateClassifiers accepts the "Private :: …" classifiers a
	// public index refuses, for a private index.
	AllowPrivateClassifiers bool
	// Sent, when set, reports whether the upload form carried a field
	// (by its lower-cased header name). A field newer than the
	// Metadata-Version that the client did not send is left out of every
	// check, as PyPI, which validates the form, never sees it: build
	// backends wrote License-Expression and License-File under
	// Metadata-Version 2.1 before PEP 639 was final (hatchling < 1.27,
	// setuptools < 77), and the clients of their time do not send them.
	// When nil, every field counts as sent.
	Sent func(field string) bool
}

// ValidateMetadata checks the values of core metadata as PyPI does on
// upload, and returns the refusals in the order PyPI reports them: PyPI
// reports only the first, the first refusal of the most important field
// (Metadata-Version, Name, Version, then the others by name).
//
// As on PyPI, the checks come in two rounds, and the second runs only
// when the first found nothing. First packaging's: a known
// Metadata-Version, no field newer than it ("license-expression
// introduced in metadata version 2.4, not 2.1"), a valid SPDX
// License-Expression, relative resolved License-File paths, Dynamic,
// Import-Name and Import-Namespace, no Project-URL label twice. Then
// Warehouse's: the summary's length, e-mail addresses, classifiers
// (unknown, deprecated, private), URLs, Project-URL labels and URLs, no
// direct-URL requirements, Dynamic against the fields that may be
// dynamic, and not both License and License-Expression.
//
// Values of "UNKNOWN", which PyPI drops, count as absent, and so do the
// too-new fields the client did not send (ValidateOptions.Sent). Names
// and versions are not checked here: callers check them first, with
// their own messages.
func ValidateMetadata(m *Metadata, opt ValidateOptions) []*FieldError {
	m = asPyPISeesIt(m, opt.Sent)
	errs := packagingChecks(m)
	if len(errs) == 0 {
		errs = warehouseChecks(m, opt)
	}
	slices.SortStableFunc(errs, func(a, b *FieldError) int {
		ra, rb := fieldRank(a.Field), fieldRank(b.Field)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		return strings.Compare(a.Field, b.Field)
	})
	return errs
}

// asPyPISeesIt returns a copy of m as PyPI's checks see the upload: the
// values "UNKNOWN" left out (distutils and old setuptools wrote them for
// missing fields, and PyPI drops them), and so are the fields newer than
// the Metadata-Version that sent says the client did not send.
func asPyPISeesIt(m *Metadata, sent func(string) bool) *Metadata {
	c := *m
	known := func(v string) bool { return strings.TrimSpace(v) != "UNKNOWN" }
	age := metadataAge(m.MetadataVersion)
	for _, field := range emailFields {
		unsent := sent != nil && age >= 0 && fieldAdded[field] != "" && metadataAge(fieldAdded[field]) > age && !sent(field)
		if p := c.stringField(field); p != nil && (unsent || !known(*p)) {
			*p = ""
		} else if p := c.listField(field); p != nil && len(*p) > 0 {
			kept := slices.DeleteFunc(slices.Clone(*p), func(v string) bool { return unsent || !known(v) })
			if len(kept) == 0 {
				kept = nil
			}
			*p = kept
		}
	}
	return &c
}

// fieldRank orders the fields of refusals: PyPI reports Metadata-Version,
// Name and Version first, then the others by name.
func fieldRank(field string) int {
	switch field {
	case "metadata-version":
		return 0
	case "name":
		return 1
	case "version":
		return 2
	}
	return 3
}

// fieldAdded is the Metadata-Version that introduced each field
// (packaging's _Validator(added=…)), for the fields whose introduction
// came after 1.0.
var fieldAdded = map[string]string{
	"supported-platform":       "1.1",
	"download-url":             "1.1",
	"classifier":               "1.1",
	"maintainer":               "1.2",
	"maintainer-email":         "1.2",
	"requires-dist":            "1.2",
	"requires-python":          "1.2",
	"requires-external":        "1.2",
	"project-url":              "1.2",
	"provides-dist":            "1.2",
	"obsoletes-dist":           "1.2",
	"description-content-type": "2.1",
	"provides-extra":           "2.1",
	"dynamic":                  "2.2",
	"license-expression":       "2.4",
	"license-file":             "2.4",
	"import-name":              "2.5",
	"import-namespace":         "2.5",
}

// metadataAge is the position of a Metadata-Version in
// SupportedMetadataVersions, or -1.
func metadataAge(v string) int {
	return slices.Index(SupportedMetadataVersions, v)
}

// present reports whether m has a value for the lower-cased header key.
func (m *Metadata) present(key string) bool {
	if p := m.stringField(key); p != nil {
		return *p != ""
	}
	if p := m.listField(key); p != nil {
		return len(*p) > 0
	}
	return false
}

// emailFields are the header names packaging knows: a Dynamic value must
// be one of them.
var emailFields = []string{
	"author", "author-email", "classifier", "description", "description-content-type", "download-url",
	"dynamic", "home-page", "import-name", "import-namespace", "keywords", "license", "license-expression",
	"license-file", "maintainer", "maintainer-email", "metadata-version", "name", "obsoletes", "obsoletes-dist",
	"platform", "project-url", "provides", "provides-dist", "provides-extra", "requires", "requires-dist",
	"requires-external", "requires-python", "summary", "supported-platform", "version",
}

// dynamicFields are the fields PyPI lets a sdist declare Dynamic
// (Warehouse's DYNAMIC_FIELDS, lower-cased).
var dynamicFields = []string{
	"platform", "supported-platform", "summary", "description", "description-content-type", "keywords",
	"home-page", "download-url", "author", "author-email", "maintainer", "maintainer-email", "license",
	"license-expression", "license-file", "classifier", "requires-dist", "requires-python", "requires-external",
	"project-url", "provides-extra", "provides-dist", "obsoletes-dist", "requires", "provides", "obsoletes",
	"import-name", "import-namespace",
}

// packagingChecks are the checks of packaging.metadata.Metadata.
func packagingChecks(m *Metadata) []*FieldError {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	age := metadataAge(m.MetadataVersion)
	if age < 0 {
		add("metadata-version", "%s is not a valid metadata version", PyRepr(m.MetadataVersion))
	}
	tooNew := make(map[string]bool)
	for _, field := range slices.Sorted(maps.Keys(fieldAdded)) {
		added := fieldAdded[field]
		if age < 0 || !m.present(field) || metadataAge(added) <= age {
			continue
		}
		tooNew[field] = true
		add(field, "%s introduced in metadata version %s, not %s", field, added, m.MetadataVersion)
	}

	if v := m.LicenseExpression; v != "" && !tooNew["license-expression"] {
		if _, err := CanonicalLicenseExpression(v); err != nil {
			add("license-expression", "%s is invalid for license-expression", PyRepr(v))
		}
	}
	if !tooNew["license-file"] {
		for _, p := range m.LicenseFiles {
			if why := licenseFileProblem(p); why != "" {
				add("license-file", "%s is invalid for license-file, %s", PyRepr(p), why)
				break
			}
		}
	}
	if !tooNew["dynamic"] {
		for _, d := range m.Dynamic {
			d = strings.ToLower(d)
			switch {
			case d == "name" || d == "version" || d == "metadata-version":
				add("dynamic", "%s is not allowed as a dynamic field", PyRepr(d))
			case !slices.Contains(emailFields, d):
				add("dynamic", "%s is not a valid dynamic field", PyRepr(d))
			default:
				continue
			}
			break
		}
	}
	for _, f := range []struct {
		field  string
		values []string
	}{{"import-name", m.ImportNames}, {"import-namespace", m.ImportNamespaces}} {
		if tooNew[f.field] {
			continue
		}
		for _, v := range f.values {
			if msg := importNameProblem(v, f.field); msg != "" {
				add(f.field, "%s", msg)
				break
			}
		}
	}
	labels := make(map[string]bool, len(m.ProjectURLs))
	for _, pu := range m.ProjectURLs {
		label, _ := splitProjectURL(pu)
		if labels[label] {
			add("project-url", "%s has invalid data", PyRepr("project-url"))
			break
		}
		labels[label] = true
	}
	return errs
}

// warehouseChecks are the checks Warehouse adds to packaging's.
func warehouseChecks(m *Metadata, opt ValidateOptions) []*FieldError {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if utf8.RuneCountInString(m.Summary) > 512 {
		add("summary", "'summary' field must be 512 characters or less.")
	}
	for _, f := range []struct{ field, value string }{{"author-email", m.AuthorEmail}, {"maintainer-email", m.MaintainerEmail}} {
		if f.value == "" {
			continue
		}
		if addr, ok := singleAddress(f.value); ok {
			if why := emailProblem(addr); why != "" {
				add(f.field, "%s is not a valid email address: %s", PyRepr(addr), why)
			}
		}
	}

	used := slices.Compact(slices.Sorted(slices.Values(m.Classifiers)))
	for _, c := range used {
		_, deprecated := DeprecatedClassifier(c)
		switch {
		case ValidClassifier(c) || deprecated:
		case PrivateClassifier(c) && opt.AllowPrivateClassifiers:
		case PrivateClassifier(c):
			add("classifier", "%s is not a valid classifier. Classifiers starting with 'Private ::' mark a project "+
				"that is never meant for a public index: this index refuses them unless its operator allows them.", PyRepr(c))
		default:
			add("classifier", "%s is not a valid classifier.", PyRepr(c))
		}
	}
	for _, c := range used {
		if by, ok := DeprecatedClassifier(c); ok && len(by) > 0 {
			add("classifier", "The classifier %s has been deprecated, use one of %s instead.", PyRepr(c), PyList(by))
		} else if ok {
			add("classifier", "The classifier %s has been deprecated.", PyRepr(c))
		}
	}

	for _, f := range []struct{ field, value string }{{"home-page", m.HomePage}, {"download-url", m.DownloadURL}} {
		if f.value != "" && !ValidURL(f.value) {
			add(f.field, "%s is not a valid url.", PyRepr(f.value))
		}
	}
	for _, pu := range m.ProjectURLs {
		label, u := splitProjectURL(pu)
		switch {
		case label == "":
			add("project-url", "Must have a label")
		case utf8.RuneCountInString(label) > 32:
			add("project-url", "%s must be 32 characters or less.", PyRepr(label))
		case u == "":
			add("project-url", "Must have a URL")
		case !ValidURL(u):
			add("project-url", "%s is not a valid url", PyRepr(u))
		}
	}

	for _, f := range []struct {
		field  string
		values []string
	}{{"provides-dist", m.ProvidesDist}, {"obsoletes-dist", m.ObsoletesDist}} {
		for _, v := range f.values {
			if _, ok := directReference(v); ok {
				add(f.field, "Can't have direct dependency: %s", PyRepr(v))
			}
		}
	}
	for _, v := range m.RequiresDist {
		if s, ok := directReference(v); ok {
			add("requires-dist", "Can't have direct dependency: %s", s)
		}
	}
	for _, d := range m.Dynamic {
		if d = strings.ToLower(d); !slices.Contains(dynamicFields, d) {
			add("dynamic", "Dynamic field %s is not a valid dynamic field.", PyRepr(d))
		}
	}
	if m.License != "" && m.LicenseExpression != "" {
		add("license", "License is deprecated when License-Expression is present. Only License-Expression should be present.")
	}
	return errs
}

// splitProjectURL splits a Project-URL value, "label, url", at its first
// comma, as packaging does; both parts are trimmed.
func splitProjectURL(v string) (label, u string) {
	label, u, _ = strings.Cut(v, ",")
	return strings.TrimSpace(label), strings.TrimSpace(u)
}

// licenseFileProblem says why a License-File path is not one PEP 639
// allows, in packaging's words, or "".
func licenseFileProblem(p string) string {
	switch {
	case strings.Contains(p, ".."):
		return "parent directory indicators are not allowed"
	case strings.Contains(p, "*"):
		return "paths must be resolved"
	case strings.HasPrefix(p, "/"), strings.HasPrefix(p, `\\`), windowsAbsolute(p):
		return "paths must be relative"
	case strings.Contains(p, `\`), strings.Contains(p, "//"), strings.HasPrefix(p, "./"),
		strings.Contains(p, "/./"), strings.HasSuffix(p, "/"), strings.HasSuffix(p, "/."), p == ".":
		// Windows path normalization would change it.
		return "paths must use '/' delimiter"
	}
	return ""
}

// windowsAbsolute reports whether p starts with a drive and a root
// ("C:/", "C:\").
func windowsAbsolute(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// pythonKeywords are Python's reserved words (keyword.kwlist).
var pythonKeywords = []string{
	"False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def",
	"del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
	"nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
}

// importNameProblem checks an Import-Name or Import-Namespace value
// (PEP 794): dotted Python identifiers, none a keyword, optionally
// followed by "; private". It returns packaging's message, or "".
func importNameProblem(v, field string) string {
	name, option, semicolon := strings.Cut(v, ";")
	name = strings.TrimRightFunc(name, unicode.IsSpace)
	for _, ident := range strings.Split(name, ".") {
		if !pythonIdentifier(ident) {
			return fmt.Sprintf("%s is invalid for %s; %s is not a valid identifier", PyRepr(name), field, PyRepr(ident))
		}
		if slices.Contains(pythonKeywords, ident) {
			return fmt.Sprintf("%s is invalid for %s; %s is a keyword", PyRepr(name), field, PyRepr(ident))
		}
	}
	if semicolon && strings.TrimLeftFunc(option, unicode.IsSpace) != "private" {
		return fmt.Sprintf("%s is invalid for %s; the only valid option is 'private'", PyRepr(v), field)
	}
	return ""
}

// pythonIdentifier reports whether s is a Python identifier
// (str.isidentifier): a letter or '_', then letters, digits, marks and
// connector punctuation.
func pythonIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		start := r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
		if i == 0 && !start {
			return false
		}
		if !start && !unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc) {
			return false
		}
	}
	return true
}

// ValidURL reports whether s is a URL PyPI accepts in Home-page,
// Download-URL and Project-URL: an absolute http or https URL, without
// spaces or control characters (Warehouse's is_valid_uri, which does not
// require a host).
func ValidURL(s string) bool {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

// directReference reports whether a PEP 508 requirement names a direct
// reference ("name [extras] @ url ..."), and returns it written the way
// packaging writes a Requirement ("name[extras]@ url ; marker").
func directReference(req string) (string, bool) {
	s := strings.TrimSpace(req)
	i := 0
	for i < len(s) && (isASCIIAlnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return "", false
	}
	name, rest := s[:i], strings.TrimLeft(s[i:], " \t")
	var extras []string
	if strings.HasPrefix(rest, "[") {
		inner, after, ok := strings.Cut(rest[1:], "]")
		if !ok {
			return "", false
		}
		for e := range strings.SplitSeq(inner, ",") {
			if e = strings.TrimSpace(e); e != "" {
				extras = append(extras, e)
			}
		}
		rest = strings.TrimLeft(after, " \t")
	}
	after, ok := strings.CutPrefix(rest, "@")
	if !ok {
		return "", false
	}
	u, marker, _ := strings.Cut(strings.TrimSpace(after), " ;")
	u = strings.TrimSpace(u)
	var b strings.Builder
	b.WriteString(name)
	if len(extras) > 0 {
		slices.Sort(extras)
		b.WriteString("[" + strings.Join(slices.Compact(extras), ",") + "]")
	}
	b.WriteString("@ " + u)
	if marker = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(marker), ";")); marker != "" {
		b.WriteString(" ; " + marker)
	}
	return b.String(), true
}
