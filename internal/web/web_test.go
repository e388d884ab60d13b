package web

import (
	"archive/zip"
	"bytes"
	"cheeseshop/internal/audit"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		accept, query, want string
	}{
		{"", "", mediaLegacyHTML},
		{"*/*", "", mediaLegacyHTML},
		{"text/html", "", mediaLegacyHTML},
		{"application/vnd.pypi.simple.v1+json", "", mediaJSON},
		{"application/vnd.pypi.simple.latest+json", "", mediaJSON},
		// pip 23
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", "", mediaJSON},
		// uv
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", "", mediaJSON},
		{"application/vnd.pypi.simple.v1+html", "", mediaHTML},
		{"text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.4", "", mediaLegacyHTML},
		{"application/vnd.pypi.simple.v1+json;q=0, text/html", "", mediaLegacyHTML},
		{"application/*", "", mediaHTML},
		{"image/png", "", mediaLegacyHTML},
		{"text/html", "format=application/vnd.pypi.simple.v1+json", mediaJSON},
		{"application/vnd.pypi.simple.v1+json", "format=text/html", mediaLegacyHTML},
		{"application/vnd.pypi.simple.v1+json;q=bogus, text/html;q=0.1", "", mediaLegacyHTML},
	}
	for _, c := range cases {
		t.Run(c.accept+"?"+c.query, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/simple/x/?"+c.query, nil)
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			if got := negotiate(r); got != c.want {
				t.Fatalf("negotiate(%q) = %q, want %q", c.accept, got, c.want)
			}
		})
	}
}

func TestReasonPhrase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"File already exists":     "File already exists",
		"line\r\nbreak":           "line  break",
		"café":                    "caf\xe9",
		"snowman ☃ here":          "snowman ? here",
		strings.Repeat("x", 5000): strings.Repeat("x", 1025),
	} {
		if got := reasonPhrase(in); got != want {
			t.Errorf("reasonPhrase(%.20q) = %.20q (len %d), want %.20q (len %d)", in, got, len(got), want, len(want))
		}
	}
}

