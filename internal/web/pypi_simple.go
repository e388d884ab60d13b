package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// pypiAPI serves the PyPI protocol to installers and uploaders (pip, uv,
// twine): the simple repository API, the files, the JSON API and the
// legacy upload API.
type pypiAPI struct {
	s   *Server // shared helpers: error answers, metrics, download counting
	idx *index.Service
}

// Media types of the simple repository API (PEP 691).
const (
	mediaJSON       = "application/vnd.pypi.simple.v1+json"
	mediaHTML       = "application/vnd.pypi.simple.v1+html"
	mediaLegacyHTML = "text/html"
)

// negotiate picks the simple API format from Accept q-values (PEP 691),
// or from ?format= when given. Like PyPI, when nothing matches it answers
// with text/html rather than 406; on equal preference it picks the first
// of text/html, v1+html, v1+json, as PyPI does.
func negotiate(r *http.Request) string {
	if f := formatParam(r); f != "" {
		// An unescaped '+' in a hand-typed URL arrives as a space.
		switch strings.ReplaceAll(f, " ", "+") {
		case mediaJSON, "application/vnd.pypi.simple.latest+json":
			return mediaJSON
		case mediaHTML, "application/vnd.pypi.simple.latest+html":
			return mediaHTML
		case mediaLegacyHTML:
			return mediaLegacyHTML
		}
	}
	accept := headerList(r.Header, "Accept")
	if accept == "" {
		return mediaLegacyHTML
	}
	offers := [...]string{mediaLegacyHTML, mediaHTML, mediaJSON}
	var q [3]float64
	var spec [3]int // how specific the matching range was: 3 exact, 2 type/*, 1 */*
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch mt {
		case "application/vnd.pypi.simple.latest+json":
			mt = mediaJSON
		case "application/vnd.pypi.simple.latest+html":
			mt = mediaHTML
		}
		weight := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					weight = f
				} else {
					weight = 0
				}
			}
		}
		for i, o := range offers {
			s := 0
			switch {
			case mt == o:
				s = 3
			case mt == "*/*":
				s = 1
			case strings.HasSuffix(mt, "/*") && strings.HasPrefix(o, strings.TrimSuffix(mt, "*")):
				s = 2
			}
			if s > spec[i] {
				spec[i], q[i] = s, weight
			}
		}
	}
	best, bestQ := mediaLegacyHTML, 0.0
	for i, o := range offers {
		if spec[i] > 0 && q[i] > bestQ {
			best, bestQ = o, q[i]
		}
	}
	return best
}

// formatParam returns ?format=, without parsing an absent query string.
func formatParam(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get("format")
}

// Header values shared by every cached page. net/http only reads header
// slices, so assigning these shared slices saves an allocation per header
// and request on the hottest path (so do the cachePolicy values).
var (
	hdrContentType = map[string][]string{
		mediaJSON:       {mediaJSON},
		mediaHTML:       {mediaHTML},
		mediaLegacyHTML: {"text/html; charset=utf-8"},
	}
)

// writePage writes a cached page with its validators and the caching
// headers of pol, answering 304 to a matching If-None-Match. The caller
// decided that the reader may read it.
func writePage(w http.ResponseWriter, r *http.Request, p index.Page, media string, pol *cachePolicy) {
	w.Header()["Vary"] = pol.pageVary
	writeDoc(w, r, p, hdrContentType[media], pol.page)
}

