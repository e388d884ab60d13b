package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/readme"
	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
)

// Search settings.
const (
	searchPageSize = 20
	searchMaxPage  = 500 // deeper pages cost a long index walk; refine the query instead
	searchMaxQuery = 200
	// searchConcurrency is how many searches run at once, server-wide.
	// A search reads indexes, but a deep page of a common query still
	// sorts thousands of matches (tens of ms at PyPI's 886k projects) and
	// holds a database connection meanwhile: unbounded, a few anonymous
	// clients would take every CPU and every connection of the pool from
	// the index itself.
	searchConcurrency = 2
	// searchWait is how long a search waits for its turn before it is
	// answered 503 with Retry-After.
	searchWait = 2 * time.Second
)

// public serves the public pages of the web UI: the home and help pages,
// projects, releases, users, search and the two-factor statistics.
type public struct {
	s       *Server
	readmes *readme.Renderer // rendered descriptions, by release id (stored with the releases)
	// searches holds a token for each search running (searchConcurrency).
	searches chan struct{}
	stats    *stats.Service // nil: no statistics pages
}

// addSlash redirects a page's address without its trailing slash to the
// address with it, as PyPI does.
func addSlash(w http.ResponseWriter, r *http.Request) {
	to := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
}

// projectLink is a link of the project's sidebar.
type projectLink struct {
	Label, URL string
}

// historyEntry is a release in the release history.
type historyEntry struct {
	*index.ReleaseView
	Current bool // the release shown
	Latest  bool
}

// projectPage is what project.html and release.html show.
type projectPage struct {
	Project     *store.Project
	Release     *index.ReleaseView // the release shown; nil when there is none
	Latest      *index.ReleaseView
	IsLatest    bool
	Meta        pep.Metadata
	Description template.HTML
	Links       []projectLink
	History     []historyEntry // newest first
	Maintainers []store.Collaborator
	Install     string // the pip command; "" when nothing is installable
	License     string
	Mandate     mandateStatus // its badges: critical, 2FA required
	Reportable  bool          // the page links the report form
}

// project shows a project at its latest release, or at the release named
// by the path.
func (p *public) project(w http.ResponseWriter, r *http.Request) {
	s := p.s
	name, version := r.PathValue("project"), r.PathValue("version")
	normalized := pep.NormalizeName(name)
	page, err := s.idx.Cache().Project(r.Context(), normalized)
	if err == nil && !s.idx.CanRead(s.reader(r), page.View.Project) {
		err = store.ErrNotFound // the same answer as a project that does not exist
	}
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "There is no project named “"+name+"”.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := page.View
	latest := v.Latest()
	rel := latest
	if version != "" {
		if rel = v.Release(version); rel == nil || len(rel.Files) == 0 && rel != latest {
			s.renderError(w, r, http.StatusNotFound, "Project “"+v.Project.Name+"” has no release “"+version+"”.")
			return
		}
	}
	if name != normalized || version != "" && version != rel.Version {
		to := "/project/" + url.PathEscape(normalized) + "/"
		if version != "" {
			to += url.PathEscape(rel.Version) + "/"
		}
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	}
	data, err := p.projectData(r.Context(), v, rel, latest)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data.Mandate = s.freshStatusOf(r.Context(), v.Project)
	data.Reportable = s.opts.Reports != nil
	if version == "" {
		s.render(w, r, http.StatusOK, "project", v.Project.Name, data)
		return
	}
	s.render(w, r, http.StatusOK, "release", v.Project.Name+" "+rel.Version, data)
}

func (p *public) projectData(ctx context.Context, v *index.ProjectView, rel, latest *index.ReleaseView) (*projectPage, error) {
	d := &projectPage{Project: v.Project, Release: rel, Latest: latest, IsLatest: rel == latest, Maintainers: v.Collaborators}
	for i := len(v.Releases) - 1; i >= 0; i-- {
		r := v.Releases[i]
		if len(r.Files) == 0 && r.Withheld == 0 && r != rel {
			continue // nothing to install: PyPI hides it too
		}
		d.History = append(d.History, historyEntry{ReleaseView: r, Current: r == rel, Latest: r == latest})
	}
	if index.Installable(v.Project) {
		cmd := "pip install --index-url " + p.s.idx.Config().BaseURL + "/simple/ " + v.Project.Name
		if rel != nil && rel != latest {
			cmd += "==" + rel.Version
		} else if rel != nil && rel.IsPrerelease {
			cmd += " --pre"
		}
		d.Install = cmd
	}
	if rel == nil {
		return d, nil
	}
	meta, err := p.s.idx.ReleaseMetadata(ctx, rel.ID)
	if err != nil {
		return nil, err
	}
	d.Meta = *meta
	if strings.TrimSpace(d.Meta.Description) != "" {
		// Rendered once (at upload, or now for an older release) and
		// stored: a view reads it.
		var err error
		d.Description, err = p.readmes.Render(ctx, rel.ID, d.Meta.Description, d.Meta.DescriptionContentType)
		if err != nil {
			p.s.log.WarnContext(ctx, "stored description rendering", "release", rel.ID, "err", err)
		}
	}
	d.Links = projectLinks(d.Meta)
	d.License = d.Meta.LicenseExpression
	if d.License == "" {
		d.License, _, _ = strings.Cut(strings.TrimSpace(d.Meta.License), "\n")
		if len(d.License) > 100 {
			d.License = d.License[:100] + "…"
		}
	}
	return d, nil
}

