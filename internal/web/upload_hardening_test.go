package web

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"runtime"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// allocated returns the bytes the process allocated while f ran. The
// tests that use it are not parallel, so the server under test is the
// only thing running.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestUploadFieldsBoundedBeforeParsing (issue 12, class 2): a form field of
// several megabytes (a version, a name) is refused after reading its
// bound, before anything parses it or echoes it back: the server
// allocates a small fraction of the field, and the answer is short.
// Before, the whole field was read (up to 16 MiB of fields), parsed, and
// sent back twice in the error.
func TestUploadFieldsBoundedBeforeParsing(t *testing.T) {
	// One dialect after the other (not storetest.EachDialect): allocated
	// counts the whole process.
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newTestServer(t, d)
			_, tok := s.user("alice")
			dist := disttest.Dist{Name: "demo", Version: "1.0"}
			w := dist.Wheel()
			for _, c := range []struct {
				field, value, want string
			}{
				{"version", strings.Repeat("1.", 4<<20) + "1", "400 The 'version' field is too large: it may have at most 128 bytes."},
				{"version", strings.Repeat("x", 8<<20), "400 The 'version' field is too large: it may have at most 128 bytes."},
				{"name", strings.Repeat("a-", 2<<20) + "a", "400 The 'name' field is too large: it may have at most 200 bytes."},
				{"summary", strings.Repeat("s", 4<<20), "400 The 'summary' field is too large: it may have at most 512 characters."},
				{"sha256_digest", strings.Repeat("0", 4<<20), "400 The 'sha256_digest' field is too large: it may have at most 256 bytes."},
			} {
				form := dist.Form("bdist_wheel", w)
				form[c.field] = []string{c.value}
				req := s.uploadRequest(tok, form, dist.WheelFilename(), w)
				var resp *http.Response
				var body []byte
				n := allocated(func() { resp, body = s.do(req) })
				if resp.Status[:min(len(resp.Status), len(c.want))] != c.want {
					t.Errorf("%s of %d bytes: %.200q, want %q", c.field, len(c.value), resp.Status, c.want)
				}
				if len(body) > 4<<10 {
					t.Errorf("%s: the answer has %d bytes", c.field, len(body))
				}
				if n > 4<<20 {
					t.Errorf("%s of %d bytes: the request allocated %d bytes", c.field, len(c.value), n)
				}
			}
		})
	}
}

