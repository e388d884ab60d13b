package web

import (
	"net/http"
	"strconv"
	"time"
)

// Security headers set on every response, before any handler runs, so
// that no page can lack them: simple API pages, errors, redirects, 404s and
// 405s of the mux included. UI pages (s.ui) replace the policy with theirs.
// The shared slices are only read by net/http (see hdrContentType).
var (
	// hdrBaseCSP allows nothing: the simple API's HTML is links only, and
	// pip ignores the header anyway.
	hdrBaseCSP        = []string{"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}
	hdrFrameOptions   = []string{"DENY"}
	hdrNosniff        = []string{"nosniff"}
	hdrReferrerPolicy = []string{"same-origin"}
)

// securityHeaders sets the baseline headers of every response, and
// Strict-Transport-Security when the base URL is https.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	var hsts []string
	if s.secure() && s.opts.HSTSMaxAge > 0 {
		hsts = []string{"max-age=" + strconv.FormatInt(int64(s.opts.HSTSMaxAge/time.Second), 10) + "; includeSubDomains"}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Security-Policy"] = hdrBaseCSP
		h["X-Frame-Options"] = hdrFrameOptions
		h["X-Content-Type-Options"] = hdrNosniff
		h["Referrer-Policy"] = hdrReferrerPolicy
		if hsts != nil {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}