// projectLinks returns the project's http(s) links: Home-page, then the
// Project-URL entries, then Download-URL, without repeats.
func projectLinks(m pep.Metadata) []projectLink {
	var out []projectLink
	add := func(label, u string) {
		label, u = strings.TrimSpace(label), strings.TrimSpace(u)
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return
		}
		if label == "" {
			label = pu.Host
		}
		if slices.ContainsFunc(out, func(l projectLink) bool { return l.URL == u }) {
			return
		}
		out = append(out, projectLink{Label: label, URL: u})
	}
	if m.HomePage != "" && !strings.EqualFold(m.HomePage, "UNKNOWN") {
		add("Homepage", m.HomePage)
	}
	for _, pu := range m.ProjectURLs {
		if label, u, ok := strings.Cut(pu, ","); ok {
			add(label, u)
		}
	}
	if m.DownloadURL != "" && !strings.EqualFold(m.DownloadURL, "UNKNOWN") {
		add("Download", m.DownloadURL)
	}
	return out
}

// userPage is what user.html shows.
type userPage struct {
	User     *store.User
	Projects []listing
	Total    int // projects of the user, on every page
	Page     int
	PrevURL  string // "" on the first page
	NextURL  string // "" on the last page
}

// userPageSize is how many projects a user page lists; pages past
// userMaxPage are not served (an OFFSET costs what it skips).
const (
	userPageSize = 100
	userMaxPage  = 100
)

// user shows a user's projects.
func (p *public) user(w http.ResponseWriter, r *http.Request) {
	s := p.s
	name := r.PathValue("username")
	u, err := s.acct.UserByUsername(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		s.renderError(w, r, http.StatusNotFound, "There is no user named “"+name+"”.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if name != u.Username {
		http.Redirect(w, r, "/user/"+url.PathEscape(u.Username)+"/", http.StatusMovedPermanently)
		return
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	if page > userMaxPage {
		s.renderError(w, r, http.StatusBadRequest, fmt.Sprintf("Only the first %d pages of a user's projects are shown.", userMaxPage))
		return
	}
	total, err := s.idx.CountUserProjects(r.Context(), u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ls, err := s.idx.UserProjects(r.Context(), u.ID, userPageSize, (page-1)*userPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	projects, err := p.listings(r.Context(), ls)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := userPage{User: u, Projects: projects, Total: total, Page: page}
	base := "/user/" + url.PathEscape(u.Username) + "/"
	if page > 1 {
		d.PrevURL = base + "?page=" + strconv.Itoa(page-1)
	}
	if page*userPageSize < total && page < userMaxPage {
		d.NextURL = base + "?page=" + strconv.Itoa(page+1)
	}
	s.render(w, r, http.StatusOK, "user", u.Username, d)
}

// searchPage is what search.html shows.
type searchPage struct {
	Query    string
	Results  []listing
	Page     int
	PrevURL  string // "" on the first page
	NextURL  string // "" on the last page
	TooDeep  bool
	TooLong  bool
	Searched bool
	Short    bool // too short to be looked for inside names: they start with it
}

// searchTurn waits for one of the searchConcurrency turns (at most
// searchWait), and reports whether it got one; the caller gives it back
// by receiving from p.searches.
func (p *public) searchTurn(ctx context.Context) bool {
	select {
	case p.searches <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(searchWait)
	defer t.Stop()
	select {
	case p.searches <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// search finds projects whose normalized name contains the normalized
// query: the exact match first, then those that start with it, then the
// others, by name (only those that start with a query shorter than
// store.SearchMinInside).
func (p *public) search(w http.ResponseWriter, r *http.Request) {
	s := p.s
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	d := searchPage{Query: q, Page: page}
	switch {
	case q == "":
	case len(q) > searchMaxQuery:
		d.TooLong = true
	case page > searchMaxPage:
		d.TooDeep = true
	default:
		if !p.searchTurn(ctx) {
			w.Header().Set("Retry-After", strconv.Itoa(int(searchWait/time.Second)))
			s.renderError(w, r, http.StatusServiceUnavailable, "Too many searches are running at once: try again in a few seconds.")
			return
		}
		defer func() { <-p.searches }()
		d.Searched = true
		norm := pep.NormalizeName(q)
		d.Short = utf8.RuneCountInString(norm) < store.SearchMinInside
		var found []store.Listing
		exact, err := s.idx.ProjectByName(ctx, norm)
		if err == nil && !s.idx.CanRead(s.reader(r), exact) {
			exact, err = nil, store.ErrNotFound // as if it did not exist
		}
		switch {
		case err == nil:
			if page == 1 && index.Installable(exact) {
				found = append(found, store.Listing{ID: exact.ID, Name: exact.Name, Normalized: exact.NormalizedName,
					LastSerial: exact.LastSerial, CreatedAt: exact.CreatedAt})
			}
		case !errors.Is(err, store.ErrNotFound):
			s.fail(w, r, err)
			return
		}
		before := 0 // results ahead of the others: the exact match
		if exact != nil {
			before = 1
		}
		offset := max(0, (page-1)*searchPageSize-before)
		limit := searchPageSize - len(found)
		others, err := s.idx.SearchProjects(ctx, norm, offset, limit+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		more := len(others) > limit
		if more {
			others = others[:limit]
		}
		if d.Results, err = p.listings(ctx, append(found, others...)); err != nil {
			s.fail(w, r, err)
			return
		}
		link := func(n int) string {
			v := url.Values{"q": {q}}
			if n > 1 {
				v.Set("page", strconv.Itoa(n))
			}
			return "/search/?" + v.Encode()
		}
		if page > 1 {
			d.PrevURL = link(page - 1)
		}
		if more && page < searchMaxPage {
			d.NextURL = link(page + 1)
		}
	}
	title := "Search"
	if q != "" {
		title = "Search results for “" + q + "”"
	}
	s.render(w, r, http.StatusOK, "search", title, d)
}
