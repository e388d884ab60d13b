package web

import (
	"net/http"
	"strconv"
	"strings"

	"cheeseshop/internal/index"
)

// Content codings of the answers prepared in several (RFC 9110 §8.4).
const (
	codingIdentity = "identity"
	codingGzip     = "gzip"
	codingZstd     = "zstd"
)

var (
	hdrGzip = []string{codingGzip}
	hdrZstd = []string{codingZstd}
)

// pickCoding chooses the content coding of an answer from the request's
// Accept-Encoding (RFC 9110 §12.5.3) among those offered: the highest
// q-value, zstd before gzip before identity when equal. A coding not
// named takes the q of "*" if given; identity not named, and not
// refused by "*;q=0", is taken last of all (pip sends "gzip, deflate"
// and means it). With nothing acceptable it answers identity rather
// than 406, as PyPI does.
func pickCoding(header string, gzip, zstd bool) string {
	if header == "" {
		return codingIdentity
	}
	// q-values in thousandths; -1: not named.
	qGzip, qZstd, qIdentity, qAny := -1, -1, -1, -1
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		q := 1000
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				q = parseQ(strings.TrimSpace(v))
			}
		}
		switch name = strings.TrimSpace(name); {
		case strings.EqualFold(name, codingGzip), strings.EqualFold(name, "x-gzip"):
			qGzip = max(qGzip, q)
		case strings.EqualFold(name, codingZstd):
			qZstd = max(qZstd, q)
		case strings.EqualFold(name, codingIdentity):
			qIdentity = q
		case name == "*":
			qAny = q
		}
	}
	orAny := func(q int) int {
		if q < 0 {
			return max(qAny, 0)
		}
		return q
	}
	if qIdentity < 0 {
		// Acceptable unless "*;q=0" refuses it, and the least preferred.
		qIdentity = 0
		if qAny != 0 {
			qIdentity = 1
		}
	}
	// Each later candidate wins ties: identity, then gzip, then zstd.
	best, bestQ := codingIdentity, qIdentity
	if q := orAny(qGzip); gzip && q > 0 && q >= bestQ {
		best, bestQ = codingGzip, q
	}
	if q := orAny(qZstd); zstd && q > 0 && q >= bestQ {
		best = codingZstd
	}
	return best
}

// headerList returns the request header key (canonical) as the list it
// is (RFC 9110 §5.3): every line joined, as a cache that keys answers on
// Vary reads it, so that the variant chosen is the one such a cache
// files it under. The one line of nearly every request is returned
// without a copy.
func headerList(h http.Header, key string) string {
	switch v := h[key]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		return strings.Join(v, ", ")
	}
}

// parseQ parses a qvalue (RFC 9110 §12.4.2) in thousandths; a malformed
// one is 0 (not acceptable).
func parseQ(v string) int {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 0
	}
	return int(f*1000 + 0.5)
}

// writeEncoded writes a prepared document in the content coding the
// reader prefers among those prepared, with that coding's validator,
// answering 304 to a matching If-None-Match. The caller set Vary (with
// Accept-Encoding).
func writeEncoded(w http.ResponseWriter, r *http.Request, e *index.Encoded, contentType, cacheControl []string) {
	h := w.Header()
	p := e.Page
	switch pickCoding(headerList(r.Header, "Accept-Encoding"), e.Gzip.Prepared(), e.Zstd.Prepared()) {
	case codingZstd:
		p = e.Zstd
		h["Content-Encoding"] = hdrZstd
	case codingGzip:
		p = e.Gzip
		h["Content-Encoding"] = hdrGzip
	}
	writeDoc(w, r, p, contentType, cacheControl)
}
