package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"strconv"
	"sync"
	"time"

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
	// ETag is a strong validator of Body: a quoted digest, equal for
	// equal bodies on every replica.
	ETag string
}

func newPage(b []byte) Page {
	sum := sha256.Sum256(b)
	return Page{Body: b, ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// renderProjectHTML renders PEP 503 HTML with the PEP 592, 629, 658/714,
// 792 and requires-python attributes.
func renderProjectHTML(v *ProjectView) []byte {
	var b bytes.Buffer
	name := html.EscapeString(v.Project.NormalizedName)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
	status, reason := publishedStatus(v.Project)
	b.WriteString("    <meta name=\"pypi:project-status\" content=\"" + status + "\">\n")
	if reason != "" {
		b.WriteString("    <meta name=\"pypi:project-status-reason\" content=\"" + html.EscapeString(reason) + "\">\n")
	}
	b.WriteString("    <title>Links for " + name + "</title>\n  </head>\n  <body>\n    <h1>Links for " + name + "</h1>\n")
	for _, f := range v.Files {
		b.WriteString(`    <a href="` + html.EscapeString(f.URL) + `#sha256=` + f.SHA256 + `"`)
		if f.RequiresPython != "" {
			b.WriteString(` data-requires-python="` + html.EscapeString(f.RequiresPython) + `"`)
		}
		if f.MetadataSHA256 != "" {
			b.WriteString(` data-dist-info-metadata="sha256=` + f.MetadataSHA256 + `" data-core-metadata="sha256=` + f.MetadataSHA256 + `"`)
		}
		if f.Release.Yanked {
			if f.Release.YankedReason != "" {
				b.WriteString(` data-yanked="` + html.EscapeString(f.Release.YankedReason) + `"`)
			} else {
				b.WriteString(` data-yanked=""`)
			}
		}
		b.WriteString(">" + html.EscapeString(f.Filename) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL " + strconv.FormatInt(v.Project.LastSerial, 10) + "-->\n")
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
	Size           int64             `json:"size"`
	UploadTime     string            `json:"upload-time"`
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

// renderProjectJSON renders PEP 691 JSON (PEP 700, PEP 792). A
// quarantined project lists its versions, and no file (as PEP 792's
// example).
func renderProjectJSON(v *ProjectView) []byte {
	status, reason := publishedStatus(v.Project)
	out := jsonProject{Meta: jsonMeta{APIVersion: APIVersion, LastSerial: v.Project.LastSerial},
		ProjectStatus: jsonStatus{Status: status, Reason: reason},
		Name:          v.Project.NormalizedName, Versions: []string{}, Files: []simpleFile{}}
	for _, r := range v.Releases {
		if len(r.Files) > 0 || r.Withheld > 0 {
			out.Versions = append(out.Versions, r.Version)
		}
	}
	for _, f := range v.Files {
		jf := simpleFile{Filename: f.Filename, URL: f.URL, Hashes: map[string]string{"sha256": f.SHA256},
			CoreMetadata: false, Yanked: false, Size: f.Size,
			UploadTime: f.UploadTime.UTC().Format(UploadTimeFormat)}
		if f.RequiresPython != "" {
			rp := f.RequiresPython
			jf.RequiresPython = &rp
		}
		if f.MetadataSHA256 != "" {
			// PEP 714: JSON carries only core-metadata; the old
			// dist-info-metadata key crashes pip <= 23.0.
			jf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
		}
		if f.Release.Yanked {
			jf.Yanked = true
			if f.Release.YankedReason != "" {
				jf.Yanked = f.Release.YankedReason
			}
		}
		out.Files = append(out.Files, jf)
	}
	b, _ := json.Marshal(out) // cannot fail: plain types only
	return b
}

// renderRootHTML renders the PEP 503 project list.
func renderRootHTML(names []store.ProjectName, serial int64) []byte {
	var b bytes.Buffer
	b.Grow(len(names)*64 + 256)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
	b.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range names {
		b.WriteString(`    <a href="/simple/` + n.Normalized + `/">` + html.EscapeString(n.Name) + "</a>\n")
	}
	b.WriteString("  </body>\n</html>\n<!--SERIAL " + strconv.FormatInt(serial, 10) + "-->\n")
	return b.Bytes()
}

// renderRootJSON renders the PEP 691 project list.
func renderRootJSON(names []store.ProjectName, serial int64) []byte {
	var b bytes.Buffer
	b.Grow(len(names)*32 + 128)
	b.WriteString(`{"meta":{"api-version":"` + APIVersion + `","_last-serial":` + strconv.FormatInt(serial, 10) + `},"projects":[`)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		nb, _ := json.Marshal(n.Name)
		b.WriteString(`{"name":`)
		b.Write(nb)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

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

// RootPage is the cached, rendered project list.
type RootPage struct {
	HTML, JSON         Page
	HTMLGzip, JSONGzip []byte
	Projects           int
	Serial             int64
	BuiltAt            time.Time
	// Personal is set on a list made for one reader (one who reads
	// private projects, or a scoped token with authenticated reads): no
	// shared cache may keep it.
	Personal bool
	// AnyPrivate is set on the list everybody reads when some project is
	// private: its readers get another list, so a shared cache must key
	// it on their credentials (Vary).
	AnyPrivate bool
	names      []store.ProjectName // the list, sorted, for the variants (RootFor)
}
