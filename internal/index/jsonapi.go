package index

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// JSONInfo is the "info" object of PyPI's JSON API. Its values are those
// PyPI stores at upload (warehouse/forklift/legacy.py) and sends back
// (warehouse/legacy/api/json.py): a field the metadata does not carry is
// null, not "" or [] — except classifiers, always a list, and description,
// always a string.
type JSONInfo struct {
	Name                   string            `json:"name"`
	Version                string            `json:"version"`
	Summary                *string           `json:"summary"`
	Description            string            `json:"description"`
	DescriptionContentType *string           `json:"description_content_type"`
	Keywords               *string           `json:"keywords"`
	License                *string           `json:"license"`
	LicenseExpression      *string           `json:"license_expression"`
	LicenseFiles           []string          `json:"license_files"`
	Author                 *string           `json:"author"`
	AuthorEmail            *string           `json:"author_email"`
	Maintainer             *string           `json:"maintainer"`
	MaintainerEmail        *string           `json:"maintainer_email"`
	Classifiers            []string          `json:"classifiers"`
	RequiresPython         *string           `json:"requires_python"`
	RequiresDist           []string          `json:"requires_dist"`
	ProvidesExtra          []string          `json:"provides_extra"`
	Dynamic                []string          `json:"dynamic"`
	Platform               *string           `json:"platform"`
	HomePage               *string           `json:"home_page"`
	DownloadURL            *string           `json:"download_url"`
	ProjectURL             string            `json:"project_url"`
	PackageURL             string            `json:"package_url"`
	ReleaseURL             string            `json:"release_url"`
	ProjectURLs            map[string]string `json:"project_urls"`
	DocsURL                *string           `json:"docs_url"`
	BugtrackURL            *string           `json:"bugtrack_url"`
	Downloads              map[string]int    `json:"downloads"`
	Yanked                 bool              `json:"yanked"`
	YankedReason           *string           `json:"yanked_reason"`
	// ProjectStatus is the project's status (PEP 792), as the simple
	// API's "project-status".
	ProjectStatus jsonStatus `json:"project_status"`
	// ImportNames and ImportNamespaces are metadata 2.5's Import-Name
	// and Import-Namespace (PEP 794), null when absent. PyPI's JSON API
	// does not show them (yet); the names are packaging's.
	ImportNames      []string `json:"import_names"`
	ImportNamespaces []string `json:"import_namespaces"`
}

// JSONFile is a file object of PyPI's JSON API.
type JSONFile struct {
	Filename          string            `json:"filename"`
	PackageType       string            `json:"packagetype"`
	PythonVersion     string            `json:"python_version"`
	CommentText       string            `json:"comment_text"`
	MD5Digest         string            `json:"md5_digest"`
	Digests           map[string]string `json:"digests"`
	CoreMetadata      any               `json:"core-metadata"`
	HasSig            bool              `json:"has_sig"`
	Downloads         int               `json:"downloads"`
	Size              int64             `json:"size"`
	UploadTime        string            `json:"upload_time"`
	UploadTimeISO8601 string            `json:"upload_time_iso_8601"`
	URL               string            `json:"url"`
	RequiresPython    *string           `json:"requires_python"`
	Yanked            bool              `json:"yanked"`
	YankedReason      *string           `json:"yanked_reason"`
	// TrustedPublisher is who published the file through trusted
	// publishing, null when a user uploaded it: a cheeseshop extension
	// (PyPI tells it only through PEP 740 provenance, which cheeseshop
	// does not keep).
	TrustedPublisher *FilePublisher `json:"trusted_publisher"`
}

