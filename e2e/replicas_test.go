package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestReplicas is the scale-out acceptance test (issue 17): two replicas,
// A and B, on one PostgreSQL database and one S3 bucket (a private
// versitygw), each with its own --data. twine uploads through A and pip
// installs through B; A is killed (SIGKILL) during uploads — one large
// upload in the middle of its body, another in the middle of its S3
// multipart commit — while B keeps serving; every upload A acknowledged is
// then served by B with the right bytes, and every file row has its blobs.
// A restarts on its --data and cleans its dead spool. Finally the strays
// that a deleted file, a lost upload race and the kill left in the bucket
// are listed by `admin blobs gc --dry-run`, which removes nothing.
func TestReplicas(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t, store.Postgres) // skips locally, fails under CI, without a server
	gw := blobtest.StartGateway(t, "")        // likewise without versitygw
	d := pythonDists(t)
	requireTool(t, debTwine, "twine")
	ctx := context.Background()

	bucket := gw.S3()
	inspect := bucket.Open(t) // the test's own look at the bucket
	// Both replicas reach the S3 server through a proxy that can hold the
	// parts of multipart uploads, so that A can be killed mid-commit.
	gate := newPartGate(t, bucket.URL)
	storage := gate.storageURL(t, bucket.URL)
	// What must match across replicas (docs/DEPLOYMENT.md): the database,
	// the storage, the secret key; the rest here is for the test's pace.
	secretKey := rand.Text() + rand.Text()
	args := []string{"--secret-key", secretKey, "--follow-interval", "200ms", "--downloads-flush", "200ms"}
	optsA := serverOptions{Data: t.TempDir(), Database: dbURL, Storage: storage, Env: bucket.Env(), Args: args}
	optsB := optsA
	optsB.Data = t.TempDir()
	a := startServer(t, optsA)
	b := startServer(t, optsB)
	password := a.createUserPassword(t, "alice", false)
	token := a.token(t, "alice")

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	ok := t.Run("upload_through_A_install_through_B", func(t *testing.T) {
		files := []string{d.Dep.Wheel, d.Dep.Sdist, d.App.Wheel}
		if r := twineUpload(t, a, token, files...); r.Code != 0 {
			t.Fatalf("twine upload through A exited with %d:\n%s", r.Code, r.Out)
		}
		v := newVenv(t)
		r := runCmd(t, v.Dir, isolatedPip(t, v), filepath.Join(v.Dir, "bin", "python"), "-m", "pip", "install", "--index-url", b.URL+"/simple/", "cheese-app")
		if r.Code != 0 || !strings.Contains(r.Out, "Successfully installed cheese-app-1.0 cheese-dep-1.0") {
			t.Fatalf("pip install cheese-app through B: exit %d\n%s", r.Code, r.Out)
		}
		for _, f := range files {
			checkServed(t, b, ack{project: projectOf(f), filename: filepath.Base(f), sha256: sha256File(t, f)})
		}
		// pip's two downloads through B, counted in the shared database
		// within --downloads-flush.
		want := map[string]int64{"cheese-app": 1, "cheese-dep": 1}
		var got map[string]int64
		if !poll(10*time.Second, func() bool { got = downloadCounts(t, st); return maps.Equal(got, want) }) {
			t.Errorf("downloads in the database: %v, want %v", got, want)
		}
	})
	if !ok {
		return
	}

	var (
		acked     []ack // every upload A acknowledged (200)
		deadSpool string
		bigY      bigWheel
	)
	ok = t.Run("kill_A_during_uploads", func(t *testing.T) {
		// B's pages and a file it reads from the bucket, polled throughout.
		appWheel := servedURL(t, b, "cheese-app", filepath.Base(d.App.Wheel), sha256File(t, d.App.Wheel))
		poller := pollStatus(b.URL+"/simple/", b.URL+"/simple/cheese-app/", appWheel)
		defer poller.stop()
		twineFiles := append(d.Dep2.Files(), d.FooBar.Files()...)

		// Four uploaders of small wheels, each recording what got 200,
		// until A dies.
		rec := &ackRecorder{}
		var wg sync.WaitGroup
		ends := make([]string, 4)
		for i := range ends {
			dir := t.TempDir()
			wg.Go(func() { ends[i] = rawUploader(dir, a.URL, token, fmt.Sprintf("replica-raw-%d", i), rec) })
		}
		// X: 40 MiB, paced, stopped in the middle of its body. Y: 20 MiB,
		// more than one part of the S3 store's multipart uploads.
		dir := t.TempDir()
		x := writeBigWheel(t, dir, "replicax", "1.0", 40<<20)
		bigY = writeBigWheel(t, dir, "replicay", "1.0", 20<<20)
		px, doneX := startPacedUpload(t, a.URL, token, x, 8<<20)
		px.more <- struct{}{}
		px.more <- struct{}{}
		if !poll(60*time.Second, func() bool {
			return slices.ContainsFunc(spooled(a.Data), func(f spoolFile) bool { return f.size > 8<<20 })
		}) {
			t.Fatalf("A does not spool X's first 16 MiB in %s/tmp: %v", a.Data, spooled(a.Data))
		}
		// Y at full speed, held by the gate in its multipart commit.
		gate.armed.Store(true)
		doneY := make(chan uploadResult, 1)
		go func() { s, err := uploadWheel(a.URL, token, bigY, nil); doneY <- uploadResult{s, err} }()
		select {
		case part := <-gate.parked:
			t.Logf("Y's commit is sending a part: %s", part)
		case r := <-doneY:
			t.Fatalf("Y's upload ended before its commit reached the storage: %q %v", r.status, r.err)
		case <-time.After(60 * time.Second):
			t.Fatal("Y's commit sent no part within 60s")
		}
		// One twine, uploading four files one after the other; A is killed
		// once it has taken the first, or after 15 s (X must not stall for
		// --body-timeout, nor Y's parts wait for the store's 30 s answer
		// timeout).
		twineDone := make(chan cmdResult, 1)
		go func() { twineDone <- twineUploadQuiet(a, token, twineFiles...) }()
		if !poll(15*time.Second, func() bool { return strings.Contains(a.Log(), "filename="+filepath.Base(twineFiles[0])) }) {
			t.Logf("twine had uploaded nothing through A after 15s; killing A anyway")
		}
		spool := spooled(a.Data)
		t.Logf("killing A (SIGKILL); its spool holds %v", spool)
		a.kill()
		gate.armed.Store(false)
		deadSpool = spoolDir(t, spool)

		// X's client notices the dead server when it writes again (until
		// then its transport waits on the paced body).
		px.more <- struct{}{}
		if r := <-doneX; r.err == nil {
			t.Errorf("X, cut off mid-body, answered %q, want a broken connection", r.status)
		}
		if r := <-doneY; r.err == nil {
			t.Errorf("Y, killed mid-commit, answered %q, want a broken connection", r.status)
		}
		wg.Wait()
		t.Logf("the raw uploaders: %q", ends)
		tw := <-twineDone
		t.Logf("twine (exit %d): %q", tw.Code, twineUploading.FindAllString(tw.Out, -1))
		acked = rec.list()
		twineAcked := twineAcknowledged(tw, twineFiles)
		for _, f := range twineAcked {
			acked = append(acked, ack{project: projectOf(f), filename: filepath.Base(f), sha256: sha256File(t, f)})
		}
		t.Logf("A acknowledged %d raw uploads and %d of twine's %d files (twine exit %d)", len(acked)-len(twineAcked), len(twineAcked), len(twineFiles), tw.Code)
		if len(acked) == 0 {
			t.Fatal("A acknowledged no upload before it was killed: the test proves nothing")
		}

		t.Run("B_serves_every_acknowledged_upload", func(t *testing.T) {
			for _, up := range acked {
				checkServed(t, b, up)
			}
			for _, w := range []bigWheel{x, bigY} {
				if resp, _ := b.get(t, "/simple/"+w.name+"/"); resp.StatusCode != http.StatusNotFound {
					t.Errorf("B: /simple/%s/: %s, want 404 (its upload was cut short)", w.name, resp.Status)
				}
			}
		})
		t.Run("no_row_without_blob", func(t *testing.T) { checkRowsHaveBlobs(t, st, inspect) })
		t.Run("B_answered_200_throughout", func(t *testing.T) {
			n, bad := poller.stop()
			if len(bad) > 0 || n == 0 {
				t.Errorf("B's pages answered %d times 200, and otherwise: %q", n, bad)
			}
			t.Logf("B answered the poller %d times, all 200", n)
		})
	})
	if !ok {
		return
	}

	// A again, on the same --data (and for the rest of the test).
	a = startServer(t, optsA)
	ok = t.Run("restart_A", func(t *testing.T) {
		if !a.waitLog(`msg="removed uploads abandoned by a previous process" folders=1`) {
			t.Errorf("the restarted A does not log the removal of the dead spool:\n%s", a.Log())
		}
		if fileExists(deadSpool) || fileExists(deadSpool+".lock") {
			t.Errorf("the killed A's spool %s (or its lock) is still there", deadSpool)
		}
		w, err := writeDistWheel(t.TempDir(), disttest.Dist{Name: "replica-after", Version: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		if status, err := uploadWheel(a.URL, token, w, nil); err != nil || !strings.HasPrefix(status, "200") {
			t.Fatalf("upload through the restarted A: %q, %v", status, err)
		}
		checkServed(t, b, ack{project: w.name, filename: filepath.Base(w.path), sha256: w.sha256})
	})
	if !ok {
		return
	}

	t.Run("gc_dry_run_lists_strays", func(t *testing.T) {
		rows := fileRows(t, st)
		strays := map[string]string{} // digest → why it is one
		// Y's METADATA was stored before its commit was cut short.
		strays[sha256Hex([]byte(bigWheelMetadata(bigY.name, bigY.version)))] = "metadata of the upload killed mid-commit"

		// A file deleted through B's management pages.
		del := acked[0]
		delRow, found := rows[del.filename]
		if !found {
			t.Fatalf("no row for %s", del.filename)
		}
		web := newWebSession(t, b, "alice", password)
		form := url.Values{"filename": {del.filename}, "csrf_token": {web.csrf}}
		if status, body := web.do(t, "POST", "/manage/project/"+del.project+"/release/"+delRow.version+"/file/delete",
			"application/x-www-form-urlencoded", strings.NewReader(form.Encode())); status != http.StatusSeeOther {
			t.Fatalf("deleting %s through B: %d\n%s", del.filename, status, body)
		}
		strays[delRow.sha256] = "deleted file"
		if delRow.metadata != "" {
			strays[delRow.metadata] = "deleted file's metadata"
		}

		// Eight uploads of one filename with different content, four
		// through each replica, released together: one wins the row; the
		// losers that passed the first check commit their blob and lose
		// in the transaction.
		losers := raceUploads(t, a, b, token)
		committed := 0
		for _, sha := range losers {
			if ok, err := blob.Exists(ctx, inspect, sha); err != nil {
				t.Fatal(err)
			} else if ok {
				strays[sha] = "lost the upload race"
				committed++
			}
		}
		t.Logf("%d uploads lost the race, %d of them after committing their blob", len(losers), committed)
		if committed == 0 {
			t.Fatal("no loser of the upload race committed its blob: the race proves nothing")
		}

		before := walkDigests(t, inspect)
		out := a.admin(t, "blobs", "gc", "--dry-run")
		t.Logf("admin blobs gc --dry-run:\n%s", out)
		listed := map[string]string{}
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) >= 4 && blob.ValidDigest(f[0]) {
				listed[f[0]] = line
			}
		}
		for sha, why := range strays {
			line, ok := listed[sha]
			switch {
			case !ok:
				t.Errorf("gc --dry-run does not list %s (%s)", sha, why)
			case !strings.HasSuffix(line, "kept: newer than 24h"):
				t.Errorf("gc --dry-run: %q, want the state `kept: newer than 24h`", line)
			}
		}
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
			return strings.Contains(l, bigY.sha256) && strings.Contains(l, "incomplete upload")
		}) {
			t.Errorf("gc --dry-run does not list Y's incomplete multipart upload (%s)", bigY.sha256)
		}
		rows = fileRows(t, st)
		for sha, line := range listed {
			if strings.Contains(line, "incomplete upload") {
				continue
			}
			if r, used := rowByDigest(rows, sha); used {
				t.Errorf("gc --dry-run lists %q, which the row of %s references", line, r)
			}
		}
		if after := walkDigests(t, inspect); !slices.Equal(before, after) {
			t.Errorf("gc --dry-run changed the bucket: %d blobs before, %d after", len(before), len(after))
		}
		for sha := range strays {
			if _, err := inspect.Stat(ctx, sha); err != nil {
				t.Errorf("after gc --dry-run, stray %s: %v", sha, err)
			}
		}
		checkRowsHaveBlobs(t, st, inspect)
	})
}

