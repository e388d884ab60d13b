package web

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// Content-Type header values of the files served, shared by every
// response (only read by net/http).
var (
	hdrTypeMetadata = []string{"text/plain; charset=utf-8"}
	hdrTypeZip      = []string{"application/zip"}
	hdrTypeGzip     = []string{"application/gzip"}
	hdrTypeOctets   = []string{"application/octet-stream"}
)

// contentType of a distribution file by its name, as a header value.
func contentType(filename string) []string {
	switch {
	case hasSuffixFold(filename, ".metadata"):
		return hdrTypeMetadata
	case hasSuffixFold(filename, ".whl"), hasSuffixFold(filename, ".zip"):
		return hdrTypeZip
	case hasSuffixFold(filename, ".tar.gz"):
		return hdrTypeGzip
	}
	return hdrTypeOctets
}

// hasSuffixFold is strings.HasSuffix ignoring ASCII case, without
// lowering a copy of s.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// file serves a distribution file, or its core metadata (PEP 658) when
// the name ends in .metadata: a local file, or a proxied project's
// (fetched, verified and stored by the proxy on first use), served alike
// from the blob store. Files never change, so they are cached for a year
// and their ETag is their digest; range requests are honoured. With a
// Presigner (--storage-redirect), it redirects to the blob store
// instead.
func (a *pypiAPI) file(w http.ResponseWriter, r *http.Request) {
	a.serveFile(w, r, r.PathValue("sha256"), r.PathValue("filename"))
}

