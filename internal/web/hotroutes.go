package web

import (
	"net/http"
	"strings"
)

// The patterns of the two routes that installers call most: a file
// download, and a project page of the simple API.
const (
	patternFile    = "GET /files/{sha256}/{filename}"
	patternProject = "GET /simple/{project}/{$}"
)

// hotRoutes routes a GET or HEAD of the two hottest routes (patternFile,
// patternProject) before the ServeMux, and passes every other request to
// it. The mux's match costs about a fifth of a small download's handler
// time and an allocation (its path cleaning, per-segment unescaping and
// the slice of path values); here it is a prefix test and a cut.
//
// It takes only what the mux would route to the same pattern without a
// redirect: an unescaped path (no RawPath, so that each segment reads
// the same decoded or not) of exactly the pattern's segments, none of
// them empty, "." or "..". Anything else (a path the mux cleans and
// redirects, a trailing slash it adds, another method, an escaped
// slash) goes to the mux. TestHotRoutesAsMux checks this against the
// route table. r.Pattern is set as the mux sets it (the metrics label
// the request by it); the path values are passed to the handler instead
// of being set on r.
type hotRoutes struct {
	mux     http.Handler
	file    func(w http.ResponseWriter, r *http.Request, sha, filename string)
	project func(w http.ResponseWriter, r *http.Request, project string)
}

func (h *hotRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if pattern, a, b := hotRoute(r); pattern != "" {
		r.Pattern = pattern
		if pattern == patternFile {
			h.file(w, r, a, b)
		} else {
			h.project(w, r, a)
		}
		return
	}
	h.mux.ServeHTTP(w, r)
}

// hotRoute returns the pattern of r and its path values when it is one
// of the hot routes, else "".
func hotRoute(r *http.Request) (pattern, a, b string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.RawPath != "" {
		return "", "", ""
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		if sha, name, ok := strings.Cut(rest, "/"); ok && plainSegment(sha) && plainSegment(name) {
			return patternFile, sha, name
		}
		return "", "", ""
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/simple/"); ok {
		if name, ok := strings.CutSuffix(rest, "/"); ok && plainSegment(name) {
			return patternProject, name, ""
		}
	}
	return "", "", ""
}

// plainSegment reports whether s is one path segment the mux neither
// cleans nor redirects: not empty, not "." or "..", without a slash.
func plainSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/")
}
