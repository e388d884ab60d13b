package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/upstream"
)

// memUpstream is an index.Upstream holding prepared pages and files in
// memory; it records the names it is asked for.
type memUpstream struct {
	mu          sync.Mutex
	pages       map[string]*index.ProxiedPage
	files       map[string]*index.ProxiedFile // by filename
	fileErrs    map[string]error              // by filename
	down        map[string]bool               // names whose upstream does not answer
	asked       []string
	quarantined map[string]string
}

func newMemUpstream() *memUpstream {
	return &memUpstream{pages: map[string]*index.ProxiedPage{}, files: map[string]*index.ProxiedFile{},
		fileErrs: map[string]error{}, down: map[string]bool{}, quarantined: map[string]string{}}
}

// page adds a proxied project whose pages say body.
func (u *memUpstream) page(name string, id int64, stale bool) *index.ProxiedPage {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := &index.ProxiedPage{UpstreamProjectID: id, Name: name, Upstream: "https://upstream.test/simple/", LastSerial: 7, Stale: stale,
		HTML: pageOf("<!DOCTYPE html><html><body><a>" + name + " html</a></body></html>"),
		JSON: pageOf(`{"name": "` + name + `"}`), API: pageOf(`{"info": {"name": "` + name + `"}}`)}
	u.pages[name] = p
	return p
}

func pageOf(s string) index.Page {
	return index.Page{Body: []byte(s), ETag: `"` + base64.RawURLEncoding.EncodeToString([]byte(s))[:16] + `"`}
}

func (u *memUpstream) Project(_ context.Context, normalized string) (*index.ProxiedPage, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, normalized)
	if u.down[normalized] {
		return nil, &problem.Error{Kind: problem.Unavailable, RetryAfter: 30 * time.Second,
			Message: "The upstream index is not answering and this project is not cached yet."}
	}
	if p := u.pages[normalized]; p != nil {
		return p, nil
	}
	return nil, store.ErrNotFound
}

func (u *memUpstream) File(_ context.Context, sha256, filename string, metadata bool) (*index.ProxiedFile, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.fileErrs[filename]; err != nil {
		return nil, err
	}
	if f := u.files[filename]; f != nil && f.Key == sha256 && !metadata {
		return f, nil
	}
	return nil, store.ErrNotFound
}

func (u *memUpstream) Name(context.Context, string) (index.UpstreamName, error) {
	return index.UpstreamName{}, nil
}

func (u *memUpstream) Quarantine(_ context.Context, _ *store.User, _ audit.Meta, normalized, reason string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.quarantined[normalized] = reason
	return nil
}

func (u *memUpstream) Release(_ context.Context, _ *store.User, _ audit.Meta, normalized string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.quarantined, normalized)
	return nil
}

func (u *memUpstream) Invalidate(string) {}

// takeAsked returns the names asked since the last call.
func (u *memUpstream) takeAsked() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	a := u.asked
	u.asked = nil
	return a
}

