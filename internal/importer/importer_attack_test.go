package importer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/importer"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// A source lists, as yanked, the files of a project that someone else owns
// here, with their true digests (this index publishes them): the import
// must neither count them as its own nor yank the victim's release.
func TestAttackYankNotOwned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tg := newTarget(t, st)
		victim := newUser(t, st, "victim")
		d := disttest.Dist{Name: "victim-pkg", Version: "1.0"}
		dir := t.TempDir()
		write(t, filepath.Join(dir, d.WheelFilename()), d.Wheel(), time.Now())
		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&importer.Importer{Index: tg.idx, Owner: victim}).Run(ctx, src); err != nil {
			t.Fatal(err)
		}

		sum := sha256.Sum256(d.Wheel())
		digest := hex.EncodeToString(sum[:])
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			switch r.URL.Path {
			case "/simple/":
				json.NewEncoder(w).Encode(map[string]any{"projects": []map[string]string{{"name": "victim-pkg"}}})
			case "/simple/victim-pkg/":
				json.NewEncoder(w).Encode(map[string]any{"files": []map[string]any{{
					"filename": d.WheelFilename(), "url": "/files/" + d.WheelFilename(),
					"hashes": map[string]string{"sha256": digest}, "yanked": "pwned"}}})
			default:
				w.Write(d.Wheel())
			}
		}))
		defer srv.Close()
		remote, err := importer.NewSimple(srv.URL + "/simple/")
		if err != nil {
			t.Fatal(err)
		}
		got := tg.run(t, nil, remote)
		proj, err := st.ProjectByName(ctx, "victim-pkg")
		if err != nil {
			t.Fatal(err)
		}
		rel, err := st.ReleaseByCanonicalVersion(ctx, proj.ID, "1")
		if err != nil {
			t.Fatal(err)
		}
		if rel.Yanked {
			t.Errorf("the import yanked the release of a project its user does not own (reason %q)", rel.YankedReason)
		}
		if got.Present != 0 || got.Yanked != 0 || len(got.Skipped) != 1 || !strings.Contains(got.Skipped[0].Reason, "not an Owner") {
			t.Errorf("summary: %+v, want the project skipped as not owned", got)
		}
	})
}

// A file name in a tampered folder (or a source's page) carries terminal
// escape sequences: the summary shows them escaped, never raw.
func TestAttackSummaryEscapes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		tg := newTarget(t, st)
		dir := t.TempDir()
		evil := "readme\x1b]52;c;Y3VybCBldmlsfHNo\a\x1b[2J.txt"
		if err := os.WriteFile(filepath.Join(dir, evil), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		tg.run(t, nil, src).Print(&out)
		if strings.ContainsAny(out.String(), "\x1b\a") {
			t.Errorf("the summary writes control characters from the source: %q", out.String())
		}
		if !strings.Contains(out.String(), `readme\x1b]52`) {
			t.Errorf("the summary does not show the file's name escaped: %q", out.String())
		}
	})
}

// yankingSource serves one project whose one file is yanked with reason.
func yankingSource(t *testing.T, project string, d disttest.Dist, reason string) importer.Source {
	t.Helper()
	sum := sha256.Sum256(d.Wheel())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		switch r.URL.Path {
		case "/simple/":
			json.NewEncoder(w).Encode(map[string]any{"projects": []map[string]string{{"name": project}}})
		case "/simple/" + project + "/":
			json.NewEncoder(w).Encode(map[string]any{"files": []map[string]any{{
				"filename": d.WheelFilename(), "url": "/files/" + d.WheelFilename(),
				"hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])}, "yanked": reason}}})
		default:
			w.Write(d.Wheel())
		}
	}))
	t.Cleanup(srv.Close)
	src, err := importer.NewSimple(srv.URL + "/simple/")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// A source's yank reason is bounded here as a yank's is, in the release
// and in its security event; a quarantined project's release is not
// yanked (nothing in it may change), and the import goes on.
func TestAttackYankBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tg := newTarget(t, st)
		d := disttest.Dist{Name: "mine", Version: "1.0"}
		dir := t.TempDir()
		write(t, filepath.Join(dir, d.WheelFilename()), d.Wheel(), time.Now())
		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		tg.run(t, nil, src)
		proj, err := st.ProjectByName(ctx, "mine")
		if err != nil {
			t.Fatal(err)
		}

		if err := st.SetProjectStatus(ctx, proj.ID, store.StatusQuarantined, "evidence", "", "", time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := (&importer.Importer{Index: tg.idx, Owner: tg.owner}).Run(ctx, yankingSource(t, "mine", d, "quarantined"))
		if err != nil {
			t.Fatalf("a release that may not be yanked stops the import: %v", err)
		}
		if rel, err := st.ReleaseByCanonicalVersion(ctx, proj.ID, "1"); err != nil || rel.Yanked {
			t.Errorf("the quarantined project's release is yanked (%v)", err)
		}
		if len(got.Refused) != 1 || !strings.Contains(got.Refused[0].Reason, "quarantined") {
			t.Errorf("summary %+v, want the yank refused", got)
		}
		if err := st.SetProjectStatus(ctx, proj.ID, store.StatusActive, "", "", "", time.Now()); err != nil {
			t.Fatal(err)
		}

		tg.run(t, nil, yankingSource(t, "mine", d, strings.Repeat("x", 1<<20)))
		rel, err := st.ReleaseByCanonicalVersion(ctx, proj.ID, "1")
		if err != nil || !rel.Yanked {
			t.Fatalf("the release is not yanked (%v)", err)
		}
		if len(rel.YankedReason) > 1000 {
			t.Errorf("the yank reason has %d characters", len(rel.YankedReason))
		}
		events, err := st.ProjectEvents(ctx, proj.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if len(e.Details) > 2000 {
				t.Errorf("event %s keeps %d bytes of details from the source", e.Tag, len(e.Details))
			}
		}
	})
}

