package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// APIVersion is the simple repository API version served (PEP 629; 1.1
// adds PEP 700's versions, size and upload-time; 1.4 PEP 792's project
// status; the optional keys of 1.2 and 1.3, PEP 708's tracks and
// alternate locations and PEP 740's provenance, are not served).
const APIVersion = "1.4"

// Page is a rendered response body with its entity tag.
type Page struct {
	Body []byte
	// Parts, when not nil, is the body instead of Body: pieces written
	// one after the other (the project list, whose pieces are rendered
	// apart so that a change renders one of them again).
	Parts [][]byte
	// ETag is a strong validator of the body: a quoted digest, equal for
	// equal bodies on every replica. That of a body in Parts digests the
	// parts' digests: it also names where the parts are cut (which the
	// compressed codings' bytes depend on).
	ETag string
}

// Prepared reports whether the page has a body (an Encoded's codings
// have none when not prepared).
func (p *Page) Prepared() bool { return p.Body != nil || p.Parts != nil }

// Len returns the length of the body.
func (p *Page) Len() int {
	if p.Parts == nil {
		return len(p.Body)
	}
	n := 0
	for _, b := range p.Parts {
		n += len(b)
	}
	return n
}

// Bytes returns the body whole: Body, or Parts joined.
func (p *Page) Bytes() []byte {
	if p.Parts == nil {
		return p.Body
	}
	return bytes.Join(p.Parts, nil)
}

