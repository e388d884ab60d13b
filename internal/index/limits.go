package index

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
)

// Bounds of what an upload may carry. Every byte of metadata a release
// stores is read again by its pages and APIs, so it is bounded whatever its
// source: the form fields (bounded while they are read, before anything
// parses them: FormFieldLimit) and the core metadata inside the archive
// (checkMetadata, after PyPI's rules where PyPI has one: a summary of at
// most 512 characters on one line, project URL labels of at most 32
// characters). The values themselves are checked by checkMetadataValues.
const (
	// MaxFormFields is the most parts an upload's multipart body may
	// have. twine sends about 30, plus one per classifier or requirement.
	MaxFormFields = 2000
	// MaxFormBytes bounds all the non-file parts of an upload together,
	// their headers included.
	MaxFormBytes = 4 << 20
	// MaxFieldNameBytes bounds the name of a form field.
	MaxFieldNameBytes = 128
	// DefaultFieldBytes bounds a form field that has no bound of its own.
	DefaultFieldBytes = 64 << 10

	// MaxNameLength is the longest project name, in characters (the
	// longest on PyPI has 188).
	MaxNameLength = 200
	// MaxVersionLength is the longest version, in characters, as sent
	// (the longest on PyPI has 40).
	MaxVersionLength = 128
	// MaxSummaryLength is PyPI's limit of a summary, in characters.
	MaxSummaryLength = 512
	// MaxDescriptionBytes is the largest description (the README), in
	// bytes of UTF-8; the largest READMEs on PyPI have a few hundred KiB.
	MaxDescriptionBytes = 1 << 20
	// MaxMetadataBytes is the largest core metadata file (METADATA,
	// PKG-INFO) an archive may carry: the description and every other
	// field at once.
	MaxMetadataBytes = 2 << 20
	// MaxProjectURLLabel is PyPI's limit of a Project-URL label.
	MaxProjectURLLabel = 32
	// MaxFilenameBytes is the longest distribution filename: the longest
	// file name most file systems (and so installers' caches) take.
	MaxFilenameBytes = 255
)

// metadataLimit bounds one core metadata field: the length of a value
// (in bytes of UTF-8, or characters when chars is set) and, for
// multiple-use fields, the number of values.
type metadataLimit struct {
	header   string // as the core metadata specification spells it
	form     string // the upload form's field
	length   int
	chars    bool
	count    int // 0: single-use
	oneLine  bool
	labelMax int // Project-URL: the longest label
}

// metadataLimits are the bounds of the core metadata fields a release
// stores, keyed by the lower-cased header name.
var metadataLimits = map[string]metadataLimit{
	"metadata-version":         {header: "Metadata-Version", form: "metadata_version", length: 16},
	"name":                     {header: "Name", form: "name", length: MaxNameLength},
	"version":                  {header: "Version", form: "version", length: MaxVersionLength},
	"summary":                  {header: "Summary", form: "summary", length: MaxSummaryLength, chars: true, oneLine: true},
	"description":              {header: "Description", form: "description", length: MaxDescriptionBytes},
	"description-content-type": {header: "Description-Content-Type", form: "description_content_type", length: 256},
	"keywords":                 {header: "Keywords", form: "keywords", length: 4096},
	"home-page":                {header: "Home-page", form: "home_page", length: 4096},
	"download-url":             {header: "Download-URL", form: "download_url", length: 4096},
	"author":                   {header: "Author", form: "author", length: 4096},
	"author-email":             {header: "Author-email", form: "author_email", length: 4096},
	"maintainer":               {header: "Maintainer", form: "maintainer", length: 4096},
	"maintainer-email":         {header: "Maintainer-email", form: "maintainer_email", length: 4096},
	"license":                  {header: "License", form: "license", length: 128 << 10},
	"license-expression":       {header: "License-Expression", form: "license_expression", length: 1024},
	"requires-python":          {header: "Requires-Python", form: "requires_python", length: 1024},
	"classifier":               {header: "Classifier", form: "classifiers", length: 256, count: 512},
	"requires-dist":            {header: "Requires-Dist", form: "requires_dist", length: 4096, count: 2048},
	"provides-extra":           {header: "Provides-Extra", form: "provides_extra", length: 256, count: 1024},
	"project-url":              {header: "Project-URL", form: "project_urls", length: 4096, count: 100, labelMax: MaxProjectURLLabel},
	"platform":                 {header: "Platform", form: "platform", length: 1024, count: 256},
	"supported-platform":       {header: "Supported-Platform", form: "supported_platform", length: 1024, count: 256},
	"requires-external":        {header: "Requires-External", form: "requires_external", length: 1024, count: 1024},
	"provides-dist":            {header: "Provides-Dist", form: "provides_dist", length: 1024, count: 1024},
	"obsoletes-dist":           {header: "Obsoletes-Dist", form: "obsoletes_dist", length: 1024, count: 1024},
	"dynamic":                  {header: "Dynamic", form: "dynamic", length: 64, count: 128},
	"license-file":             {header: "License-File", form: "license_file", length: 1024, count: 1024},
	"import-name":              {header: "Import-Name", form: "import_name", length: 1024, count: 1024},
	"import-namespace":         {header: "Import-Namespace", form: "import_namespace", length: 1024, count: 1024},
}

// formFieldBytes bounds the form fields that are not core metadata.
var formFieldBytes = map[string]int64{
	":action": 64, "protocol_version": 64, "filetype": 64, "pyversion": 256, "comment": 4096,
	"md5_digest": 256, "sha256_digest": 256, "blake2_256_digest": 256,
	"gpg_signature": 8 << 10, // PyPI's MAX_SIGSIZE
	"attestations":  256 << 10,
}

