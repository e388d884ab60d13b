package web

import (
	"net/http"
	"strings"
)

// maxRanges is the most ranges a Range header may ask for. A client
// reads one range (uv and pip: a wheel's zip directory, a resumed
// download), or a few; http.ServeContent refuses ranges that add up to
// more than the content, but not many small or overlapping ones, and
// builds one multipart part per range: 16,000 one-byte ranges fit in a
// 64 KiB header and cost 0.2 s of CPU to answer. RFC 9110 §14.2 lets a
// server ignore such a header.
const maxRanges = 16

// limitRanges returns r, or a copy of r without its Range header when
// that asks for more than maxRanges ranges, so that the answer is the
// whole content. It costs nothing to a request without Range.
func limitRanges(r *http.Request) *http.Request {
	// http.ServeContent reads the first Range field only, as Get does.
	if v := r.Header["Range"]; v == nil || strings.Count(v[0], ",") < maxRanges {
		return r
	}
	r = r.Clone(r.Context())
	delete(r.Header, "Range")
	return r
}

// contentWriter is the ResponseWriter given to http.ServeContent: it
// records the status and whether the body was written whole
// (statusWriter), and makes an error answer (a 412 of a failed
// precondition, a 416) "no-store". ServeContent keeps the Cache-Control
// of the content on a 412 (a file's is public for a year), so that a
// shared cache could keep the 412 of one client's If-Match under the
// content's URL and answer it to everybody (a cache-poisoned denial of
// service).
type contentWriter struct {
	statusWriter
}

func (w *contentWriter) WriteHeader(code int) {
	if code >= http.StatusBadRequest {
		w.Header()["Cache-Control"] = hdrNoStore
	}
	w.statusWriter.WriteHeader(code)
}

// newContentWriter returns a contentWriter of w.
func newContentWriter(w http.ResponseWriter) *contentWriter {
	return &contentWriter{statusWriter{ResponseWriter: w}}
}
