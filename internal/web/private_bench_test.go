package web_test

import (
	"net/http"
	"testing"

	"cheeseshop/internal/app"
	"cheeseshop/internal/index"
)

// BenchmarkSimpleAuthenticated measures what deciding who reads costs a
// pip GET of a project page: anonymous on a public index (the baseline),
// a token's reader from the in-memory cache on a private one (the Basic
// header parsed, the token hashed, the cache looked up, the decision),
// and the same token sent to a public index (resolved too: a wrong token
// is refused in both modes).
func BenchmarkSimpleAuthenticated(b *testing.B) {
	path := "/simple/" + benchProjectName + "/"
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		private := ix.app(b, app.Config{ReadAccess: index.ReadAuthenticated})
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth("__token__", ix.token)
		auth := req.Header.Get("Authorization")
		b.Run("public/anonymous", func(b *testing.B) { benchGet(b, ix.srv, path, "Accept", benchMediaJSON) })
		b.Run("public/token", func(b *testing.B) {
			benchGet(b, ix.srv, path, "Accept", benchMediaJSON, "Authorization", auth)
		})
		b.Run("authenticated/token", func(b *testing.B) {
			benchGet(b, private.Server, path, "Accept", benchMediaJSON, "Authorization", auth)
		})
		b.Run("authenticated/anonymous-401", func(b *testing.B) {
			benchGetStatus(b, private.Server, http.StatusUnauthorized, path, "Accept", benchMediaJSON)
		})
	})
}