// NewPage returns body as a Page, with its entity tag.
func NewPage(body []byte) Page {
	sum := sha256.Sum256(body)
	return Page{Body: body, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// newPage is NewPage, for the callers in this package.
func newPage(b []byte) Page { return NewPage(b) }

// SimpleProject is what a project's simple pages say, whether the project
// is local or proxied from an upstream: the one input of RenderSimpleHTML
// and RenderSimpleJSON.
type SimpleProject struct {
	// Name is the normalized name the pages show.
	Name string
	// Status and StatusReason are the PEP 792 status ("" is active).
	Status, StatusReason string
	// Serial is the journal serial of the last change; 0 leaves it out.
	Serial int64
	// Versions are the versions the JSON lists, in order.
	Versions []string
	Files    []SimpleFile
}

// SimpleFile is a file of a simple page.
type SimpleFile struct {
	Filename, URL, SHA256 string
	// Version is the release the file belongs to (for the JSON API; the
	// simple pages do not show it).
	Version        string
	RequiresPython string
	MetadataSHA256 string // "": no core metadata (PEP 658)
	Yanked         bool
	YankedReason   string
	Size           int64     // < 0: unknown, left out of the JSON
	UploadTime     time.Time // zero: left out of the JSON
}

// simple returns what the simple pages of a local project say.
func (v *ProjectView) simple() *SimpleProject {
	status, reason := publishedStatus(v.Project)
	p := &SimpleProject{Name: v.Project.NormalizedName, Status: status, StatusReason: reason,
		Serial: v.Project.LastSerial, Versions: []string{}, Files: make([]SimpleFile, 0, len(v.Files))}
	for _, r := range v.Releases {
		if len(r.Files) > 0 || r.Withheld > 0 {
			p.Versions = append(p.Versions, r.Version)
		}
	}
	for _, f := range v.Files {
		p.Files = append(p.Files, SimpleFile{Filename: f.Filename, URL: f.URL, SHA256: f.SHA256, Version: f.Release.Version,
			RequiresPython: f.RequiresPython, MetadataSHA256: f.MetadataSHA256, Yanked: f.Release.Yanked,
			YankedReason: f.Release.YankedReason, Size: f.Size, UploadTime: f.UploadTime})
	}
	return p
}

// renderProjectHTML renders a local project's PEP 503 page.
func renderProjectHTML(v *ProjectView) []byte { return RenderSimpleHTML(v.simple()) }

// renderProjectJSON renders a local project's PEP 691 page.
func renderProjectJSON(v *ProjectView) []byte { return RenderSimpleJSON(v.simple()) }

// RenderSimpleHTML renders PEP 503 HTML with the PEP 592, 629, 658/714,
// 792 and requires-python attributes.
func RenderSimpleHTML(p *SimpleProject) []byte {
	var b bytes.Buffer
	name := html.EscapeString(p.Name)
	status := p.Status
	if status == "" {
		status = store.StatusActive
	}
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
	b.WriteString("    <meta name=\"pypi:project-status\" content=\"" + status + "\">\n")
	if p.StatusReason != "" {
		b.WriteString("    <meta name=\"pypi:project-status-reason\" content=\"" + html.EscapeString(p.StatusReason) + "\">\n")
	}
	b.WriteString("    <title>Links for " + name + "</title>\n  </head>\n  <body>\n    <h1>Links for " + name + "</h1>\n")
	for _, f := range p.Files {
		b.WriteString(`    <a href="` + html.EscapeString(f.URL) + `#sha256=` + f.SHA256 + `"`)
		if f.RequiresPython != "" {
			b.WriteString(` data-requires-python="` + html.EscapeString(f.RequiresPython) + `"`)
		}
		if f.MetadataSHA256 != "" {
			b.WriteString(` data-dist-info-metadata="sha256=` + f.MetadataSHA256 + `" data-core-metadata="sha256=` + f.MetadataSHA256 + `"`)
		}
		if f.Yanked {
			if f.YankedReason != "" {
				b.WriteString(` data-yanked="` + html.EscapeString(f.YankedReason) + `"`)
			} else {
				b.WriteString(` data-yanked=""`)
			}
		}
		b.WriteString(">" + html.EscapeString(f.Filename) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	if p.Serial != 0 {
		b.WriteString("<!--SERIAL " + strconv.FormatInt(p.Serial, 10) + "-->\n")
	}
	return b.Bytes()
}

type jsonMeta struct {
	APIVersion string `json:"api-version"`
	LastSerial int64  `json:"_last-serial,omitempty"`
}

type simpleFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python,omitempty"`
	CoreMetadata   any               `json:"core-metadata"`
	Yanked         any               `json:"yanked"`
	Size           *int64            `json:"size,omitempty"`
	UploadTime     string            `json:"upload-time,omitempty"`
}

// jsonStatus is PEP 792's "project-status" object.
type jsonStatus struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

type jsonProject struct {
	Meta          jsonMeta     `json:"meta"`
	ProjectStatus jsonStatus   `json:"project-status"`
	Name          string       `json:"name"`
	Versions      []string     `json:"versions"`
	Files         []simpleFile `json:"files"`
}

// publishedStatus is the status and reason a project's pages publish
// (PEP 792): active for a project that never had another.
func publishedStatus(p *store.Project) (status, reason string) {
	if p.Status == "" {
		return store.StatusActive, ""
	}
	return p.Status, p.StatusReason
}

// UploadTimeFormat is PEP 700's upload-time format.
const UploadTimeFormat = "2006-01-02T15:04:05.000000Z"

// RenderSimpleJSON renders PEP 691 JSON (PEP 700, PEP 792). A
// quarantined project lists its versions, and no file (as PEP 792's
// example).
func RenderSimpleJSON(p *SimpleProject) []byte {
	status := p.Status
	if status == "" {
		status = store.StatusActive
	}
	out := jsonProject{Meta: jsonMeta{APIVersion: APIVersion, LastSerial: p.Serial},
		ProjectStatus: jsonStatus{Status: status, Reason: p.StatusReason},
		Name:          p.Name, Versions: p.Versions, Files: make([]simpleFile, 0, len(p.Files))}
	if out.Versions == nil {
		out.Versions = []string{}
	}
	for _, f := range p.Files {
		jf := simpleFile{Filename: f.Filename, URL: f.URL, Hashes: map[string]string{"sha256": f.SHA256},
			CoreMetadata: false, Yanked: false}
		if f.Size >= 0 {
			size := f.Size
			jf.Size = &size
		}
		if !f.UploadTime.IsZero() {
			jf.UploadTime = f.UploadTime.UTC().Format(UploadTimeFormat)
		}
		if f.RequiresPython != "" {
			rp := f.RequiresPython
			jf.RequiresPython = &rp
		}
		if f.MetadataSHA256 != "" {
			// PEP 714: JSON carries only core-metadata; the old
			// dist-info-metadata key crashes pip <= 23.0.
			jf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		if f.Yanked {
			jf.Yanked = true
			if f.YankedReason != "" {
				jf.Yanked = f.YankedReason
			}
		}
		out.Files = append(out.Files, jf)
	}
	b, _ := json.Marshal(out) // cannot fail: plain types only
	return b
}

// RenderSimpleAPI renders the JSON API document (/pypi/<name>/json) of
// a project known only by its simple page (a proxied one): info.name
// (display name) and info.version (the latest version with a file not
// yanked, else with any file), releases and urls with digests, size,
// upload time, yank and requires-python; every field of the core
// metadata is null, as this index never read it.
func RenderSimpleAPI(p *SimpleProject, displayName string) []byte {
	latest := ""
	for _, yanked := range []bool{false, true} {
		for _, f := range p.Files {
			if (yanked || !f.Yanked) && (latest == "" || versionIndex(p.Versions, f.Version) > versionIndex(p.Versions, latest)) {
				latest = f.Version
			}
		}
		if latest != "" {
			break
		}
	}
	status := p.Status
	if status == "" {
		status = store.StatusActive
	}
	doc := JSONDocument{Info: JSONInfo{Name: displayName, Version: latest, Classifiers: []string{},
		ProjectURLs: map[string]string{}, Downloads: map[string]int{"last_day": -1, "last_week": -1, "last_month": -1},
		ProjectStatus: jsonStatus{Status: status, Reason: p.StatusReason}},
		LastSerial: p.Serial, Releases: map[string][]JSONFile{}, URLs: []JSONFile{}, Vulnerabilities: []any{},
		Ownership: map[string]any{"roles": []map[string]string{}, "organization": nil}}
	for _, v := range p.Versions {
		doc.Releases[v] = []JSONFile{}
	}
	for _, f := range p.Files {
		jf := JSONFile{Filename: f.Filename, PackageType: "sdist", PythonVersion: "source",
			Digests: map[string]string{"sha256": f.SHA256}, CoreMetadata: false, Downloads: -1, Size: max(f.Size, 0),
			URL: f.URL, RequiresPython: optional(f.RequiresPython), Yanked: f.Yanked}
		if w, err := pep.ParseWheelFilename(f.Filename); err == nil {
			jf.PackageType, jf.PythonVersion = "bdist_wheel", strings.Join(w.PythonTags, ".")
		}
		if !f.UploadTime.IsZero() {
			jf.UploadTime, jf.UploadTimeISO8601 = f.UploadTime.UTC().Format("2006-01-02T15:04:05"), isoformat(f.UploadTime)
		}
		if f.MetadataSHA256 != "" {
			jf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		if f.Yanked {
			jf.YankedReason = optional(f.YankedReason)
		}
		doc.Releases[f.Version] = append(doc.Releases[f.Version], jf)
		if f.Version == latest {
			doc.URLs = append(doc.URLs, jf)
		}
	}
	b, _ := json.Marshal(doc) // cannot fail: plain types only
	return b
}

// versionIndex is the place of v in versions (ordered), -1 if absent.
func versionIndex(versions []string, v string) int { return slices.Index(versions, v) }

// ProjectPage is a project's cached, rendered simple pages and view.
type ProjectPage struct {
	View     *ProjectView
	HTML     Page
	JSON     Page
	LoadedAt time.Time

	// The JSON API document of the project, rendered on first use.
	apiOnce sync.Once
	api     Page
	apiErr  error

	cost int64 // the memory it holds, as the cache counts it (Cache.mu)
}
