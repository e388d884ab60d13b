package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

func (a *pypiAPI) jsonProject(w http.ResponseWriter, r *http.Request) {
	a.jsonAPI(w, r, "")
}

func (a *pypiAPI) jsonRelease(w http.ResponseWriter, r *http.Request) {
	a.jsonAPI(w, r, r.PathValue("version"))
}

// jsonAPI serves PyPI's JSON API: /pypi/<project>/json and
// /pypi/<project>/<version>/json.
func (a *pypiAPI) jsonAPI(w http.ResponseWriter, r *http.Request, version string) {
	name := r.PathValue("project")
	rest := "/json"
	if version != "" {
		rest = "/" + version + "/json"
	}
	norm, done := normalizedOr301(w, r, name, rest, "/pypi/")
	if done {
		return
	}
	// A project the reader may not read is not found, as one that does
	// not exist.
	page, proxied, err := a.idx.ResolveProject(r.Context(), a.s.reader(r), norm)
	if errors.Is(err, store.ErrNotFound) {
		w.Header()["Cache-Control"] = hdrNoStore
		jsonError(w, http.StatusNotFound, "Not Found: no project named '"+norm+"' on this index.")
		return
	}
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	if proxied != nil {
		a.proxiedJSON(w, r, proxied, norm, version)
		return
	}
	body, err := a.idx.JSONAPIPage(r.Context(), page, version)
	if errors.Is(err, store.ErrNotFound) {
		w.Header()["Cache-Control"] = hdrNoStore
		jsonError(w, http.StatusNotFound, "Not Found: project '"+norm+"' has no release '"+version+"'.")
		return
	}
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	h := w.Header()
	pol := a.s.readPolicy()
	if pol.anyOrigin {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	}
	if pol.docVary != nil {
		h["Vary"] = pol.docVary
	}
	h["X-Pypi-Last-Serial"] = []string{strconv.FormatInt(page.View.Project.LastSerial, 10)}
	writeDoc(w, r, body, hdrJSONAPI, pol.jsonAPI)
}

// proxiedJSON serves the JSON API document of a proxied project, built
// by this index from the upstream's simple page: the project's alone
// (a release's document would need the release's metadata, which the
// simple API does not give).
func (a *pypiAPI) proxiedJSON(w http.ResponseWriter, r *http.Request, p *index.ProxiedPage, norm, version string) {
	h := w.Header()
	h["X-Cheeseshop-Upstream"] = upstreamState(p)
	if version != "" {
		h["Cache-Control"] = hdrNoStore
		jsonError(w, http.StatusNotFound, "Not Found: project '"+p.Name+"' is proxied from an upstream index: of its JSON API, only the "+
			"project document (/pypi/"+norm+"/json) is served here, not a release's.")
		return
	}
	pol := a.s.proxiedPolicy()
	if pol.anyOrigin {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	}
	if pol.docVary != nil {
		h["Vary"] = pol.docVary
	}
	h["X-Pypi-Last-Serial"] = []string{strconv.FormatInt(p.LastSerial, 10)}
	writeDoc(w, r, p.API, hdrJSONAPI, pol.jsonAPI)
}

// Header values of the JSON API.
var (
	hdrJSONAPI   = []string{"application/json"}
	hdrAnyOrigin = []string{"*"}
)

func jsonError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