// TestUploadFormBudget: the fields together, and the parts' headers, are
// bounded too, and so is their number.
func TestUploadFormBudget(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	_, tok := s.user("alice")
	d := disttest.Dist{Name: "demo", Version: "1.0"}
	w := d.Wheel()

	// Many fields, each under its bound.
	many := d.Form("bdist_wheel", w)
	for i := range 80 {
		many[fmt.Sprintf("x_field_%d", i)] = []string{strings.Repeat("x", 60<<10)}
	}
	resp, _ := s.do(s.uploadRequest(tok, many, d.WheelFilename(), w))
	if resp.StatusCode != 400 || !strings.Contains(resp.Status, "the form fields exceed 4 MiB") {
		t.Fatalf("fields over the budget: %q", resp.Status)
	}

	// A part whose header is megabytes long.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="comment"`)
	h.Set("X-Padding", strings.Repeat("p", 6<<20))
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte("x"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth("__token__", tok)
	if resp, _ := s.do(req); resp.StatusCode != 400 || !strings.Contains(resp.Status, "the form fields exceed 4 MiB") {
		t.Fatalf("a huge part header: %q", resp.Status)
	}

	// A file name of 10 KB, refused before the file is read.
	if resp, body := s.do(s.uploadRequest(tok, d.Form("bdist_wheel", w), strings.Repeat("f", 10000)+".whl", w)); resp.StatusCode != 400 ||
		!strings.Contains(resp.Status, "Filename is too long: use 255 characters or fewer.") || len(body) > 1024 {
		t.Fatalf("long file name: %q, %d bytes", resp.Status, len(body))
	}

	// A long field name.
	named := d.Form("bdist_wheel", w)
	named[strings.Repeat("n", 200)] = []string{"x"}
	if resp, _ := s.do(s.uploadRequest(tok, named, d.WheelFilename(), w)); resp.StatusCode != 400 || !strings.Contains(resp.Status, "a form field name is longer than 128 bytes") {
		t.Fatalf("long field name: %q", resp.Status)
	}

	// A long field name on a file part (a "tuple"), which the answer
	// would echo.
	var tuple bytes.Buffer
	tw := multipart.NewWriter(&tuple)
	fw, _ := tw.CreateFormFile(strings.Repeat("n", 1<<20), "x.txt")
	fw.Write([]byte("x"))
	tw.Close()
	treq, _ := http.NewRequest(http.MethodPost, s.URL+"/legacy/", &tuple)
	treq.Header.Set("Content-Type", tw.FormDataContentType())
	treq.SetBasicAuth("__token__", tok)
	if resp, body := s.do(treq); resp.StatusCode != 400 || !strings.Contains(resp.Status, "a form field name is longer than 128 bytes") || len(body) > 1024 {
		t.Fatalf("long field name of a file part: %q, %d bytes", resp.Status, len(body))
	}

	// Too many fields.
	parts := d.Form("bdist_wheel", w)
	parts["classifiers"] = make([]string, maxFormParts)
	if resp, _ := s.do(s.uploadRequest(tok, parts, d.WheelFilename(), w)); resp.StatusCode != 400 || !strings.Contains(resp.Status, "more than 2000 form fields") {
		t.Fatalf("many fields: %q", resp.Status)
	}
}

// TestUploadArchiveMetadataBounded (issue 12, class 2): the metadata a
// release stores comes from the archive's own METADATA, so the bounds
// apply there, whatever the form says. Before, a wheel whose METADATA had
// a 3.9 MiB summary was published, and every list page read it.
func TestUploadArchiveMetadataBounded(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")
		for _, c := range []struct {
			name string
			dist disttest.Dist
			want string
		}{
			{"3.9 MiB summary", disttest.Dist{Name: "demo", Version: "1.0", Summary: strings.Repeat("s", 3900<<10)},
				"400 Invalid distribution file. Wheel 'demo-1.0-py3-none-any.whl' METADATA file is too large"},
			{"long summary", disttest.Dist{Name: "demo", Version: "1.1", Summary: strings.Repeat("é", 513)},
				"400 Invalid distribution file. The 'summary' field of its METADATA must be 512 characters or less (it has 513)."},
			{"1.5 MiB description", disttest.Dist{Name: "demo", Version: "1.2", Description: strings.Repeat("d", 1536<<10)},
				"400 Invalid distribution file. The 'description' field of its METADATA must be 1 MiB or less"},
			{"too many requirements", disttest.Dist{Name: "demo", Version: "1.3", RequiresDist: make([]string, 2049)},
				""}, // empty values are dropped: accepted
			{"long requirement", disttest.Dist{Name: "demo", Version: "1.4", RequiresDist: []string{"dep ; " + strings.Repeat("extra == 'x' or ", 300) + "extra == 'y'"}},
				"400 Invalid distribution file. The 'requires-dist' field of its METADATA must be 4 KiB or less"},
		} {
			w := c.dist.Wheel()
			form := c.dist.Form("bdist_wheel", w)
			form["summary"] = []string{"short"} // the form is within bounds: the archive is not
			form["requires_dist"] = nil
			resp, _ := s.do(s.uploadRequest(tok, form, c.dist.WheelFilename(), w))
			if c.want == "" {
				if resp.StatusCode != 200 {
					t.Errorf("%s: %q, want 200", c.name, resp.Status)
				}
				continue
			}
			if !strings.HasPrefix(resp.Status, c.want) {
				t.Errorf("%s: %.300q, want %q", c.name, resp.Status, c.want)
			}
		}
		// Many real requirements are refused by count.
		reqs := make([]string, 2049)
		for i := range reqs {
			reqs[i] = fmt.Sprintf("dep%d", i)
		}
		many := disttest.Dist{Name: "demo", Version: "1.5", RequiresDist: reqs}
		w := many.Wheel()
		form := many.Form("bdist_wheel", w)
		form["requires_dist"] = nil
		resp, _ := s.do(s.uploadRequest(tok, form, many.WheelFilename(), w))
		if want := "400 Invalid distribution file. The 'requires-dist' field of its METADATA must have 2048 values or fewer (it has 2049)."; !strings.HasPrefix(resp.Status, want) {
			t.Errorf("many requirements: %.200q, want %q", resp.Status, want)
		}
	})
}

// TestListPagesReadBoundedFields (issue 12, class 2): the home, search and
// user pages read of each listed release only what they show: a summary
// cut to 512 characters by the database, never the metadata or the
// description. The release here was stored before the limits (its
// summary is 4 MiB): the pages stay small and cheap.
func TestListPagesReadBoundedFields(t *testing.T) {
	// One dialect after the other (not storetest.EachDialect): allocated
	// counts the whole process.
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newTestServer(t, d)
			_, tok := s.user("alice")
			dist := disttest.Dist{Name: "demo", Version: "1.0", Summary: "short"}
			s.uploadDist(tok, dist, false)
			huge := strings.Repeat("S", 4<<20)
			if _, err := s.st.DB().Exec(`UPDATE releases SET summary = $1, metadata_json = $2`,
				huge, `{"Description":"`+strings.Repeat("D", 4<<20)+`"}`); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/", "/search/?q=dem", "/search/?q=demo", "/user/alice/"} {
				var body []byte
				var resp *http.Response
				n := allocated(func() { resp, body = s.get(path) })
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte(strings.Repeat("S", 512))) || bytes.Contains(body, []byte(strings.Repeat("S", 513))) {
					t.Errorf("%s: %s, %d bytes; want the summary cut to 512 characters", path, resp.Status, len(body))
				}
				if n > 3<<20 {
					t.Errorf("%s allocated %d bytes for one listed release", path, n)
				}
			}
		})
	}
}