// TestSimpleAPI checks the project list and project pages in both formats.
func TestSimpleAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newTestServer(t, st.Dialect())
		_, tok := s.user("alice")
		app := disttest.Dist{Name: "Foo_Bar.baz", Version: "1.0", RequiresPython: ">=3.8", Summary: "<b>bold</b>"}
		s.uploadDist(tok, app, false)
		s.uploadDist(tok, app, true)
		s.uploadDist(tok, disttest.Dist{Name: "Foo_Bar.baz", Version: "2.0b1"}, false)
		s.uploadDist(tok, disttest.Dist{Name: "zeta", Version: "0.1"}, false)

		// Project list.
		resp, body := s.get("/simple/")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("/simple/: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		if !bytes.Contains(body, []byte(`<meta name="pypi:repository-version" content="1.4">`)) ||
			!bytes.Contains(body, []byte(`<a href="/simple/foo-bar-baz/">Foo_Bar.baz</a>`)) ||
			!bytes.Contains(body, []byte(`<a href="/simple/zeta/">zeta</a>`)) {
			t.Fatalf("/simple/ body:\n%s", body)
		}
		resp, body = s.get("/simple/", "Accept", mediaJSON)
		var root struct {
			Meta     map[string]any      `json:"meta"`
			Projects []map[string]string `json:"projects"`
		}
		if err := json.Unmarshal(body, &root); err != nil || resp.Header.Get("Content-Type") != mediaJSON {
			t.Fatalf("/simple/ JSON: %v %s", err, body)
		}
		if root.Meta["api-version"] != "1.4" || len(root.Projects) != 2 || root.Projects[0]["name"] != "Foo_Bar.baz" {
			t.Fatalf("/simple/ JSON = %s", body)
		}

		// Project page, JSON (PEP 691 + 700 + 714).
		resp, body = s.get("/simple/foo-bar-baz/", "Accept", "application/vnd.pypi.simple.v1+json, text/html;q=0.01")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaJSON || resp.Header.Get("Vary") == "" {
			t.Fatalf("project JSON: %s %v", resp.Status, resp.Header)
		}
		var proj struct {
			Meta     map[string]any   `json:"meta"`
			Name     string           `json:"name"`
			Versions []string         `json:"versions"`
			Files    []map[string]any `json:"files"`
		}
		if err := json.Unmarshal(body, &proj); err != nil {
			t.Fatal(err)
		}
		if proj.Name != "foo-bar-baz" || strings.Join(proj.Versions, ",") != "1.0,2.0b1" || len(proj.Files) != 3 {
			t.Fatalf("project JSON = %s", body)
		}
		for _, f := range proj.Files {
			fn := f["filename"].(string)
			for _, key := range []string{"url", "hashes", "size", "upload-time", "yanked", "core-metadata"} {
				if _, ok := f[key]; !ok {
					t.Errorf("%s: key %q missing", fn, key)
				}
			}
			if _, ok := f["dist-info-metadata"]; ok {
				t.Errorf("%s: JSON carries dist-info-metadata, which PEP 714 forbids (it crashes pip 23.0)", fn)
			}
			if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(f["upload-time"].(string)) {
				t.Errorf("%s: upload-time %v", fn, f["upload-time"])
			}
			isWheel := strings.HasSuffix(fn, ".whl")
			if cm, ok := f["core-metadata"].(map[string]any); isWheel != ok || (ok && len(cm["sha256"].(string)) != 64) {
				t.Errorf("%s: core-metadata = %v", fn, f["core-metadata"])
			}
		}

		// Project page, HTML (PEP 503 + 592 + 629 + 658/714).
		resp, body = s.get("/simple/foo-bar-baz/", "Accept", "text/html")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("project HTML: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		anchors := regexp.MustCompile(`<a href="([^"#]+)#sha256=([0-9a-f]{64})"([^>]*)>([^<]+)</a>`).FindAllSubmatch(body, -1)
		if len(anchors) != 3 {
			t.Fatalf("anchors = %d in\n%s", len(anchors), body)
		}
		for _, a := range anchors {
			href, sum, attrs, text := string(a[1]), string(a[2]), string(a[3]), string(a[4])
			if !strings.HasSuffix(href, "/"+text) {
				t.Errorf("anchor text %q is not the href's last component (%s)", text, href)
			}
			fresp, fbody := s.get(strings.TrimPrefix(href, s.URL))
			digest := sha256.Sum256(fbody)
			if fresp.StatusCode != 200 || hex.EncodeToString(digest[:]) != sum {
				t.Errorf("%s: %s, sha256 mismatch", href, fresp.Status)
			}
			if strings.HasPrefix(text, "foo_bar_baz-1.0") && !strings.Contains(attrs, `data-requires-python="&gt;=3.8"`) {
				t.Errorf("%s: no data-requires-python in %q", text, attrs)
			}
			if strings.HasSuffix(text, ".whl") != strings.Contains(attrs, `data-core-metadata="sha256=`) ||
				strings.HasSuffix(text, ".whl") != strings.Contains(attrs, `data-dist-info-metadata="sha256=`) {
				t.Errorf("%s: metadata attributes %q", text, attrs)
			}
		}
		resp, _ = s.get("/simple/foo-bar-baz/", "Accept", mediaHTML)
		if resp.Header.Get("Content-Type") != mediaHTML {
			t.Errorf("v1+html Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	})
}

func TestRedirectsAndNotFound(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "Foo_Bar.baz", Version: "1.0"}, false)
	for _, c := range []struct {
		path     string
		status   int
		location string
	}{
		{"/simple", 301, "/simple/"},
		{"/simple/Foo_Bar.baz/", 301, "/simple/foo-bar-baz/"},
		{"/simple/Foo_Bar.baz", 301, "/simple/foo-bar-baz/"},
		{"/simple/foo-bar-baz", 301, "/simple/foo-bar-baz/"},
		{"/simple/foo-bar-baz/", 200, ""},
		{"/simple/nope/", 404, ""},
		{"/simple/-bad-/", 404, ""},
		{"/simple/foo-bar-baz/extra", 404, ""},
		{"/pypi/Foo_Bar.baz/json", 301, "/pypi/foo-bar-baz/json"},
		{"/pypi/foo-bar-baz/json", 200, ""},
		{"/pypi/foo-bar-baz/1.0/json", 200, ""},
		{"/pypi/foo-bar-baz/1.0.0/json", 200, ""},
		{"/pypi/foo-bar-baz/9.9/json", 404, ""},
		{"/pypi/nope/json", 404, ""},
		{"/files/" + strings.Repeat("0", 64) + "/foo_bar_baz-1.0-py3-none-any.whl", 404, ""},
		{"/files/x/nothing.whl.metadata", 404, ""},
	} {
		resp, body := s.get(c.path)
		if resp.StatusCode != c.status || resp.Header.Get("Location") != c.location {
			t.Errorf("GET %s = %s Location %q, want %d %q (%s)", c.path, resp.Status, resp.Header.Get("Location"), c.status, c.location, body)
		}
	}
	// A POST to the upload URL is never redirected.
	resp, _ := s.do(s.uploadRequest(tok, map[string][]string{":action": {"file_upload"}}, "x.whl", nil))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		t.Fatalf("POST /legacy/ redirected: %s", resp.Status)
	}
	req := s.uploadRequest(tok, map[string][]string{":action": {"file_upload"}}, "x.whl", nil)
	req.URL.Path = "/legacy"
	if resp, _ := s.do(req); resp.StatusCode != 400 {
		t.Fatalf("POST /legacy = %s, want 400 (handled, not redirected)", resp.Status)
	}
}

func TestConditionalAndRangeRequests(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	s.uploadDist(tok, d, false)
	resp, _ := s.get("/simple/demo/", "Accept", mediaJSON)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the project page")
	}
	if resp, _ := s.get("/simple/demo/", "Accept", mediaJSON, "If-None-Match", etag); resp.StatusCode != 304 {
		t.Fatalf("If-None-Match = %s, want 304", resp.Status)
	}
	if resp, _ := s.get("/simple/demo/", "Accept", "text/html", "If-None-Match", etag); resp.StatusCode != 200 {
		t.Fatalf("HTML with the JSON ETag = %s, want 200", resp.Status)
	}

	wheel := d.Wheel()
	sum := sha256.Sum256(wheel)
	path := "/files/" + hex.EncodeToString(sum[:]) + "/" + d.WheelFilename()
	resp, body := s.get(path)
	if resp.StatusCode != 200 || !bytes.Equal(body, wheel) || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("download: %s %v", resp.Status, resp.Header)
	}
	resp, body = s.get(path, "Range", "bytes=10-19")
	if resp.StatusCode != 206 || !bytes.Equal(body, wheel[10:20]) || resp.Header.Get("Content-Range") == "" {
		t.Fatalf("range: %s %q", resp.Status, body)
	}
	if resp, _ := s.get(path, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Fatalf("download If-None-Match = %s, want 304", resp.Status)
	}
	// PEP 658: the .metadata file is the wheel's METADATA, byte for byte.
	resp, body = s.get(path + ".metadata")
	zr, _ := zip.NewReader(bytes.NewReader(wheel), int64(len(wheel)))
	f, _ := zr.Open("demo-1.0.dist-info/METADATA")
	want, _ := io.ReadAll(f)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf(".metadata: %s\n%s", resp.Status, body)
	}
	// HEAD gives the length without the body.
	req, _ := http.NewRequest(http.MethodHead, s.URL+path, nil)
	if resp, body := s.do(req); resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(wheel)) {
		t.Fatalf("HEAD: %s len %d", resp.Status, resp.ContentLength)
	}
}

