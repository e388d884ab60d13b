package web

import (
	"net/http"
	"strconv"
)

// homeRecent is how many recently updated projects the home page lists.
const homeRecent = 10

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	recent, err := s.idx.RecentProjects(r.Context(), homeRecent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	listed, err := s.listings(r.Context(), recent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "home", "Python package index", map[string]any{"Recent": listed})
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