// formLimits maps form field names to the metadata bounds.
var formLimits = func() map[string]metadataLimit {
	m := make(map[string]metadataLimit, len(metadataLimits))
	for _, l := range metadataLimits {
		m[l.form] = l
	}
	return m
}()

// FormFieldLimit returns the most bytes one value of the upload form field
// may have. The HTTP layer reads no more than that (plus one byte, to
// tell) before it refuses the upload with FieldTooLarge, so that no parser
// ever sees a larger value.
func FormFieldLimit(field string) int64 {
	if l, ok := formLimits[field]; ok {
		if l.chars {
			return int64(l.length) * utf8.UTFMax
		}
		return int64(l.length)
	}
	if n, ok := formFieldBytes[field]; ok {
		return n
	}
	return DefaultFieldBytes
}

// FieldTooLarge is the refusal of a form field longer than FormFieldLimit.
func FieldTooLarge(field string) error {
	limit := byteCount(FormFieldLimit(field))
	if l, ok := formLimits[field]; ok && l.chars {
		limit = fmt.Sprintf("%d characters", l.length)
	}
	return problem.Errorf(problem.Invalid, "The '%s' field is too large: it may have at most %s. %s", truncate(field, MaxFieldNameBytes), limit, metadataHelp)
}

// byteCount writes n bytes for a message: "128 bytes", "64 KiB", "1 MiB".
func byteCount(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// formMetadata gathers the core metadata fields of an upload form.
func formMetadata(form Form) map[string][]string {
	out := make(map[string][]string)
	for key, l := range metadataLimits {
		if vs := form[l.form]; len(vs) > 0 {
			out[key] = vs
		}
	}
	return out
}

// archiveMetadata gathers the core metadata fields a release stores from
// a parsed METADATA or PKG-INFO: its typed fields (the description from
// the header or the body; the other headers are not kept).
func archiveMetadata(m *pep.Metadata) map[string][]string {
	out := make(map[string][]string, len(metadataLimits))
	add := func(key string, vs ...string) {
		if len(vs) > 0 && (len(vs) > 1 || vs[0] != "") {
			out[key] = vs
		}
	}
	add("metadata-version", m.MetadataVersion)
	add("name", m.Name)
	add("version", m.Version)
	add("summary", m.Summary)
	add("description", m.Description)
	add("description-content-type", m.DescriptionContentType)
	add("keywords", m.Keywords)
	add("home-page", m.HomePage)
	add("download-url", m.DownloadURL)
	add("author", m.Author)
	add("author-email", m.AuthorEmail)
	add("maintainer", m.Maintainer)
	add("maintainer-email", m.MaintainerEmail)
	add("license", m.License)
	add("license-expression", m.LicenseExpression)
	add("requires-python", m.RequiresPython)
	add("classifier", m.Classifiers...)
	add("requires-dist", m.RequiresDist...)
	add("provides-extra", m.ProvidesExtra...)
	add("project-url", m.ProjectURLs...)
	add("platform", m.Platforms...)
	add("supported-platform", m.SupportedPlatforms...)
	add("requires-external", m.RequiresExternal...)
	add("provides-dist", m.ProvidesDist...)
	add("obsoletes-dist", m.ObsoletesDist...)
	add("dynamic", m.Dynamic...)
	add("license-file", m.LicenseFiles...)
	add("import-name", m.ImportNames...)
	add("import-namespace", m.ImportNamespaces...)
	return out
}

// checkMetadata applies the bounds of metadataLimits to fields (keyed by
// lower-cased header name). source says where the metadata comes from in
// the refusal: "" for the upload form, or the archive's file.
func checkMetadata(fields map[string][]string, source string) error {
	for key, vs := range fields {
		l := metadataLimits[key]
		if l.header == "" {
			continue
		}
		if l.count > 0 && len(vs) > l.count {
			return metadataError(source, l.header, fmt.Sprintf("must have %d values or fewer (it has %d)", l.count, len(vs)))
		}
		for _, v := range vs {
			if l.chars {
				if n := utf8.RuneCountInString(v); n > l.length {
					return metadataError(source, l.header, fmt.Sprintf("must be %d characters or less (it has %d)", l.length, n))
				}
			} else if len(v) > l.length {
				return metadataError(source, l.header, fmt.Sprintf("must be %s or less (it has %d bytes)", byteCount(int64(l.length)), len(v)))
			}
			if l.oneLine && strings.ContainsAny(v, "\r\n") {
				return metadataError(source, l.header, "must be a single line")
			}
			if l.labelMax > 0 {
				label, _, _ := strings.Cut(v, ",")
				if label = strings.TrimSpace(label); utf8.RuneCountInString(label) > l.labelMax {
					// PyPI's message (pep.ValidateMetadata has it too).
					return problem.Errorf(problem.Invalid, "%s must be %d characters or less. %s", pep.PyRepr(label), l.labelMax, metadataHelp)
				}
			}
		}
	}
	return nil
}

// metadataError is a refusal of a metadata field, worded as PyPI words
// them: "'summary' field must be 512 characters or less."
func metadataError(source, header, what string) error {
	field := strings.ToLower(header)
	if source == "" {
		return problem.Errorf(problem.Invalid, "'%s' field %s. %s", field, what, metadataHelp)
	}
	return problem.Errorf(problem.Invalid, "Invalid distribution file. The '%s' field of its %s %s. %s", field, source, what, metadataHelp)
}