// TestUploadErrorsOnTheWire checks what twine and uv see: the message in
// the status line, and the JSON body.
func TestUploadErrorsOnTheWire(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	s.uploadDist(tok, d, false)
	s.uploadDist(tok, d, false) // identical: 200 again

	other := d
	other.Summary = "different bytes"
	w := other.Wheel()
	resp, body := s.do(s.uploadRequest(tok, other.Form("bdist_wheel", w), d.WheelFilename(), w))
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Status, "400 File already exists ('demo-1.0-py3-none-any.whl'") {
		t.Fatalf("status line = %q", resp.Status)
	}
	var e struct{ Message, Code, Title string }
	if err := json.Unmarshal(body, &e); err != nil || !strings.HasPrefix(e.Message, "File already exists") ||
		e.Code != "400 "+e.Message || e.Title != "Bad Request" {
		t.Fatalf("JSON body = %s (%v)", body, err)
	}

	for _, c := range []struct {
		name   string
		auth   func(*http.Request)
		status int
		want   string
	}{
		{"no credentials", func(r *http.Request) { r.Header.Del("Authorization") }, 403, "Invalid or non-existent authentication information"},
		{"password", func(r *http.Request) { r.SetBasicAuth("alice", "hunter22") }, 403, "Username/Password authentication is no longer supported"},
		{"bad token", func(r *http.Request) { r.SetBasicAuth("__token__", "cheeseshop-NOTAREALTOKENNOTAREALTOKEN") }, 403, "Invalid API Token"},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			nd := disttest.Dist{Name: "demo", Version: "2.0." + strings.ReplaceAll(c.name, " ", "")}
			nd.Version = map[string]string{"no credentials": "2.1", "password": "2.2", "bad token": "2.3", "bearer": "2.4"}[c.name]
			w := nd.Wheel()
			req := s.uploadRequest(tok, nd.Form("bdist_wheel", w), nd.WheelFilename(), w)
			c.auth(req)
			resp, body := s.do(req)
			if resp.StatusCode != c.status || !strings.Contains(resp.Status, c.want) {
				t.Fatalf("%s: %q %s", c.name, resp.Status, body)
			}
		})
	}

	// A file over the size limit is refused while it streams.
	big := disttest.Dist{Name: "demo", Version: "3.0", Extra: map[string]string{}}
	noise := make([]byte, 5<<20)
	for i := range noise {
		noise[i] = byte(i*7919 + i/3)
	}
	req := s.uploadRequest(tok, big.Form("bdist_wheel", noise), big.WheelFilename(), noise)
	resp, _ = s.do(req)
	if resp.StatusCode != 400 || !strings.Contains(resp.Status, "File too large. Limit for project 'demo' is 4 MB") {
		t.Fatalf("too large: %q", resp.Status)
	}
}