// serveFile is file, of the path values sha and name (hotRoutes passes
// them).
func (a *pypiAPI) serveFile(w http.ResponseWriter, r *http.Request, sha, name string) {
	kind := "distribution"
	distName := name
	if strings.HasSuffix(name, ".metadata") {
		kind = "metadata"
		distName = strings.TrimSuffix(name, ".metadata")
	}
	notFound := func() {
		a.s.metrics.files.WithLabelValues(kind, "404").Inc()
		w.Header()["Cache-Control"] = hdrNoStore
		http.Error(w, "Not Found: no such file on this index.", http.StatusNotFound)
	}
	// A file of a project the reader may not read is not found either.
	f, proxied, err := a.idx.ResolveFile(r.Context(), a.s.reader(r), sha, distName, kind == "metadata")
	if errors.Is(err, store.ErrNotFound) {
		notFound()
		return
	}
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	// The blob served, when it was written, the download it makes, and
	// how it may be cached.
	var sf servedFile
	if proxied != nil {
		sf = servedFile{key: proxied.Key, modTime: proxied.ModTime, filename: proxied.Filename,
			download: downloads.Download{UpstreamProjectID: proxied.UpstreamProjectID}, policy: a.s.proxiedPolicy()}
	} else {
		sf = servedFile{key: f.SHA256, modTime: f.UploadTime, filename: f.Filename, download: downloads.Download{ProjectID: f.ProjectID},
			policy: a.s.readPolicy(f.Project())}
		if kind == "metadata" {
			sf.key = f.MetadataSHA256
		}
	}
	if proxied != nil && proxied.Stream != nil {
		a.stream(w, r, sf, proxied, kind, name)
		return
	}
	if a.s.opts.Presigner != nil {
		a.redirect(w, r, sf, kind, name)
		return
	}
	// A small file's bytes are sent from memory (fileBodies); any other
	// is opened in the blob store.
	hb, held := a.s.bodies.get(sf.key)
	var obj blob.Object
	if !held {
		obj, err = a.idx.Blobs().Open(r.Context(), sf.key)
		if errors.Is(err, blob.ErrNotFound) {
			a.s.log.ErrorContext(r.Context(), "file row without blob", "filename", sf.filename, "blob", sf.key)
			notFound()
			return
		}
		if err != nil {
			a.s.serverError(w, r, err)
			return
		}
		defer obj.Close()
		if hb, held, err = a.s.bodies.load(sf.key, obj); err != nil {
			a.s.serverError(w, r, err)
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = contentType(name)
	if held {
		h["Etag"] = hb.etag
	} else {
		h["Etag"] = etag(sf.key)
	}
	h["Cache-Control"] = sf.policy.file
	if sf.policy.docVary != nil {
		h["Vary"] = sf.policy.docVary
	}
	a.s.metrics.fileServed(kind).Inc()
	counted := a.s.opts.CountDownload != nil && kind == "distribution" && r.Method == http.MethodGet
	if plainRequest(r) {
		// Nearly every download: answered as http.ServeContent would,
		// with the header values built once per held file.
		if sendPlain(w, r, sf, hb, obj) && counted {
			a.count(r, sf.download)
		}
		return
	}
	var content io.ReadSeeker
	if held {
		content = bytes.NewReader(hb.body)
	} else {
		content = osFile(obj)
	}
	cw := newContentWriter(w)
	http.ServeContent(cw, limitRanges(r), "", sf.modTime, content)
	// Count the download once it is complete: 200 (not 304, not a 206
	// range, not an error) and the whole body written. The counter's
	// policy limits the downloads counted per client address and drops
	// bots by their user agent.
	if counted && cw.status == http.StatusOK && !cw.failed {
		a.count(r, sf.download)
	}
}

// osFile returns the *os.File of a blob when there is one, for net/http
// to send it with sendfile(2) instead of copying it through user space;
// else the blob itself.
func osFile(obj blob.Object) io.ReadSeeker {
	if of, ok := obj.(interface{ OSFile() *os.File }); ok {
		return of.OSFile()
	}
	return obj
}

// plainRequest reports whether r is a GET or HEAD without a Range or a
// conditional header: the request of nearly every download, whose answer
// (200, the whole file) needs none of http.ServeContent's checks.
func plainRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	h := r.Header
	return h["Range"] == nil && h["If-None-Match"] == nil && h["If-Modified-Since"] == nil &&
		h["If-Match"] == nil && h["If-Unmodified-Since"] == nil
}

// hdrAcceptRanges is the Accept-Ranges header of every file sent.
var hdrAcceptRanges = []string{"bytes"}

// sendPlain answers a plainRequest for a file with the headers and body
// http.ServeContent would send (Last-Modified, Accept-Ranges,
// Content-Length, 200, the whole body unless HEAD): from memory when
// held (hb, its header values built once), else from obj (with
// sendfile(2) from a local folder). It reports whether the whole body was
// written.
func sendPlain(w http.ResponseWriter, r *http.Request, sf servedFile, hb *heldBody, obj blob.Object) bool {
	h := w.Header()
	h["Accept-Ranges"] = hdrAcceptRanges
	if hb != nil {
		if !isZeroTime(sf.modTime) {
			h["Last-Modified"] = hb.lastModified(sf.modTime)
		}
		h["Content-Length"] = hb.length
	} else {
		if !isZeroTime(sf.modTime) {
			h["Last-Modified"] = []string{sf.modTime.UTC().Format(http.TimeFormat)}
		}
		h["Content-Length"] = []string{strconv.FormatInt(obj.Size(), 10)}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return true
	}
	if hb != nil {
		_, err := w.Write(hb.body)
		return err == nil
	}
	// Through an io.LimitedReader, as http.ServeContent sends it: net/http
	// sends an *os.File (or a LimitedReader of one) with sendfile(2),
	// whereas io.Copy of the bare file would go through the file's
	// WriteTo, which copies through user space to anything but a socket.
	n, err := io.CopyN(w, osFile(obj), obj.Size())
	return err == nil && n == obj.Size()
}

// isZeroTime reports whether t is the zero time or the Unix epoch, which
// http.ServeContent takes for "no modification time" (no Last-Modified).
func isZeroTime(t time.Time) bool { return t.IsZero() || t.Equal(time.Unix(0, 0)) }

// stream sends a proxied file while the proxy fetches it for the first
// time (index.ProxiedFile.Stream): 200 with the listed length, whatever
// Range asked (the file is not all here yet), the bytes as they are
// verified. If the upstream's bytes turn out wrong the connection is cut
// (http.ErrAbortHandler), so the client holds a short body, never a
// complete unverified file. A complete GET counts as a download.
func (a *pypiAPI) stream(w http.ResponseWriter, r *http.Request, sf servedFile, pf *index.ProxiedFile, kind, name string) {
	defer pf.Stream.Close()
	h := w.Header()
	h["Content-Type"] = contentType(name)
	h.Set("Content-Length", strconv.FormatInt(pf.Size, 10))
	h["Etag"] = etag(sf.key)
	h["Cache-Control"] = sf.policy.file
	if sf.policy.docVary != nil {
		h["Vary"] = sf.policy.docVary
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h["X-Cheeseshop-Upstream"] = hdrUpstreamFetching
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	n, err := io.Copy(w, pf.Stream)
	if err != nil || n != pf.Size {
		a.s.metrics.files.WithLabelValues(kind, "aborted").Inc()
		a.s.log.WarnContext(r.Context(), "streamed upstream file cut short", "file", sf.filename, "sent", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	a.s.metrics.files.WithLabelValues(kind, "2xx").Inc()
	if a.s.opts.CountDownload != nil && kind == "distribution" {
		a.count(r, sf.download)
	}
}

// hdrUpstreamFetching is X-Cheeseshop-Upstream of a file streamed while
// the proxy fetches it.
var hdrUpstreamFetching = []string{"fetching"}

// servedFile is what file serves: the blob, its time, the file's name
// (for the log), the download it counts and its caching headers, of a
// local project or a proxied one.
type servedFile struct {
	key      string
	modTime  time.Time
	filename string
	download downloads.Download
	policy   *cachePolicy
}

// count counts a download d (its project set) by the request's client.
func (a *pypiAPI) count(r *http.Request, d downloads.Download) {
	d.At, d.Addr, d.UserAgent = time.Now(), clientHost(r.RemoteAddr), r.UserAgent()
	a.s.opts.CountDownload(d)
}

// redirect answers a download with a redirect to a short-lived URL of the
// blob store (--storage-redirect), which then sends the bytes: 302 with
// the URL, cacheable by the client alone for half its lifetime, so that a
// cached redirect never leads to an expired URL. The row checks are done
// (the caller found the file published); the blob's existence is not
// checked, to spare the store a request: a missing blob is the store's
// 404. A GET of a distribution file without a Range header counts as a
// download here, since its bytes never pass through this server: it
// counts the intent to download, not a completed transfer.
func (a *pypiAPI) redirect(w http.ResponseWriter, r *http.Request, sf servedFile, kind, name string) {
	ttl := a.s.opts.RedirectTTL
	u, err := a.s.opts.Presigner.PresignGet(r.Context(), sf.key, name, contentType(name)[0], ttl)
	if err != nil {
		a.s.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Location", u.String())
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(ttl/2/time.Second)))
	if sf.policy.docVary != nil {
		h["Vary"] = sf.policy.docVary
	}
	w.WriteHeader(http.StatusFound)
	a.s.metrics.files.WithLabelValues(kind, "3xx").Inc()
	if a.s.opts.CountDownload != nil && kind == "distribution" && r.Method == http.MethodGet && r.Header.Get("Range") == "" {
		a.count(r, sf.download)
	}
}

// clientHost returns the host of a request's RemoteAddr ("host:port"),
// without allocating: the address the connection came from. Behind a
// reverse proxy that is the proxy's, which is why the documentation says
// to import the proxy's log instead of counting (docs/DOWNLOADS.md).
func clientHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
