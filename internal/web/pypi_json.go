package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

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
	page, err := a.idx.Cache().Project(r.Context(), norm)
	if err == nil && !a.idx.CanRead(a.s.reader(r), page.View.Project) {
		err = store.ErrNotFound // the same answer as a project that does not exist
	}
	if errors.Is(err, store.ErrNotFound) {
		w.Header()["Cache-Control"] = hdrNoStore
		jsonError(w, http.StatusNotFound, "Not Found: no project named '"+norm+"' on this index.")
		return
	}
	if err != nil {
		a.s.serverError(w, r, err)
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
	pol := a.s.readPolicy(page.View.Project)
	if pol.anyOrigin {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	}
	if pol.docVary != nil {
		h["Vary"] = pol.docVary
	}
	h["X-Pypi-Last-Serial"] = []string{strconv.FormatInt(page.View.Project.LastSerial, 10)}
	writeDoc(w, r, body, hdrJSONAPI, pol.jsonAPI)
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