// TestYankedInSimpleAPI: a yanked release shows at once in both formats.
func TestYankedInSimpleAPI(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0"}, false)
	s.get("/simple/demo/") // cache it
	ctx := context.Background()
	p, _ := s.st.ProjectByName(ctx, "demo")
	r, _ := s.st.ReleaseByCanonicalVersion(ctx, p.ID, "1")
	if err := s.st.SetYanked(ctx, r.ID, true, `broken "build" <oops>`); err != nil {
		t.Fatal(err)
	}
	s.idx.Cache().Invalidate("demo", false)
	_, body := s.get("/simple/demo/")
	if !bytes.Contains(body, []byte(`data-yanked="broken &#34;build&#34; &lt;oops&gt;"`)) {
		t.Fatalf("HTML has no escaped data-yanked:\n%s", body)
	}
	_, body = s.get("/simple/demo/", "Accept", mediaJSON)
	if !bytes.Contains(body, []byte(`"yanked":"broken \"build\" \u003coops\u003e"`)) {
		t.Fatalf("JSON yanked:\n%s", body)
	}
}

func TestJSONAPI(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0", Summary: "one", RequiresDist: []string{"dep>=1"}}, false)
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "2.0rc1", Summary: "two"}, false)
	_, body := s.get("/pypi/demo/json")
	var doc struct {
		Info struct {
			Name, Version, Summary string
			RequiresDist           []string `json:"requires_dist"`
		}
		Releases  map[string][]map[string]any
		URLs      []map[string]any `json:"urls"`
		Ownership struct{ Roles []map[string]string }
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	// The latest is the newest final release, not the release candidate.
	if doc.Info.Version != "1.0" || doc.Info.Summary != "one" || len(doc.Releases) != 2 || len(doc.URLs) != 1 ||
		len(doc.Info.RequiresDist) != 1 || doc.Ownership.Roles[0]["user"] != "alice" {
		t.Fatalf("JSON API = %s", body)
	}
	// Absent metadata is null, as PyPI sends it, and the project URLs
	// carry the display name.
	for _, want := range []string{`"keywords":null`, `"author":null`, `"home_page":null`, `"project_urls":null`,
		`"classifiers":[]`, `"project_url":"` + s.URL + `/project/demo/"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("JSON API lacks %s: %s", want, body)
		}
	}
	resp, _ := s.get("/pypi/demo/json")
	if etag := resp.Header.Get("ETag"); etag == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON API headers: %v", resp.Header)
	} else if resp, _ := s.get("/pypi/demo/json", "If-None-Match", etag); resp.StatusCode != 304 {
		t.Fatalf("JSON API If-None-Match = %s, want 304", resp.Status)
	}
	// A new upload shows at once (the cached document goes with the page).
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.1", Summary: "one point one"}, false)
	if _, body := s.get("/pypi/demo/json"); !bytes.Contains(body, []byte(`"version":"1.1"`)) {
		t.Fatalf("JSON API after an upload: %s", body)
	}
	_, body = s.get("/pypi/demo/2.0rc1/json")
	if !bytes.Contains(body, []byte(`"version":"2.0rc1"`)) || bytes.Contains(body, []byte(`"releases"`)) {
		t.Fatalf("version JSON API = %s", body)
	}
}

// TestDeletedFileIsNotServed: the file-lookup cache forgets a file as soon
// as it is deleted.
func TestDeletedFileIsNotServed(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	u, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	s.uploadDist(tok, d, false)
	sum := sha256.Sum256(d.Wheel())
	path := "/files/" + hex.EncodeToString(sum[:]) + "/" + d.WheelFilename()
	if resp, _ := s.get(path); resp.StatusCode != 200 {
		t.Fatalf("before deletion: %s", resp.Status)
	}
	p, err := s.idx.AuthenticateToken(context.Background(), s.manageToken(u), audit.Meta{})
	if err != nil || p.User.ID != u.ID {
		t.Fatal(err)
	}
	if err := s.idx.DeleteFile(context.Background(), p, d.WheelFilename()); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", ".metadata"} {
		if resp, _ := s.get(path + suffix); resp.StatusCode != 404 {
			t.Fatalf("after deletion %s: %s, want 404", suffix, resp.Status)
		}
	}
}

// TestUploadFormLimits: neither many fields nor large ones exhaust memory.
func TestUploadFormLimits(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	w := d.Wheel()
	many := d.Form("bdist_wheel", w)
	many["classifiers"] = make([]string, maxFormParts)
	resp, _ := s.do(s.uploadRequest(tok, many, d.WheelFilename(), w))
	if resp.StatusCode != 400 || !strings.Contains(resp.Status, "more than 2000 form fields") {
		t.Fatalf("many fields: %q", resp.Status)
	}
	large := d.Form("bdist_wheel", w)
	large["description"] = []string{strings.Repeat("x", maxFormBytes+1)}
	resp, _ = s.do(s.uploadRequest(tok, large, d.WheelFilename(), w))
	if resp.StatusCode != 400 || !strings.Contains(resp.Status, "The 'description' field is too large: it may have at most 1 MiB") {
		t.Fatalf("large fields: %q", resp.Status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0"}, false)
	s.get("/simple/demo/", "Accept", mediaJSON)
	resp, body := s.get("/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	for _, want := range []string{
		`cheeseshop_uploads_total{result="created"} 1`,
		`cheeseshop_simple_responses_total{format="json",page="project"} 1`,
		`cheeseshop_http_requests_total{method="POST",route="POST /legacy/{$}",status="2xx"} 1`,
		"cheeseshop_cache_project_pages 1",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