// TestUpstreamReads serves proxied projects through the PyPI routes: the
// simple pages, the JSON API and the files, with their headers; the
// upstream's failures (503 with Retry-After, a stale page, a file whose
// digest differs: 502); a proxied download counted as such; the
// quarantine of a proxied name from /admin/quarantine/; and a local
// project created after a proxied file was served shadows it at once.
func TestUpstreamReads(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		up := newMemUpstream()
		var counter *downloads.Counter
		counted := make(chan downloads.Download, 4)
		ts := newTestServerWith(t, d, serverConfig{Upstream: up, Options: func(o *Options) {
			o.CountDownload = func(dl downloads.Download) bool {
				ok := counter.Count(dl)
				counted <- dl
				return ok
			}
		}})
		counter = downloads.NewCounter(ts.st, discardLogger(), downloads.Policy{PerAddress: 10, Agents: downloads.Installers})

		// A proxied project whose file the proxy stored.
		fs, err := blob.NewFS(ts.files)
		storetest.Must(t, err)
		t.Cleanup(func() { fs.Close() })
		content := []byte("the proxied sdist")
		sha, err := blob.PutBytes(ctx, fs, content)
		storetest.Must(t, err)
		const filename = "proxied-1.0.tar.gz"
		id := storetest.AddProxiedFile(t, ts.st, "proxied", storetest.ProxiedFile{Filename: filename, SHA256: sha, Stored: true})
		page := up.page("proxied", id, false)
		up.files[filename] = &index.ProxiedFile{UpstreamProjectID: id, Project: "proxied", Filename: filename, Key: sha,
			Size: int64(len(content)), ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		up.page("old", id+1, true)
		up.down["down"] = true
		up.fileErrs["bad-1.0.tar.gz"] = problem.Wrap(errors.New("SHA-256 0000 where 1111 is listed"), problem.BadGateway,
			"The upstream index sent a file whose SHA-256 differs from the one it lists; it was not stored.")

		// The simple pages, in both formats, shareable, and 304.
		resp, body := ts.get("/simple/proxied/")
		wantStatus(t, "proxied page", resp, string(body), http.StatusOK, "proxied html")
		wantHeaders(t, "proxied page", resp, map[string]string{"X-Cheeseshop-Upstream": "fresh", "Cache-Control": "max-age=600, public",
			"X-Pypi-Last-Serial": "7", "Etag": page.HTML.ETag})
		resp, body = ts.get("/simple/proxied/", "Accept", mediaJSON)
		wantStatus(t, "proxied JSON page", resp, string(body), http.StatusOK, `"name": "proxied"`)
		if resp, _ := ts.get("/simple/proxied/", "If-None-Match", page.HTML.ETag); resp.StatusCode != http.StatusNotModified {
			t.Errorf("proxied page with its ETag: %d, want 304", resp.StatusCode)
		}
		resp, body = ts.get("/simple/old/")
		wantStatus(t, "stale page", resp, string(body), http.StatusOK, "old html")
		wantHeaders(t, "stale page", resp, map[string]string{"X-Cheeseshop-Upstream": "stale"})
		resp, body = ts.get("/simple/down/")
		wantStatus(t, "upstream down", resp, string(body), http.StatusServiceUnavailable, "not answering")
		wantHeaders(t, "upstream down", resp, map[string]string{"Retry-After": "30"})
		resp, body = ts.get("/simple/nowhere/")
		wantStatus(t, "not on the upstream", resp, string(body), http.StatusNotFound)
		wantHeaders(t, "not on the upstream", resp, map[string]string{"Cache-Control": "no-store"})

		// The JSON API: the project's document alone.
		resp, body = ts.get("/pypi/proxied/json")
		wantStatus(t, "proxied JSON API", resp, string(body), http.StatusOK, `"info": {"name": "proxied"}`)
		wantHeaders(t, "proxied JSON API", resp, map[string]string{"X-Cheeseshop-Upstream": "fresh", "Cache-Control": "max-age=900, public",
			"Access-Control-Allow-Origin": "*", "Content-Type": "application/json"})
		resp, body = ts.get("/pypi/proxied/1.0/json")
		wantStatus(t, "proxied release JSON", resp, string(body), http.StatusNotFound, "only the project document")

		// The file, from the blob store, counted as a proxied download.
		resp, body = ts.get("/files/"+sha+"/"+filename, "User-Agent", "pip/24.0")
		wantStatus(t, "proxied file", resp, "", http.StatusOK)
		if string(body) != string(content) {
			t.Errorf("proxied file body %q", body)
		}
		wantHeaders(t, "proxied file", resp, map[string]string{"Etag": `"` + sha + `"`, "Cache-Control": "public, max-age=31536000, immutable",
			"Last-Modified": "Fri, 02 Jan 2026 03:04:05 GMT"})
		select {
		case dl := <-counted:
			if dl.UpstreamProjectID != id || dl.ProjectID != 0 {
				t.Errorf("download %+v, want of upstream project %d", dl, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the proxied download was not counted")
		}
		storetest.Must(t, counter.Flush(ctx))
		today := store.DayOf(time.Now())
		if n, err := ts.st.UpstreamProjectDownloads(ctx, id, today-1, today+1); err != nil || n != 1 {
			t.Errorf("upstream downloads %d, %v; want 1", n, err)
		}
		if resp, _ := ts.get("/files/" + strings.Repeat("0", 64) + "/" + filename); resp.StatusCode != http.StatusNotFound {
			t.Errorf("proxied file under another digest: %d", resp.StatusCode)
		}
		resp, body = ts.get("/files/" + sha + "/bad-1.0.tar.gz")
		wantStatus(t, "a file whose digest differs", resp, string(body), http.StatusBadGateway, "SHA-256 differs")

		// The quarantine of a proxied name, from the administrators' page.
		root := adminWithPassword(t, ts, "root")
		admin := signIn(t, ts, root, time.Now())
		enrol(t, ts, root, time.Now())
		getOK(t, admin, "/admin/quarantine/")
		resp, text := admin.post("/admin/quarantine/", url.Values{"project": {"Proxied"}, "reason": {"malware upstream"}})
		wantStatus(t, "quarantine a proxied name", resp, text, http.StatusSeeOther)
		resp, text = admin.post("/admin/quarantine/never-fetched/release", nil)
		wantStatus(t, "release a proxied name", resp, text, http.StatusSeeOther)
		up.mu.Lock()
		if len(up.quarantined) != 1 || up.quarantined["proxied"] != "malware upstream" {
			t.Errorf("the upstream's quarantined names: %v", up.quarantined)
		}
		up.mu.Unlock()

		// A local project of that name shadows the proxied one at once:
		// its page and its file.
		up.takeAsked()
		_, token := ts.user("owner")
		ts.uploadDist(token, disttest.Dist{Name: "proxied", Version: "2.0"}, true)
		resp, body = ts.get("/simple/proxied/")
		wantStatus(t, "shadowed page", resp, string(body), http.StatusOK, "proxied-2.0.tar.gz")
		if resp.Header.Get("X-Cheeseshop-Upstream") != "" {
			t.Error("a local page says it is proxied")
		}
		if resp, _ := ts.get("/files/" + sha + "/" + filename); resp.StatusCode != http.StatusNotFound {
			t.Errorf("proxied file of a project now local: %d, want 404", resp.StatusCode)
		}
		if asked := up.takeAsked(); len(asked) != 0 {
			t.Errorf("the upstream was asked %q for a local name", asked)
		}
	})
}

// TestUpstreamPrivateReads: on an index read with tokens, a proxied
// project is read by every reader allowed to read, a scoped token too,
// with the caching headers of a reader's own answers.
func TestUpstreamPrivateReads(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		up := newMemUpstream()
		ts := newTestServerWith(t, d, serverConfig{Upstream: up, ReadAccess: index.ReadAuthenticated})
		up.page("proxied", 1, false)
		u, token := ts.user("owner")
		ts.uploadDist(token, disttest.Dist{Name: "mine", Version: "1.0"}, true)
		scoped := ts.token(u, "mine")
		if resp, _ := ts.get("/simple/proxied/"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous read of a proxied page: %d, want 401", resp.StatusCode)
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("__token__:"+scoped))
		resp, body := ts.get("/simple/proxied/", "Authorization", auth)
		wantStatus(t, "scoped token", resp, string(body), http.StatusOK, "proxied html")
		wantHeaders(t, "scoped token", resp, map[string]string{"Cache-Control": "private, max-age=600"})
	})
}

