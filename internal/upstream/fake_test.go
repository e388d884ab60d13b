package upstream_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeFile is a file of a fakeIndex.
type fakeFile struct {
	name     string
	body     []byte
	uploaded time.Time // zero: no upload-time
	meta     []byte    // nil: no core metadata
	// listedSHA, when set, is the digest the page lists instead of the
	// body's (an upstream sending other bytes than it lists).
	listedSHA string
}

func (f fakeFile) sha() string {
	if f.listedSHA != "" {
		return f.listedSHA
	}
	return sum(f.body)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeIndex is an httptest upstream index serving PEP 691 JSON (or PEP
// 503 HTML) pages with ETags and the files they list, counting the
// requests per path.
type fakeIndex struct {
	*httptest.Server
	mu       sync.Mutex
	projects map[string][]fakeFile
	html     bool
	down     bool
	gets     map[string]int
	// hold, when set, is waited for before a page or file is answered,
	// after the path is sent on entered (when set).
	hold    chan struct{}
	entered chan string
}

func newFakeIndex(t testing.TB) *fakeIndex {
	t.Helper()
	f := &fakeIndex{projects: map[string][]fakeFile{}, gets: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeIndex) root() string { return f.URL + "/simple/" }

func (f *fakeIndex) set(project string, files ...fakeFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.projects[project] = files
}

func (f *fakeIndex) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// count returns the GETs of a path ("/simple/x/", "/files/x.whl").
func (f *fakeIndex) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[path]
}

func (f *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets[r.URL.Path]++
	down, hold, entered, asHTML := f.down, f.hold, f.entered, f.html
	f.mu.Unlock()
	if entered != nil {
		entered <- r.URL.Path
	}
	if hold != nil {
		<-hold
	}
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/simple/"); ok {
		f.mu.Lock()
		files, found := f.projects[strings.TrimSuffix(name, "/")]
		f.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		body, ctype := f.page(strings.TrimSuffix(name, "/"), files, asHTML)
		etag := `"` + sum(body)[:16] + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, files := range f.projects {
			for _, file := range files {
				switch name {
				case file.name:
					w.Write(file.body)
					return
				case file.name + ".metadata":
					if file.meta != nil {
						w.Write(file.meta)
						return
					}
				}
			}
		}
	}
	http.NotFound(w, r)
}

func (f *fakeIndex) page(name string, files []fakeFile, asHTML bool) ([]byte, string) {
	if asHTML {
		var b strings.Builder
		fmt.Fprintf(&b, "<!DOCTYPE html><html><body><h1>Links for %s</h1>\n", name)
		for _, file := range files {
			fmt.Fprintf(&b, `<a href="../../files/%s#sha256=%s">%s</a><br>`+"\n", file.name, file.sha(), html.EscapeString(file.name))
		}
		b.WriteString("</body></html>")
		return []byte(b.String()), "text/html"
	}
	type jsonFile struct {
		Filename     string            `json:"filename"`
		URL          string            `json:"url"`
		Hashes       map[string]string `json:"hashes"`
		Size         int64             `json:"size"`
		UploadTime   string            `json:"upload-time,omitempty"`
		CoreMetadata any               `json:"core-metadata"`
	}
	doc := map[string]any{"meta": map[string]string{"api-version": "1.4"}, "name": name}
	list := []jsonFile{}
	for _, file := range files {
		jf := jsonFile{Filename: file.name, URL: f.URL + "/files/" + file.name,
			Hashes: map[string]string{"sha256": file.sha()}, Size: int64(len(file.body)), CoreMetadata: false}
		if !file.uploaded.IsZero() {
			jf.UploadTime = file.uploaded.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		if file.meta != nil {
			jf.CoreMetadata = map[string]string{"sha256": sum(file.meta)}
		}
		list = append(list, jf)
	}
	doc["files"] = list
	b, _ := json.Marshal(doc)
	return b, "application/vnd.pypi.simple.v1+json"
}