// ack is an upload a server acknowledged with 200.
type ack struct{ project, filename, sha256 string }

// ackRecorder collects acknowledged uploads from several goroutines.
type ackRecorder struct {
	mu   sync.Mutex
	acks []ack
}

func (r *ackRecorder) add(a ack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acks = append(r.acks, a)
}

func (r *ackRecorder) list() []ack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.acks)
}

// rawUploader uploads new versions of a small wheel of project to the
// server at base, one after the other, recording each 200, until an
// upload fails to get an answer (the server died) or 500 were made. It
// says how it ended.
func rawUploader(dir, base, token, project string, rec *ackRecorder) string {
	statuses := map[string]int{}
	for i := range 500 {
		w, err := writeDistWheel(dir, disttest.Dist{Name: project, Version: fmt.Sprintf("1.%d", i), Summary: "A replica test upload"})
		if err != nil {
			return fmt.Sprintf("%v after %v", err, statuses)
		}
		status, err := uploadWheel(base, token, w, nil)
		if err != nil {
			return fmt.Sprintf("%v after %v", err, statuses)
		}
		statuses[status]++
		if strings.HasPrefix(status, "200") {
			rec.add(ack{project: project, filename: filepath.Base(w.path), sha256: w.sha256})
		}
	}
	return fmt.Sprintf("all made: %v", statuses)
}