// TestDescriptionRenderedOnce (issue 12, class 6): a release's description
// is rendered at upload, under the input guards, and stored with it; its
// page shows the stored rendering. A pathological description is stored
// as plain text. A release stored without a rendering (uploaded before)
// is rendered at its first view, and stored.
func TestDescriptionRenderedOnce(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")
		stored := func(version string) sql.NullString {
			t.Helper()
			var h sql.NullString
			if err := s.st.DB().QueryRow(`SELECT description_html FROM releases WHERE version = $1`, version).Scan(&h); err != nil {
				t.Fatal(err)
			}
			return h
		}
		s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0", Description: "# Hello\n\n*world*"}, false)
		if h := stored("1.0"); !h.Valid || !strings.Contains(h.String, "<h1>Hello</h1>") {
			t.Fatalf("rendering stored at upload: %+v", h)
		}
		// Minutes of goldmark before: 50,000 nested block quotes.
		s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "2.0", Description: strings.Repeat(">", 50000) + " deep"}, false)
		if h := stored("2.0"); !h.Valid || !strings.Contains(h.String, "shown as plain text: as Markdown it has blocks nested more than 32 deep") {
			t.Fatalf("pathological description stored as: %.300q", h.String)
		}
		// The page shows what was stored, not a new rendering.
		if _, err := s.st.DB().Exec(`UPDATE releases SET description_html = '<p>from the store</p>' WHERE version = '1.0'`); err != nil {
			t.Fatal(err)
		}
		if _, body := s.get("/project/demo/1.0/"); !bytes.Contains(body, []byte("<p>from the store</p>")) {
			t.Fatalf("the page did not show the stored rendering")
		}
		// An older release, without a rendering: rendered once, stored.
		s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "3.0", Description: "## Old"}, false)
		if _, err := s.st.DB().Exec(`UPDATE releases SET description_html = NULL WHERE version = '3.0'`); err != nil {
			t.Fatal(err)
		}
		if _, body := s.get("/project/demo/3.0/"); !bytes.Contains(body, []byte("<h2>Old</h2>")) {
			t.Fatalf("older release page lacks its description")
		}
		if h := stored("3.0"); !h.Valid || !strings.Contains(h.String, "<h2>Old</h2>") {
			t.Fatalf("older release's rendering not stored at its first view: %+v", h)
		}
	})
}

// TestProjectPagesReadOneReleaseMetadata (issue 12, class 2): a project's
// pages list every release but show the metadata of one: they read that
// one only. Here 30 releases carry 1 MiB of description each.
func TestProjectPagesReadOneReleaseMetadata(t *testing.T) {
	// One dialect after the other (not storetest.EachDialect): allocated
	// counts the whole process.
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			s := newTestServer(t, d)
			u := s.userWithPassword("alice", "correct horse battery")
			tok := s.token(u)
			for i := range 30 {
				s.uploadDist(tok, disttest.Dist{Name: "demo", Version: fmt.Sprintf("1.%d", i)}, false)
			}
			if _, err := s.st.DB().Exec(`UPDATE releases SET metadata_json = $1`,
				`{"Summary":"s","Description":"`+strings.Repeat("D", 1<<20)+`"}`); err != nil {
				t.Fatal(err)
			}
			b := s.browser(t)
			b.login("alice", "correct horse battery")
			for _, path := range []string{"/project/demo/", "/project/demo/1.3/", "/pypi/demo/json", "/pypi/demo/1.4/json", "/manage/project/demo/"} {
				var status int
				// allocated counts the whole process (the server's
				// background work too): the least of three requests, each
				// loading the project again (a cache miss).
				n := uint64(math.MaxUint64)
				for range 3 {
					s.idx.Cache().Invalidate("demo", false)
					n = min(n, allocated(func() {
						if strings.HasPrefix(path, "/manage/") {
							resp, _ := b.get(path)
							status = resp.StatusCode
						} else {
							resp, _ := s.get(path)
							status = resp.StatusCode
						}
					}))
				}
				if status != 200 {
					t.Errorf("%s: %d", path, status)
				}
				t.Logf("%s allocated %d KiB", path, n>>10)
				// Reading every release's metadata would take at least
				// 30 MiB; one release's costs about 11 MiB (18 MiB under
				// the race detector), whatever the number of releases.
				if n > 24<<20 {
					t.Errorf("%s allocated %d MiB for a project of 30 releases of 1 MiB", path, n>>20)
				}
			}
		})
	}
}
