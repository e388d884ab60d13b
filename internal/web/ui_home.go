package web

import (
	"net/http"
	"strconv"
)

// homeRecent is how many recently updated projects the home page lists.
const homeRecent = 10

func (p *public) home(w http.ResponseWriter, r *http.Request) {
	recent, err := p.s.idx.RecentProjects(r.Context(), homeRecent)
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	listed, err := p.listings(r.Context(), recent)
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	p.s.render(w, r, http.StatusOK, "home", "Python package index", map[string]any{"Recent": listed})
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return itoa(n>>30) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
