package index

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"cheeseshop/internal/store"
)

// JSONInfo is the "info" object of PyPI's JSON API.
type JSONInfo struct {
	Name                   string            `json:"name"`
	Version                string            `json:"version"`
	Summary                string            `json:"summary"`
	Description            string            `json:"description"`
	DescriptionContentType *string           `json:"description_content_type"`
	Keywords               string            `json:"keywords"`
	License                string            `json:"license"`
	LicenseExpression      *string           `json:"license_expression"`
	LicenseFiles           []string          `json:"license_files"`
	Author                 string            `json:"author"`
	AuthorEmail            string            `json:"author_email"`
	Maintainer             string            `json:"maintainer"`
	MaintainerEmail        string            `json:"maintainer_email"`
	Classifiers            []string          `json:"classifiers"`
	RequiresPython         *string           `json:"requires_python"`
	RequiresDist           []string          `json:"requires_dist"`
	ProvidesExtra          []string          `json:"provides_extra"`
	Dynamic                []string          `json:"dynamic"`
	Platform               *string           `json:"platform"`
	HomePage               string            `json:"home_page"`
	DownloadURL            string            `json:"download_url"`
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

func jsonFile(f *FileView) JSONFile {
	jf := JSONFile{Filename: f.Filename, PackageType: f.PackageType, PythonVersion: f.PythonVersion, CommentText: f.Comment,
		MD5Digest: f.MD5, Digests: map[string]string{"md5": f.MD5, "sha256": f.SHA256, "blake2b_256": f.Blake2_256},
		CoreMetadata: false, Downloads: -1, Size: f.Size,
		UploadTime: f.UploadTime.UTC().Format("2006-01-02T15:04:05"), UploadTimeISO8601: f.UploadTime.UTC().Format(UploadTimeFormat),
		URL: f.URL, RequiresPython: optional(f.RequiresPython), Yanked: f.Release.Yanked}
	if f.MetadataSHA256 != "" {
		jf.CoreMetadata = map[string]string{"sha256": f.MetadataSHA256}
	}
	if f.Release.Yanked {
		jf.YankedReason = optional(f.Release.YankedReason)
	}
	return jf
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
	base := s.cfg.BaseURL + "/project/" + v.Project.NormalizedName + "/"
	info := JSONInfo{Name: v.Project.Name, Version: rel.Version, Summary: meta.Summary, Description: meta.Description,
		DescriptionContentType: optional(meta.DescriptionContentType), Keywords: meta.Keywords, License: meta.License,
		LicenseExpression: optional(meta.LicenseExpression), LicenseFiles: meta.LicenseFiles, Author: meta.Author,
		AuthorEmail: meta.AuthorEmail, Maintainer: meta.Maintainer, MaintainerEmail: meta.MaintainerEmail,
		Classifiers: nonNil(meta.Classifiers), RequiresPython: optional(meta.RequiresPython), RequiresDist: meta.RequiresDist,
		ProvidesExtra: meta.ProvidesExtra, Dynamic: meta.Dynamic, Platform: optional(strings.Join(meta.Platforms, ", ")),
		HomePage: meta.HomePage, DownloadURL: meta.DownloadURL, ProjectURL: base, PackageURL: base,
		ReleaseURL: base + url.PathEscape(rel.Version) + "/", Downloads: map[string]int{"last_day": -1, "last_week": -1, "last_month": -1},
		Yanked: rel.Yanked}
	info.ProjectStatus.Status, info.ProjectStatus.Reason = publishedStatus(v.Project)
	info.ImportNames, info.ImportNamespaces = meta.ImportNames, meta.ImportNamespaces
	if rel.Yanked {
		info.YankedReason = optional(rel.YankedReason)
	}
	if len(meta.ProjectURLs) > 0 {
		info.ProjectURLs = map[string]string{}
		for _, pu := range meta.ProjectURLs {
			label, u, ok := strings.Cut(pu, ",")
			if ok {
				info.ProjectURLs[strings.TrimSpace(label)] = strings.TrimSpace(u)
			}
		}
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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