// writeDistWheel writes the wheel of d into dir, for uploadWheel.
func writeDistWheel(dir string, d disttest.Dist) (bigWheel, error) {
	content := d.Wheel()
	w := bigWheel{path: filepath.Join(dir, d.WheelFilename()), name: d.Name, version: d.Version, size: int64(len(content)), sha256: sha256Hex(content)}
	return w, os.WriteFile(w.path, content, 0o644)
}

// bigWheelMetadata is the METADATA writeBigWheel puts in its wheels.
func bigWheelMetadata(name, version string) string {
	return "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\nSummary: A big wheel\n"
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// raceUploads uploads eight wheels of one filename with different
// content, alternately through a and b, paced so that all eight bodies are
// spooled before any ends, then released together. One must be accepted
// and the others refused as "File already exists"; it returns the losers'
// digests.
func raceUploads(t *testing.T, a, b *server, token string) []string {
	t.Helper()
	type racer struct {
		w    bigWheel
		p    *pace
		done <-chan uploadResult
	}
	var racers []racer
	for i := range 8 {
		w := writeBigWheel(t, t.TempDir(), "replicarace", "1.0", 1<<20+int64(i))
		s := a
		if i%2 == 1 {
			s = b
		}
		p, done := startPacedUpload(t, s.URL, token, w, w.size)
		racers = append(racers, racer{w, p, done})
	}
	// more lets the racer send its next part: first all of the content,
	// then the closing boundary.
	more := func(r racer) {
		t.Helper()
		select {
		case r.p.more <- struct{}{}:
		case res := <-r.done:
			t.Fatalf("a racing upload of %s ended early: %q, %v", r.w.sha256, res.status, res.err)
		}
	}
	for _, r := range racers {
		more(r)
	}
	spooledRacers := func() int {
		n := 0
		for _, s := range []*server{a, b} {
			for _, f := range spooled(s.Data) {
				if f.size >= 1<<19 {
					n++
				}
			}
		}
		return n
	}
	if !poll(60*time.Second, func() bool { return spooledRacers() == len(racers) }) {
		t.Fatalf("%d of the %d racing uploads are spooled", spooledRacers(), len(racers))
	}
	for _, r := range racers {
		more(r)
	}
	var winners int
	var losers []string
	for _, r := range racers {
		res := <-r.done
		switch {
		case res.err != nil:
			t.Errorf("racing upload of %s: %v", r.w.sha256, res.err)
		case strings.HasPrefix(res.status, "200"):
			winners++
		case strings.HasPrefix(res.status, "400 File already exists"):
			losers = append(losers, r.w.sha256)
		default:
			t.Errorf("racing upload of %s: %q, want 200 or 400 File already exists", r.w.sha256, res.status)
		}
	}
	if winners != 1 {
		t.Errorf("%d of the racing uploads were accepted, want 1", winners)
	}
	return losers
}

// isolatedPip is the environment of pip in v: clientEnv's (own HOME, no
// network beyond 127.0.0.1) with the venv first on PATH and no pip
// configuration or cache.
func isolatedPip(t testing.TB, v *venv) []string {
	return clientEnv(t, "PIP_CONFIG_FILE="+os.DevNull, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1",
		"PIP_NO_INPUT=1", "PIP_DEFAULT_TIMEOUT=60", "VIRTUAL_ENV="+v.Dir, "PATH="+filepath.Join(v.Dir, "bin")+":/usr/bin:/bin")
}

// twineUploadQuiet is twineUpload for a goroutine other than the test's:
// it returns the output and exit code, -1 if twine could not run.
func twineUploadQuiet(s *server, token string, files ...string) cmdResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"upload", "--repository-url", s.URL + "/legacy/", "--non-interactive", "--disable-progress-bar"}, files...)
	cmd := exec.CommandContext(ctx, debTwine, args...)
	cmd.Env = cleanEnv("TWINE_USERNAME=__token__", "TWINE_PASSWORD="+token, "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	code := 0
	if err := cmd.Run(); err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return cmdResult{Out: ansiEscape.ReplaceAllString(out.String(), ""), Code: code}
}