// wantHeaders checks some headers of a response.
func wantHeaders(t *testing.T, what string, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %s: %q, want %q", what, k, got, v)
		}
	}
}

// TestUpstreamRealProxy reads through the proxy the server builds from
// --upstream (internal/upstream), in front of an httptest upstream
// serving PEP 691 JSON: the page, then the file, fetched once, verified
// and stored, then served from the blob store; a local project of the
// name created afterwards shadows both at once, and the upstream is not
// asked for that name again.
func TestUpstreamRealProxy(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		content := []byte("the upstream's sdist of realproj")
		sum := sha256.Sum256(content)
		sha := hex.EncodeToString(sum[:])
		const filename = "realproj-1.0.tar.gz"
		var mu sync.Mutex
		gets := map[string]int{}
		var upURL string
		upstreamIndex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			gets[r.URL.Path]++
			mu.Unlock()
			switch r.URL.Path {
			case "/simple/realproj/":
				w.Header().Set("Content-Type", mediaJSON)
				fmt.Fprintf(w, `{"meta": {"api-version": "1.1"}, "name": "realproj", "files": [{"filename": %q, "url": %q,
					"hashes": {"sha256": %q}, "size": %d, "upload-time": "2026-01-02T03:04:05Z"}]}`,
					filename, upURL+"/packages/"+filename, sha, len(content))
			case "/packages/" + filename:
				w.Write(content)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(upstreamIndex.Close)
		upURL = upstreamIndex.URL
		count := func(path string) int {
			mu.Lock()
			defer mu.Unlock()
			return gets[path]
		}
		ts := newTestServerWith(t, d, serverConfig{Upstreams: []string{upURL + "/simple/"}})

		resp, body := ts.get("/simple/realproj/", "Accept", mediaJSON)
		fileURL := ts.URL + "/files/" + sha + "/" + filename
		wantStatus(t, "proxied page", resp, string(body), http.StatusOK, fileURL)
		wantHeaders(t, "proxied page", resp, map[string]string{"X-Cheeseshop-Upstream": "fresh"})
		for range 2 {
			resp, body = ts.get("/files/" + sha + "/" + filename)
			if resp.StatusCode != http.StatusOK || string(body) != string(content) {
				t.Fatalf("proxied file: %s %q", resp.Status, body)
			}
		}
		if n := count("/packages/" + filename); n != 1 {
			t.Errorf("the upstream served the file %d times, want once", n)
		}

		// A local upload of the upstream's name is held (--upstream-local-names
		// ask): until an administrator approves it, the upstream's project
		// is still served, and its file.
		_, token := ts.user("owner")
		ts.uploadDist(token, disttest.Dist{Name: "realproj", Version: "2.0"}, true)
		resp, body = ts.get("/simple/realproj/", "Accept", mediaJSON)
		wantStatus(t, "page of a held upstream name", resp, string(body), http.StatusOK, fileURL)
		if strings.Contains(string(body), "realproj-2.0.tar.gz") {
			t.Errorf("a held local upload shows on the proxied page: %s", body)
		}
		if resp, _ := ts.get("/files/" + sha + "/" + filename); resp.StatusCode != http.StatusOK {
			t.Errorf("proxied file while the local name is held: %d, want 200", resp.StatusCode)
		}
		admin, _ := ts.user("admin")
		admin.IsAdmin = true
		if _, err := ts.idx.ApproveName(context.Background(), admin, audit.Meta{}, "realproj"); err != nil {
			t.Fatal(err)
		}
		pages := count("/simple/realproj/")
		resp, body = ts.get("/simple/realproj/")
		wantStatus(t, "shadowed page", resp, string(body), http.StatusOK, "realproj-2.0.tar.gz")
		if resp, _ := ts.get("/files/" + sha + "/" + filename); resp.StatusCode != http.StatusNotFound {
			t.Errorf("proxied file of a project now local: %d, want 404", resp.StatusCode)
		}
		if n := count("/simple/realproj/"); n != pages {
			t.Errorf("the upstream was asked for a local name: %d page fetches, %d before", n, pages)
		}
	})
}

