package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRedirectToKeepsEachQuery checks that a redirect keeps the query of
// its own request only: an earlier request's query must not stick to the
// target.
func TestRedirectToKeepsEachQuery(t *testing.T) {
	h := redirectTo("/search/")
	for _, tc := range []struct{ url, want string }{
		{"/search?q=one", "/search/?q=one"},
		{"/search?q=two", "/search/?q=two"},
		{"/search", "/search/"},
	} {
		w := httptest.NewRecorder()
		h(w, httptest.NewRequest(http.MethodGet, tc.url, nil))
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != tc.want {
			t.Errorf("GET %s: %d to %q, want 301 to %q", tc.url, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
}
