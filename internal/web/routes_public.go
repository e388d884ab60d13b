package web

import (
	"cheeseshop/internal/readme"
)

// publicRoutes registers the public pages: projects, releases, users and
// search.
func (s *Server) publicRoutes(mux *routeMux) {
	p := &public{s: s, readmes: readme.NewRenderer(s.idx.Descriptions(), 0, 0),
		searches: make(chan struct{}, searchConcurrency)}
	mux.Handle("GET /project/{project}/{$}", s.ui(p.project))
	mux.Handle("GET /project/{project}/{version}/{$}", s.ui(p.project))
	mux.Handle("GET /project/{project}", s.ui(addSlash))
	mux.Handle("GET /project/{project}/{version}", s.ui(addSlash))
	mux.Handle("GET /user/{username}/{$}", s.ui(p.user))
	mux.Handle("GET /user/{username}", s.ui(addSlash))
	mux.Handle("GET /search/{$}", s.ui(p.search))
	mux.HandleFunc("GET /search", redirectTo("/search/"))
}