// writeDoc writes a prepared document with its validators, answering 304
// to a matching If-None-Match.
func writeDoc(w http.ResponseWriter, r *http.Request, p index.Page, contentType, cacheControl []string) {
	h := w.Header()
	h["Content-Type"] = contentType
	h["Cache-Control"] = cacheControl
	tag := p.ETag
	if contentType[0] == mediaHTML {
		// The bytes of the text/html page under another media type: a
		// tag of its own, so that no cache revalidating one takes a 304
		// for the other (RFC 9110 §8.8.3: a strong tag changes with the
		// metadata a 200 shows). pip and uv ask for JSON, so this costs
		// the few clients that ask for this type an allocation.
		tag = strings.TrimSuffix(tag, `"`) + `-v1html"`
	}
	h["Etag"] = []string{tag}
	if inm := headerList(r.Header, "If-None-Match"); inm != "" && etagMatch(inm, tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Length"] = []string{strconv.Itoa(p.Len())}
	if r.Method == http.MethodHead {
		return
	}
	if p.Parts == nil {
		writeWhole(w, r, p.Body)
		return
	}
	// The project list's pieces, as they are: no copy of the list.
	writeParts(w, r, p.Parts, p.Len())
}

func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

func (a *pypiAPI) simpleRoot(w http.ResponseWriter, r *http.Request) {
	page, err := a.idx.RootFor(r.Context(), a.s.reader(r))
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	media := negotiate(r)
	a.s.metrics.simpleResponse(simpleRootPage, media).Inc()
	w.Header()["X-Pypi-Last-Serial"] = []string{strconv.FormatInt(page.Serial, 10)}
	pol := a.s.rootPolicy(page)
	body := &page.HTML
	if media == mediaJSON {
		body = page.JSON()
	}
	w.Header()["Vary"] = pol.pageVary
	writeEncoded(w, r, body, hdrContentType[media], pol.page)
}

// normalizedOr301 redirects to the normalized URL when the name in the
// path is not normalized, and reports whether it did.
func normalizedOr301(w http.ResponseWriter, r *http.Request, name, rest string, prefix string) (string, bool) {
	norm := pep.NormalizeName(name)
	if norm != name {
		target := prefix + norm + rest
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return "", true
	}
	return norm, false
}

func (a *pypiAPI) simpleProjectNoSlash(w http.ResponseWriter, r *http.Request) {
	target := "/simple/" + pep.NormalizeName(r.PathValue("project")) + "/"
	redirectTo(target)(w, r)
}

func (a *pypiAPI) simpleProject(w http.ResponseWriter, r *http.Request) {
	a.serveProject(w, r, r.PathValue("project"))
}

// serveProject is simpleProject, of the path value name (hotRoutes passes
// it).
func (a *pypiAPI) serveProject(w http.ResponseWriter, r *http.Request, name string) {
	if strings.ContainsAny(name, "/\\") || !pep.ValidProjectName(name) {
		w.Header()["Cache-Control"] = hdrNoStore
		http.Error(w, "Not Found: no project of that name; names contain only ASCII letters, digits, '.', '_' and '-'.", http.StatusNotFound)
		return
	}
	norm, done := normalizedOr301(w, r, name, "/", "/simple/")
	if done {
		return
	}
	// A project the reader may not read is not found, as one that does
	// not exist.
	page, proxied, err := a.idx.ResolveProject(r.Context(), a.s.reader(r), norm)
	if errors.Is(err, store.ErrNotFound) {
		w.Header()["Cache-Control"] = hdrNoStore
		http.Error(w, "Not Found: no project named '"+norm+"' on this index.", http.StatusNotFound)
		return
	}
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	media := negotiate(r)
	a.s.metrics.simpleResponse(simpleProjectPage, media).Inc()
	var html, json index.Page
	var serial int64
	var pol *cachePolicy
	if proxied != nil {
		html, json, serial = proxied.HTML, proxied.JSON, proxied.LastSerial
		pol = a.s.proxiedPolicy()
		w.Header()["X-Cheeseshop-Upstream"] = upstreamState(proxied)
	} else {
		html, json, serial = page.HTML, page.JSON, page.View.Project.LastSerial
		pol = a.s.readPolicy(page.View.Project)
	}
	w.Header()["X-Pypi-Last-Serial"] = []string{strconv.FormatInt(serial, 10)}
	if media == mediaJSON {
		writePage(w, r, json, media, pol)
		return
	}
	writePage(w, r, html, media, pol)
}

// Values of X-Cheeseshop-Upstream, the header of every answer about a
// proxied project: fresh, or stale when the upstream did not answer and
// the last page it gave is served.
var (
	hdrUpstreamFresh = []string{"fresh"}
	hdrUpstreamStale = []string{"stale"}
)

// upstreamState is the X-Cheeseshop-Upstream header of a proxied page.
func upstreamState(p *index.ProxiedPage) []string {
	if p.Stale {
		return hdrUpstreamStale
	}
	return hdrUpstreamFresh
}

// proxiedPolicy returns the caching headers of the answers about a
// proxied project: shareable as a public local project's (the same for
// every reader allowed to read at all).
func (s *Server) proxiedPolicy() *cachePolicy {
	if s.idx.ReadRequiresAuth() {
		return privateReads
	}
	return sharedReads
}