var twineUploading = regexp.MustCompile(`(?m)^Uploading (\S+)\s*$`)

// twineAcknowledged lists the files twine uploaded with success: twine
// uploads one file after the other and stops at the first failure, so
// every file it started before the last was acknowledged, and the last
// one too if twine succeeded.
func twineAcknowledged(r cmdResult, files []string) []string {
	var started []string
	for _, m := range twineUploading.FindAllStringSubmatch(r.Out, -1) {
		started = append(started, m[1])
	}
	if r.Code != 0 && len(started) > 0 {
		started = started[:len(started)-1]
	}
	var acked []string
	for _, f := range files {
		if slices.Contains(started, filepath.Base(f)) {
			acked = append(acked, f)
		}
	}
	return acked
}

// projectOf is the normalized project name of a distribution file name.
func projectOf(file string) string {
	name, _, _ := strings.Cut(filepath.Base(file), "-")
	return normalizeName(name)
}

// checkServed checks that s lists the upload on its project's page (JSON)
// with its digest, and serves its bytes. s may learn of the upload from
// the journal: it is given 10 seconds.
func checkServed(t testing.TB, s *server, up ack) {
	t.Helper()
	fileURL := servedURL(t, s, up.project, up.filename, up.sha256)
	if fileURL == "" {
		t.Errorf("%s does not list the acknowledged upload %s on /simple/%s/", s.URL, up.filename, up.project)
		return
	}
	resp, body := s.get(t, fileURL)
	if resp.StatusCode != http.StatusOK || sha256Hex(body) != up.sha256 {
		t.Errorf("GET %s: %s, %d bytes with sha256 %s, want %s", fileURL, resp.Status, len(body), sha256Hex(body), up.sha256)
	}
}