// A file of a folder swapped for a symbolic link to a file outside it,
// after the folder was listed, is not read.
func TestAttackFolderSymlinkSwap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		tg := newTarget(t, st)
		dir, outside := t.TempDir(), t.TempDir()
		d := disttest.Dist{Name: "swapped", Version: "1.0"}
		write(t, filepath.Join(dir, "swapped", d.WheelFilename()), []byte("placeholder"), time.Now())
		write(t, filepath.Join(outside, d.WheelFilename()), d.Wheel(), time.Now())
		src, err := importer.OpenFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, "swapped")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "swapped")); err != nil {
			t.Fatal(err)
		}
		got := tg.run(t, nil, src)
		if got.Files != 0 || len(got.Refused) != 1 {
			t.Errorf("summary %+v: a file outside the folder was read", got)
		}
	})
}

// What holds: names that would leave the data folder (the file store is
// content-addressed, and the names are refused anyway), a prohibited
// project name, and a file over the size limit sent without a length.
func TestAttackHolds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if err := st.ProhibitName(ctx, "banned", "banned", "test", time.Now()); err != nil {
			t.Fatal(err)
		}
		blobs, err := blob.NewFS(filepath.Join(t.TempDir(), "files"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		idx := index.New(st, blobs, index.Config{BaseURL: "http://index.test", MaxFileSize: 4 << 10}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		owner := newUser(t, st, "importer")

		evil := disttest.Dist{Name: "evil", Version: "1.0"}
		var noise strings.Builder // hex digests, which deflate compresses by half only
		for i := range 1000 {
			d := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
			noise.WriteString(hex.EncodeToString(d[:]))
		}
		big := disttest.Dist{Name: "evil", Version: "2.0", Description: noise.String()}
		banned := disttest.Dist{Name: "banned", Version: "1.0"}
		files := map[string][]map[string]any{"evil": {}, "banned": {}}
		content := map[string][]byte{}
		add := func(project, filename, url string, body []byte) {
			content[url] = body
			files[project] = append(files[project], map[string]any{"filename": filename, "url": url})
		}
		for i, name := range []string{"../" + evil.WheelFilename(), "/tmp/" + evil.WheelFilename(),
			`..\` + evil.WheelFilename(), "evil\x00-1.0-py3-none-any.whl", "%2e%2e%2f" + evil.WheelFilename()} {
			add("evil", name, fmt.Sprintf("/files/%d", i), evil.Wheel())
		}
		add("evil", big.WheelFilename(), "/files/big", big.Wheel())
		add("banned", banned.WheelFilename(), "/files/banned", banned.Wheel())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body, ok := content[r.URL.Path]; ok {
				w.Write(body[:1]) // chunked: no Content-Length
				w.(http.Flusher).Flush()
				w.Write(body[1:])
				return
			}
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			if r.URL.Path == "/simple/" {
				json.NewEncoder(w).Encode(map[string]any{"projects": []map[string]string{{"name": "evil"}, {"name": "banned"}}})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"files": files[strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")]})
		}))
		defer srv.Close()
		src, err := importer.NewSimple(srv.URL + "/simple/")
		if err != nil {
			t.Fatal(err)
		}
		sum, err := (&importer.Importer{Index: idx, Owner: owner}).Run(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Files != 0 || len(sum.Refused) != 7 {
			t.Fatalf("summary %+v, want every file refused", sum)
		}
		for _, n := range sum.Refused {
			if n.File == big.WheelFilename() && !strings.Contains(n.Reason, "File too large") {
				t.Errorf("%s: %s", n.File, n.Reason)
			}
			if n.File == banned.WheelFilename() && !strings.Contains(n.Reason, "isn't allowed") {
				t.Errorf("%s: %s", n.File, n.Reason)
			}
		}
	})
}

// A source's upload time in the future is not believed: it would date the
// release after every real one and keep its upload window open for years.
func TestAttackFutureUploadTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		tg := newTarget(t, st)
		d := disttest.Dist{Name: "later", Version: "1.0"}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			switch r.URL.Path {
			case "/simple/":
				json.NewEncoder(w).Encode(map[string]any{"projects": []map[string]string{{"name": "later"}}})
			case "/simple/later/":
				json.NewEncoder(w).Encode(map[string]any{"files": []map[string]any{{
					"filename": d.WheelFilename(), "url": "/files/x", "upload-time": "2999-01-01T00:00:00Z"}}})
			default:
				w.Write(d.Wheel())
			}
		}))
		defer srv.Close()
		src, err := importer.NewSimple(srv.URL + "/simple/")
		if err != nil {
			t.Fatal(err)
		}
		if sum := tg.run(t, nil, src); sum.Files != 1 {
			t.Fatalf("summary %+v", sum)
		}
		f, err := st.FileByFilename(ctx, d.WheelFilename())
		if err != nil {
			t.Fatal(err)
		}
		proj, err := st.ProjectByName(ctx, "later")
		if err != nil {
			t.Fatal(err)
		}
		rel, err := st.ReleaseByCanonicalVersion(ctx, proj.ID, "1")
		if err != nil {
			t.Fatal(err)
		}
		if soon := time.Now().Add(time.Hour); f.UploadTime.After(soon) || rel.CreatedAt.After(soon) {
			t.Errorf("file uploaded %v, release created %v: in the future", f.UploadTime, rel.CreatedAt)
		}
	})
}