// JSONDocument is the whole response of PyPI's JSON API.
type JSONDocument struct {
	Info            JSONInfo              `json:"info"`
	LastSerial      int64                 `json:"last_serial"`
	Releases        map[string][]JSONFile `json:"releases,omitempty"`
	URLs            []JSONFile            `json:"urls"`
	Vulnerabilities []any                 `json:"vulnerabilities"`
	Ownership       map[string]any        `json:"ownership"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optionalList is l, or nil (JSON null) when l is empty, as PyPI's
// "list(x) if x else None".
func optionalList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

func jsonFile(f *FileView) JSONFile {
	jf := JSONFile{Filename: f.Filename, PackageType: f.PackageType, PythonVersion: f.PythonVersion, CommentText: f.Comment,
		MD5Digest: f.MD5, Digests: map[string]string{"md5": f.MD5, "sha256": f.SHA256, "blake2b_256": f.Blake2_256},
		CoreMetadata: false, Downloads: -1, Size: f.Size,
		UploadTime: f.UploadTime.UTC().Format("2006-01-02T15:04:05"), UploadTimeISO8601: isoformat(f.UploadTime),
		URL: f.URL, RequiresPython: optional(specifierSet(f.RequiresPython)), Yanked: f.Release.Yanked,
		TrustedPublisher: f.Publisher}
	if f.MetadataSHA256 != "" {
		jf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
	}
	if f.Release.Yanked {
		jf.YankedReason = optional(f.Release.YankedReason)
	}
	return jf
}

// isoformat is Python's datetime.isoformat() + "Z" for a UTC time, as
// PyPI writes upload_time_iso_8601: microseconds, left out when zero.
func isoformat(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format(UploadTimeFormat)
}

// JSONDocument builds PyPI's JSON API document for a project (version "")
// or for one of its releases. It returns store.ErrNotFound for an unknown
// version or a project without releases.
func (s *Service) JSONDocument(ctx context.Context, v *ProjectView, version string) (*JSONDocument, error) {
	var rel *ReleaseView
	if version == "" {
		rel = v.Latest()
	} else {
		rel = v.Release(version)
	}
	if rel == nil {
		return nil, store.ErrNotFound
	}
	meta, err := s.ReleaseMetadata(ctx, rel.ID)
	if err != nil {
		return nil, fmt.Errorf("index: metadata of %s %s: %w", v.Project.NormalizedName, rel.Version, err)
	}
	dropUnknown(meta)
	// PyPI builds these from the project's display name, not the
	// normalized one (route_url("packaging.project", name=project.name)).
	base := s.cfg.BaseURL + "/project/" + url.PathEscape(v.Project.Name) + "/"
	info := JSONInfo{Name: v.Project.Name, Version: rel.Version, Summary: optional(meta.Summary), Description: meta.Description,
		DescriptionContentType: optional(meta.DescriptionContentType), Keywords: optional(joinKeywords(meta.Keywords)),
		License: optional(meta.License), LicenseExpression: optional(meta.LicenseExpression),
		LicenseFiles: optionalList(meta.LicenseFiles), Author: optional(meta.Author), AuthorEmail: optional(meta.AuthorEmail),
		Maintainer: optional(meta.Maintainer), MaintainerEmail: optional(meta.MaintainerEmail),
		Classifiers: nonNil(meta.Classifiers), RequiresPython: optional(specifierSet(meta.RequiresPython)),
		RequiresDist: optionalList(meta.RequiresDist), ProvidesExtra: optionalList(normalizeNames(meta.ProvidesExtra)),
		Dynamic: optionalList(titleCase(meta.Dynamic)), HomePage: optional(meta.HomePage), DownloadURL: optional(meta.DownloadURL),
		ProjectURL: base, PackageURL: base, ReleaseURL: base + url.PathEscape(rel.Version) + "/",
		ProjectURLs: projectURLs(meta), Downloads: map[string]int{"last_day": -1, "last_week": -1, "last_month": -1},
		Yanked: rel.Yanked}
	if len(meta.Platforms) > 0 {
		// PyPI keeps the first Platform only.
		info.Platform = optional(meta.Platforms[0])
	}
	info.ProjectStatus.Status, info.ProjectStatus.Reason = publishedStatus(v.Project)
	info.ImportNames, info.ImportNamespaces = meta.ImportNames, meta.ImportNamespaces
	if rel.Yanked {
		info.YankedReason = optional(rel.YankedReason)
	}
	doc := &JSONDocument{Info: info, LastSerial: v.Project.LastSerial, URLs: []JSONFile{}, Vulnerabilities: []any{}}
	for _, f := range rel.Files {
		doc.URLs = append(doc.URLs, jsonFile(f))
	}
	if version == "" {
		doc.Releases = map[string][]JSONFile{}
		for _, r := range v.Releases {
			files := []JSONFile{}
			for _, f := range r.Files {
				files = append(files, jsonFile(f))
			}
			doc.Releases[r.Version] = files
		}
	}
	roles := []map[string]string{}
	for _, c := range v.Collaborators {
		roles = append(roles, map[string]string{"role": c.Role, "user": c.Username})
	}
	doc.Ownership = map[string]any{"roles": roles, "organization": nil}
	return doc, nil
}

// dropUnknown clears the metadata values that are "UNKNOWN", which
// distutils and old setuptools wrote for missing fields: PyPI deletes every
// such upload form value before it reads the metadata, so it stores and
// sends them as absent. A multiple-use field goes whole when its last
// value is "UNKNOWN", as PyPI's MultiDict.get reads the last value and its
// del removes them all.
func dropUnknown(m *pep.Metadata) {
	unknown := func(s string) bool { return strings.TrimSpace(s) == "UNKNOWN" }
	for _, f := range []*string{&m.Summary, &m.Description, &m.DescriptionContentType, &m.Keywords, &m.HomePage,
		&m.DownloadURL, &m.Author, &m.AuthorEmail, &m.Maintainer, &m.MaintainerEmail, &m.License,
		&m.LicenseExpression, &m.RequiresPython} {
		if unknown(*f) {
			*f = ""
		}
	}
	for _, l := range []*[]string{&m.Classifiers, &m.RequiresDist, &m.ProvidesExtra, &m.ProjectURLs, &m.Platforms,
		&m.Dynamic, &m.LicenseFiles} {
		if n := len(*l); n > 0 && unknown((*l)[n-1]) {
			*l = nil
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// projectURLs is PyPI's Release.urls: "Homepage" from Home-page and
// "Download" from Download-URL, then every Project-URL label → URL, the
// Home-page or Download-URL repeated under a label of that name (in any
// case, with or without "-" and "_") left out; nil when there is none.
func projectURLs(meta *pep.Metadata) map[string]string {
	urls := map[string]string{}
	if meta.HomePage != "" {
		urls["Homepage"] = meta.HomePage
	}
	if meta.DownloadURL != "" {
		urls["Download"] = meta.DownloadURL
	}
	for _, pu := range meta.ProjectURLs {
		label, u, ok := strings.Cut(pu, ",")
		label, u = strings.TrimSpace(label), strings.TrimSpace(u)
		if !ok {
			continue
		}
		switch strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(label)) {
		case "homepage":
			if u == urls["Homepage"] {
				continue
			}
		case "downloadurl":
			if u == urls["Download"] {
				continue
			}
		}
		urls[label] = u
	}
	if len(urls) == 0 {
		return nil
	}
	return urls
}

// joinKeywords is the Keywords field as PyPI stores it: packaging splits
// it on "," and strips each keyword, and PyPI joins them with ", ".
func joinKeywords(s string) string {
	if s == "" {
		return ""
	}
	words := strings.Split(s, ",")
	for i, w := range words {
		words[i] = strings.TrimSpace(w)
	}
	return strings.Join(words, ", ")
}

// specifierSet is a Requires-Python value as PyPI stores it,
// str(packaging.specifiers.SpecifierSet(s)): each specifier without its
// spaces, duplicates dropped, sorted, joined by ",".
func specifierSet(s string) string {
	var specs []string
	for _, spec := range strings.Split(s, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue
		}
		op := strings.TrimRight(spec[:len(spec)-len(strings.TrimLeft(spec, "~=!<>"))], " ")
		specs = append(specs, op+strings.TrimSpace(spec[len(op):]))
	}
	slices.Sort(specs)
	return strings.Join(slices.Compact(specs), ",")
}

// normalizeNames is names each in its PEP 503 normalized form, as
// packaging stores Provides-Extra.
func normalizeNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = pep.NormalizeName(n)
	}
	return out
}

// titleCase is fields each as Python's str.title() writes it, as PyPI
// stores Dynamic ("license-file" → "License-File"): a cased letter is
// upper case after an uncased character, lower case after a cased one.
func titleCase(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		var b strings.Builder
		prevCased := false
		for _, r := range f {
			cased := unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
			switch {
			case cased && prevCased:
				r = unicode.ToLower(r)
			case cased:
				r = unicode.ToTitle(r)
			}
			b.WriteRune(r)
			prevCased = cased
		}
		out[i] = b.String()
	}
	return out
}

// JSONAPIPage renders PyPI's JSON API for a cached project page: the
// project document (version "") is rendered once per page and kept with
// it; a release document is rendered on each call.
func (s *Service) JSONAPIPage(ctx context.Context, p *ProjectPage, version string) (Page, error) {
	render := func() (Page, error) {
		doc, err := s.JSONDocument(ctx, p.View, version)
		if err != nil {
			return Page{}, err
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return Page{}, fmt.Errorf("index: encode JSON API document: %w", err)
		}
		return newPage(b), nil
	}
	if version != "" {
		return render()
	}
	p.apiOnce.Do(func() {
		p.api, p.apiErr = render()
		if p.apiErr == nil {
			s.cache.charge(p.View.Project.NormalizedName, p, int64(len(p.api.Body)))
		}
	})
	return p.api, p.apiErr
}