// TestUpstreamFileRedirect: with --storage-redirect, a proxied file the
// proxy stored is redirected to the store as a local one, and counted
// as a download of its proxied project.
func TestUpstreamFileRedirect(t *testing.T) {
	t.Parallel()
	up := newMemUpstream()
	var ps *presigningFS
	counted := make(chan downloads.Download, 1)
	s := newTestServerWith(t, store.SQLite, serverConfig{
		Upstream:        up,
		Blobs:           func(fs *blob.FS) blob.Store { ps = newPresigningFS(t, fs); return ps },
		StorageRedirect: 5 * time.Minute,
		Options: func(o *Options) {
			o.CountDownload = func(dl downloads.Download) bool { counted <- dl; return true }
		},
	})
	sha := strings.Repeat("ab", 32)
	const filename = "proxied-1.0-py3-none-any.whl"
	up.files[filename] = &index.ProxiedFile{UpstreamProjectID: 42, Project: "proxied", Filename: filename, Key: sha}
	up.page("proxied", 42, false)
	resp, body := s.get("/files/" + sha + "/" + filename)
	wantStatus(t, "redirect of a proxied file", resp, string(body), http.StatusFound)
	if calls := ps.takeCalls(); len(calls) != 1 || calls[0] != (presignCall{sha, filename, "application/zip", 5 * time.Minute}) {
		t.Errorf("presigned %+v", calls)
	}
	select {
	case dl := <-counted:
		if dl.UpstreamProjectID != 42 || dl.ProjectID != 0 {
			t.Errorf("download %+v, want of upstream project 42", dl)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the redirected proxied download was not counted")
	}
}

// TestUpstreamStreamedFirstFetch: a proxied file above the streaming
// size reaches the client while the upstream still sends it (pip would
// time out waiting for a whole large wheel): 200 with the listed length,
// the first half before the upstream sent the rest. When the upstream's
// bytes do not match the listed SHA-256, the answer is cut short, so the
// client never holds a complete unverified file, and nothing is stored.
func TestUpstreamStreamedFirstFetch(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		content := make([]byte, 2<<20)
		for i := range content {
			content[i] = byte(i * 7 / 3)
		}
		wrong := bytes.Clone(content)
		wrong[len(wrong)-1] ^= 1
		sum := sha256.Sum256(content)
		sha := hex.EncodeToString(sum[:])
		resume := make(chan struct{})
		var upURL string
		upstreamIndex := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/simple/bigproj/":
				w.Header().Set("Content-Type", mediaJSON)
				fmt.Fprintf(w, `{"meta": {"api-version": "1.1"}, "name": "bigproj", "files": [
					{"filename": "bigproj-1.0.tar.gz", "url": %q, "hashes": {"sha256": %q}, "size": %d, "upload-time": "2026-01-02T03:04:05Z"},
					{"filename": "bigproj-2.0.tar.gz", "url": %q, "hashes": {"sha256": %q}, "size": %d, "upload-time": "2026-01-02T03:04:05Z"}]}`,
					upURL+"/packages/bigproj-1.0.tar.gz", sha, len(content), upURL+"/packages/bigproj-2.0.tar.gz", sha[:63]+"0", len(content))
			case "/packages/bigproj-1.0.tar.gz":
				w.Header().Set("Content-Length", strconv.Itoa(len(content)))
				w.Write(content[:len(content)/2])
				w.(http.Flusher).Flush()
				<-resume
				w.Write(content[len(content)/2:])
			case "/packages/bigproj-2.0.tar.gz":
				w.Write(wrong)
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(upstreamIndex.Close)
		upURL = upstreamIndex.URL
		ts := newTestServerWith(t, d, serverConfig{Upstreams: []string{upURL + "/simple/"}, UpstreamStreamAbove: 1 << 20})
		if resp, body := ts.get("/simple/bigproj/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("page: %s %s", resp.Status, body)
		}

		resp, err := ts.client.Get(ts.URL + "/files/" + sha + "/bigproj-1.0.tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		wantHeaders(t, "streamed file", resp, map[string]string{"Content-Length": strconv.Itoa(len(content)),
			"X-Cheeseshop-Upstream": "fetching"})
		first := make([]byte, len(content)/2)
		if _, err := io.ReadFull(resp.Body, first); err != nil || !bytes.Equal(first, content[:len(first)]) {
			t.Fatalf("the first half before the upstream sent the rest: %v", err)
		}
		close(resume)
		rest, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(rest, content[len(first):]) {
			t.Fatalf("the rest: %d bytes, %v", len(rest), err)
		}
		// Stored: served from the blob store now.
		resp2, body := ts.get("/files/" + sha + "/bigproj-1.0.tar.gz")
		if resp2.StatusCode != http.StatusOK || resp2.Header.Get("X-Cheeseshop-Upstream") != "" || !bytes.Equal(body, content) {
			t.Fatalf("after the fetch: %s, %d bytes, %q", resp2.Status, len(body), resp2.Header.Get("X-Cheeseshop-Upstream"))
		}

		// The listed digest of 2.0 is not its bytes': the answer is cut.
		// When the server finds the mismatch before its headers left (the
		// upstream sends the whole file at once, and a loaded machine may
		// read it all before the first flush), the connection is closed
		// with nothing sent, or the answer is a 502: both keep every byte
		// from the client.
		resp, err = ts.client.Get(ts.URL + "/files/" + sha[:63] + "0/bigproj-2.0.tar.gz")
		if err != nil {
			return
		}
		if resp.StatusCode == http.StatusBadGateway {
			resp.Body.Close()
			return
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || len(got) >= len(wrong) {
			t.Fatalf("a mismatching stream was answered whole: %d bytes, %v", len(got), err)
		}
		if len(got) > len(wrong)-upstream.HoldBack {
			t.Errorf("%d bytes of a mismatching file reached the client: the tail was not held back", len(got))
		}
	})
}