// servedURL is the URL of a file that s lists on its project's page (JSON)
// with the digest, or "" if s does not list it within 10 seconds.
func servedURL(t testing.TB, s *server, project, filename, sha string) string {
	t.Helper()
	var page struct {
		Files []struct {
			Filename string            `json:"filename"`
			URL      string            `json:"url"`
			Hashes   map[string]string `json:"hashes"`
		} `json:"files"`
	}
	fileURL := ""
	poll(10*time.Second, func() bool {
		resp, body := s.get(t, "/simple/"+normalizeName(project)+"/", "Accept", "application/vnd.pypi.simple.v1+json")
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &page) != nil {
			return false
		}
		for _, f := range page.Files {
			if f.Filename == filename {
				if f.Hashes["sha256"] != sha {
					t.Errorf("%s lists %s with sha256 %s, want %s", s.URL, filename, f.Hashes["sha256"], sha)
				}
				fileURL = f.URL
				return true
			}
		}
		return false
	})
	return fileURL
}

// fileRow is what the files table says of a file.
type fileRow struct{ version, sha256, metadata string }

// fileRows reads every row of files, by filename.
func fileRows(t testing.TB, st *store.Store) map[string]fileRow {
	t.Helper()
	rows, err := st.DB().Query(`SELECT f.filename, r.version, f.sha256_digest, COALESCE(f.metadata_sha256, '')
		FROM files f JOIN releases r ON r.id = f.release_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]fileRow{}
	for rows.Next() {
		var name string
		var r fileRow
		if err := rows.Scan(&name, &r.version, &r.sha256, &r.metadata); err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowByDigest finds the file whose row references the digest.
func rowByDigest(rows map[string]fileRow, sha string) (string, bool) {
	for name, r := range rows {
		if r.sha256 == sha || r.metadata == sha {
			return name, true
		}
	}
	return "", false
}

// checkRowsHaveBlobs checks that every digest a file row names (the file,
// its METADATA) is a blob in the store.
func checkRowsHaveBlobs(t testing.TB, st *store.Store, blobs blob.Store) {
	t.Helper()
	rows := fileRows(t, st)
	n := 0
	for name, r := range rows {
		for _, sha := range []string{r.sha256, r.metadata} {
			if sha == "" {
				continue
			}
			n++
			if _, err := blobs.Stat(context.Background(), sha); err != nil {
				t.Errorf("the row of %s names %s, which the bucket lacks: %v", name, sha, err)
			}
		}
	}
	t.Logf("%d rows name %d digests, all in the bucket", len(rows), n)
}

// walkDigests lists the store's blobs, sorted.
func walkDigests(t testing.TB, s blob.Store) []string {
	t.Helper()
	var out []string
	if err := s.Walk(context.Background(), func(b blob.Info) error { out = append(out, b.SHA256); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// downloadCounts sums the downloads table by project.
func downloadCounts(t testing.TB, st *store.Store) map[string]int64 {
	t.Helper()
	rows, err := st.DB().Query(`SELECT p.normalized_name, SUM(d.downloads) FROM downloads d
		JOIN projects p ON p.id = d.project_id GROUP BY p.normalized_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// poll calls cond every 20 ms until it is true or the time is up, and
// reports whether it became true.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// spoolFile is a file a server is spooling.
type spoolFile struct {
	path string
	size int64
}

// spooled lists the uploads the server under data is spooling: with S3
// storage each process spools in data/tmp/p*/.
func spooled(data string) []spoolFile {
	m, _ := filepath.Glob(filepath.Join(data, "tmp", "p*", "*"))
	var out []spoolFile
	for _, f := range m {
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			out = append(out, spoolFile{f, fi.Size()})
		}
	}
	return out
}

// spoolDir is the one spool folder of the files, which must be
// non-empty.
func spoolDir(t testing.TB, files []spoolFile) string {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("the killed server spooled nothing: the test proves nothing")
	}
	dir := filepath.Dir(files[0].path)
	for _, f := range files {
		if filepath.Dir(f.path) != dir {
			t.Fatalf("the server spooled in two folders: %v", files)
		}
	}
	return dir
}

