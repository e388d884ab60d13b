package web_test

// Benchmarks of the public web pages, through the real handler, at the
// index sizes of bench_test.go:
//
//	go test -run='^$' -bench='UI$' -benchmem ./internal/web/

import (
	"net/http"
	"testing"
)

func BenchmarkProjectPageUI(b *testing.B) {
	path := "/project/" + benchProjectName + "/"
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		b.Run("latest", func(b *testing.B) { benchGet(b, ix.srv, path) })
		b.Run("release", func(b *testing.B) { benchGet(b, ix.srv, path+"1.5.0/") })
		// A cache miss on every request: the project is read from the
		// database first (the description stays rendered: it is kept by
		// release).
		b.Run("uncached", func(b *testing.B) {
			cache := ix.svc.Cache()
			benchGet(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cache.Invalidate(benchProjectName, false)
				ix.srv.ServeHTTP(w, r)
			}), path)
		})
	})
}

func BenchmarkSearchUI(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		// Every filler matches: the first page stops after 20 rows.
		b.Run("many-matches", func(b *testing.B) { benchGet(b, ix.srv, "/search/?q=bench") })
		b.Run("exact", func(b *testing.B) { benchGet(b, ix.srv, "/search/?q="+benchProjectName) })
		// Nothing matches: the first 10,000 names (SQLite) then the
		// trigram index are read, not every name.
		b.Run("no-match", func(b *testing.B) { benchGet(b, ix.srv, "/search/?q=zzzz") })
		b.Run("page-50", func(b *testing.B) { benchGet(b, ix.srv, "/search/?q=filler&page=50") })
	})
}

func BenchmarkHomeUI(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) { benchGet(b, ix.srv, "/") })
}