// statusPoller GETs pages over and over and counts the answers.
type statusPoller struct {
	quit    chan struct{}
	done    chan struct{}
	ok      atomic.Int64
	mu      sync.Mutex
	bad     []string
	stopped sync.Once
}

// pollStatus starts polling the URLs, one after the other, every 20 ms.
func pollStatus(urls ...string) *statusPoller {
	p := &statusPoller{quit: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, u := range urls {
				resp, err := client.Get(u)
				switch {
				case err != nil:
					p.fail(fmt.Sprintf("GET %s: %v", u, err))
				case resp.StatusCode != http.StatusOK:
					p.fail(fmt.Sprintf("GET %s: %s", u, resp.Status))
				default:
					p.ok.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *statusPoller) fail(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bad = append(p.bad, s)
}

// stop stops the poller (once) and returns how many answers were 200, and
// the others.
func (p *statusPoller) stop() (int64, []string) {
	p.stopped.Do(func() { close(p.quit) })
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok.Load(), slices.Clone(p.bad)
}

// partGate is a reverse proxy in front of an S3 server that can hold the
// parts of multipart uploads: while armed, every UploadPart request is
// read and then parked until its client goes away, so that a test can
// kill a server in the middle of committing a large file.
type partGate struct {
	URL    string
	armed  atomic.Bool
	parked chan string // the path of each parked request
}

// newPartGate starts a gate in front of the endpoint of the storage URL.
func newPartGate(t testing.TB, storage string) *partGate {
	t.Helper()
	u, err := url.Parse(storage)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil || target.Host == "" {
		t.Fatalf("no endpoint in %s: %v", storage, err)
	}
	g := &partGate{parked: make(chan string, 64)}
	closed := make(chan struct{})
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the client signed the Host it sent (SigV4)
		},
		ErrorLog: log.New(io.Discard, "", 0), // the killed client's requests
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.armed.Load() && r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			select {
			case g.parked <- r.URL.Path:
			default:
			}
			// Read the part, so that the server notices when the
			// client's connection closes, and hold the answer.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-closed:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(closed) })
	g.URL = srv.URL
	return g
}

// storageURL is the storage URL with the gate as its endpoint.
func (g *partGate) storageURL(t testing.TB, storage string) string {
	t.Helper()
	u, err := url.Parse(storage)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("endpoint", g.URL)
	u.RawQuery = q.Encode()
	return u.String()
}
