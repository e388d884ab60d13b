package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/blob/blobtest"
)

// openS3 opens s with extra query parameters (such as part_size=5MiB).
func openS3(t testing.TB, s blobtest.S3, query string) blob.Store {
	t.Helper()
	if query != "" {
		s.URL += "&" + query
	}
	return s.Open(t)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// commit stages and commits b.
func commit(ctx context.Context, s blob.Store, b []byte) (string, error) {
	st, err := s.Stage(ctx)
	if err != nil {
		return "", err
	}
	defer st.Abort()
	if _, err := st.Write(b); err != nil {
		return "", err
	}
	sha := digest(b)
	return sha, st.Commit(ctx, sha)
}

func TestS3Conformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, blobtest.Harness{
		New: func(tb testing.TB) blob.Store { return blobtest.RequireS3(tb).Open(tb) },
	})
}

// With md5=true (R2, B2) minio-go takes its sequential upload path; small
// parts make the suite's 16 and 40 MiB blobs multipart there too.
func TestS3ConformanceMD5(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, blobtest.Harness{
		New: func(tb testing.TB) blob.Store { return openS3(tb, blobtest.RequireS3(tb), "md5=true&part_size=5MiB") },
	})
}

func TestS3Open(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	ctx := context.Background()
	st := s3.Open(t)
	name := st.(fmt.Stringer).String()
	if !strings.HasPrefix(name, "s3://cheeseshop/t/") || !strings.Contains(name, " at 127.0.0.1:") ||
		strings.Contains(name, s3.SecretKey) || strings.Contains(name, s3.AccessKey) {
		t.Errorf("String() = %q, want s3://cheeseshop/t/... at 127.0.0.1:PORT and no credentials", name)
	}

	missing := strings.Replace(s3.URL, "s3://cheeseshop/", "s3://no-such-bucket/", 1)
	_, err := blob.Open(ctx, missing, blob.Options{DataDir: t.TempDir(), Credentials: s3.Credentials()})
	if err == nil || !strings.Contains(err.Error(), "bucket no-such-bucket not found at http://127.0.0.1:") {
		t.Errorf("Open of a missing bucket = %v, want bucket no-such-bucket not found at ENDPOINT", err)
	}

	_, err = blob.Open(ctx, s3.URL, blob.Options{DataDir: t.TempDir(), Credentials: credentials.NewStaticV4(s3.AccessKey, "wrong", "")})
	if r, ok := blob.FaultReason(err); !ok || r != blob.Refused {
		t.Errorf("Open with a wrong secret = %v, want a refused fault", err)
	}
	if err != nil && strings.Contains(err.Error(), s3.SecretKey) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

func TestS3PutMismatchMultipart(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	ctx := context.Background()
	st := openS3(t, s3, "part_size=5MiB")
	b := randomBytes(6 << 20) // two parts
	good := digest(b)
	bad := append(bytes.Clone(b[:len(b)-1]), b[len(b)-1]^1)
	tests := []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"last byte differs", bytes.NewReader(bad), int64(len(b))},
		{"short", bytes.NewReader(b[:len(b)-1]), int64(len(b))},
		{"long", io.MultiReader(bytes.NewReader(b), strings.NewReader("x")), int64(len(b))},
		{"failing source", io.MultiReader(bytes.NewReader(b[:5<<20]), iotest.ErrReader(errors.New("client went away"))), int64(len(b))},
	}
	for _, tt := range tests {
		err := st.Put(ctx, good, tt.r, tt.size)
		if err == nil || blob.IsUnavailable(err) {
			t.Errorf("%s: Put = %v, want an error that is no storage fault", tt.name, err)
		}
		if _, err := st.Stat(ctx, good); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("%s: Stat after a failed Put = %v, want ErrNotFound", tt.name, err)
		}
	}
	n := 0
	err := st.(blob.Incompleter).Incomplete(ctx, func(blob.Incomplete) error { n++; return nil })
	if err != nil || n != 0 {
		t.Errorf("Incomplete = %d uploads, %v; want none left by failed Puts", n, err)
	}
	if err := st.Put(ctx, good, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info, err := st.Stat(ctx, good); err != nil || info.Size != int64(len(b)) {
		t.Errorf("Stat = %+v, %v", info, err)
	}
}

func TestS3Incomplete(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	ctx := context.Background()
	st := s3.Open(t)
	inc := st.(blob.Incompleter)

	// What a process killed during a multipart Commit leaves.
	sha := digest([]byte("killed"))
	u := strings.TrimPrefix(s3.URL, "s3://cheeseshop/")
	prefix := u[:strings.IndexByte(u, '?')]
	key := prefix + "/" + blob.Key(sha)
	core := newCore(t, s3)
	if _, err := core.NewMultipartUpload(ctx, "cheeseshop", key, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Not a blob key of this store: not listed, and not abortable.
	other := prefix + "-other/" + blob.Key(sha)
	if _, err := core.NewMultipartUpload(ctx, "cheeseshop", other, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	var got []blob.Incomplete
	if err := inc.Incomplete(ctx, func(i blob.Incomplete) error { got = append(got, i); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != key || time.Since(got[0].Started) > time.Minute {
		t.Fatalf("Incomplete = %+v, want one upload of %s started now", got, key)
	}
	if err := inc.AbortIncomplete(ctx, other); err == nil {
		t.Errorf("AbortIncomplete(%s) of another prefix succeeded", other)
	}
	if err := inc.AbortIncomplete(ctx, key); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := inc.Incomplete(ctx, func(i blob.Incomplete) error { got = append(got, i); return nil }); err != nil || len(got) != 0 {
		t.Errorf("Incomplete after the abort = %+v, %v; want none", got, err)
	}
	core.RemoveIncompleteUpload(ctx, "cheeseshop", other)
}

func newCore(t testing.TB, s3 blobtest.S3) *minio.Core {
	t.Helper()
	i := strings.Index(s3.URL, "endpoint=http://") + len("endpoint=http://")
	host := s3.URL[i:]
	host = host[:strings.IndexByte(host, '&')]
	core, err := minio.NewCore(host, &minio.Options{Creds: s3.Credentials(), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return core
}

// A presigned URL serves the blob as an attachment, with ranges, until it
// expires (conformance case 13).
func TestS3Presign(t *testing.T) {
	t.Parallel()
	st := blobtest.RequireS3(t).Open(t)
	ctx := context.Background()
	data := []byte("cheese-1.0-py3-none-any.whl bytes")
	sha := blobtest.Commit(t, st, data)
	get := func(u string, rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	u, err := st.(blob.Presigner).PresignGet(ctx, sha, "cheese-1.0-py3-none-any.whl", "application/zip", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(u.String(), "")
	if resp.StatusCode != 200 || !bytes.Equal(body, data) ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=cheese-1.0-py3-none-any.whl" ||
		resp.Header.Get("Content-Type") != "application/zip" {
		t.Errorf("GET presigned = %d %q %v, want 200, the blob, attachment and application/zip", resp.StatusCode, body, resp.Header)
	}
	if resp, body := get(u.String(), "bytes=0-5"); resp.StatusCode != 206 || string(body) != "cheese" {
		t.Errorf("GET presigned, Range bytes=0-5 = %d %q, want 206 cheese", resp.StatusCode, body)
	}
	if _, err := st.(blob.Presigner).PresignGet(ctx, "../x", "x", "x", time.Minute); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("PresignGet(invalid digest) = %v, want ErrNotFound", err)
	}

	// Expiry is the server's business: poll past a 1 s TTL.
	short, err := st.(blob.Presigner).PresignGet(ctx, sha, "x.whl", "application/zip", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(short.String(), ""); resp.StatusCode != 200 {
		t.Fatalf("GET within the TTL = %d, want 200", resp.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, _ := get(short.String(), "")
		if resp.StatusCode == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET 5 s after a 1 s TTL = %d, want 403", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The S3 store spools in DataDir/tmp, which it leaves empty after use, and
// CleanTemp removes the spool of a dead process there (conformance 12).
func TestS3Spool(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	ctx := context.Background()
	data := t.TempDir()
	dead := filepath.Join(data, "tmp", "pdead")
	os.MkdirAll(dead, 0o750)
	os.WriteFile(filepath.Join(dead, "upload-1"), []byte("half a wheel"), 0o600)
	os.WriteFile(dead+".lock", nil, 0o600)

	st, err := blob.Open(ctx, s3.URL, blob.Options{DataDir: data, Credentials: s3.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobtest.Commit(t, st, []byte("committed"))
	staged, _ := st.Stage(ctx)
	staged.Write([]byte("aborted"))
	staged.Abort()
	blob.PutBytes(ctx, st, []byte("put"))
	st.Put(ctx, digest([]byte("put")), strings.NewReader("refused"), 7)
	st.Probe(ctx)
	staged, _ = st.Stage(ctx)
	staged.Write([]byte("in flight"))
	defer staged.Abort()

	if n, err := st.(blob.TempCleaner).CleanTemp(); n != 1 || err != nil {
		t.Fatalf("CleanTemp = %d, %v; want the dead spool removed", n, err)
	}
	files, _ := filepath.Glob(filepath.Join(data, "tmp", "*", "*"))
	if len(files) != 1 || !strings.Contains(filepath.Base(files[0]), "upload-") {
		t.Fatalf("spool files = %v, want only the upload in flight", files)
	}
}

func TestS3PresignPublicEndpoint(t *testing.T) {
	t.Parallel()
	s3 := blobtest.RequireS3(t)
	ctx := context.Background()
	st := openS3(t, s3, "public_endpoint=https://cdn.example")
	sha, err := commit(ctx, st, []byte("cheese"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.(blob.Presigner).PresignGet(ctx, sha, "cheese-1.0.tar.gz", "application/octet-stream", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "https" || u.Host != "cdn.example" || !strings.HasSuffix(u.Path, "/"+blob.Key(sha)) ||
		q.Get("response-content-disposition") != "attachment; filename=cheese-1.0.tar.gz" || q.Get("X-Amz-Signature") == "" {
		t.Errorf("PresignGet = %s, want a signed https://cdn.example/... URL of the blob", u)
	}
	if strings.Contains(u.String(), s3.SecretKey) {
		t.Errorf("the URL shows the secret: %s", u)
	}
}

// TestS3Outage stops the store's server: every operation fails within
// seconds with an unavailable fault, and the same store works again once
// the server is back (conformance case 14).
func TestS3Outage(t *testing.T) {
	t.Parallel()
	g := blobtest.StartGateway(t, "")
	ctx := context.Background()
	st := g.S3().Open(t)
	b := []byte("before the outage")
	sha, err := commit(ctx, st, b)
	if err != nil {
		t.Fatal(err)
	}

	g.Stop()
	small := []byte("during the outage")
	ops := []struct {
		name string
		do   func() error
	}{
		{"Open", func() error {
			o, err := st.Open(ctx, sha)
			if err == nil {
				o.Close()
			}
			return err
		}},
		{"Stat", func() error { _, err := st.Stat(ctx, sha); return err }},
		{"Put", func() error { _, err := blob.PutBytes(ctx, st, small); return err }},
		{"Commit", func() error { _, err := commit(ctx, st, small); return err }},
		{"Probe", func() error { return st.Probe(ctx) }},
		{"Delete", func() error { return st.Delete(ctx, sha) }},
		{"Walk", func() error { return st.Walk(ctx, func(blob.Info) error { return nil }) }},
	}
	for _, op := range ops {
		start := time.Now()
		err := op.do()
		took := time.Since(start)
		t.Logf("%s with the store down: %v", op.name, took)
		if took > 5*time.Second {
			t.Errorf("%s took %v with the store down, want < 5 s", op.name, took)
		}
		if r, ok := blob.FaultReason(err); !ok || r != blob.Unreachable {
			t.Errorf("%s with the store down = %v, want an unreachable fault", op.name, err)
		}
	}

	g.Start()
	if err := st.Probe(ctx); err != nil {
		t.Fatalf("Probe after the restart: %v", err)
	}
	o, err := st.Open(ctx, sha)
	if err != nil {
		t.Fatalf("Open after the restart: %v", err)
	}
	got, err := io.ReadAll(o)
	o.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("read after the restart = %q, %v", got, err)
	}
	if _, err := commit(ctx, st, small); err != nil {
		t.Fatalf("Commit after the restart: %v", err)
	}
}

// TestS3Stalled pauses the store's server, which then accepts connections
// and never answers: the small operations fail as unreachable after their
// timeout rather than hang, and the store works again once it answers.
func TestS3Stalled(t *testing.T) {
	t.Parallel()
	g := blobtest.StartGateway(t, "")
	ctx := context.Background()
	st := g.S3().Open(t)
	sha := blobtest.Commit(t, st, []byte("before the stall"))

	g.Pause()
	ops := map[string]func() error{
		"Open": func() error {
			o, err := st.Open(ctx, sha)
			if err == nil {
				o.Close()
			}
			return err
		},
		"Stat":   func() error { _, err := st.Stat(ctx, sha); return err },
		"Probe":  func() error { return st.Probe(ctx) },
		"Delete": func() error { return st.Delete(ctx, blobtest.Digest([]byte("other"))) },
	}
	errs := make(chan error, len(ops))
	for name, op := range ops {
		go func() {
			start := time.Now()
			err := op()
			took := time.Since(start)
			if r, ok := blob.FaultReason(err); !ok || r != blob.Unreachable || took > 15*time.Second {
				errs <- fmt.Errorf("%s with the store stalled = %v after %v, want an unreachable fault within 15 s", name, err, took)
				return
			}
			t.Logf("%s with the store stalled: %v", name, took)
			errs <- nil
		}()
	}
	for range ops {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	g.Resume()
	if _, err := st.Stat(ctx, sha); err != nil {
		t.Fatalf("Stat after the stall: %v", err)
	}
}

// TestS3Full puts the server's folder on a small tmpfs: a Commit larger
// than the disk fails with a full fault and leaves no blob, and one that
// fits works (conformance case 15).
func TestS3Full(t *testing.T) {
	t.Parallel()
	dir := blobtest.SmallDisk(t, "8m")
	g := blobtest.StartGateway(t, dir)
	ctx := context.Background()
	st := g.S3().Open(t)
	big := randomBytes(20 << 20)
	sha, err := commit(ctx, st, big)
	if r, ok := blob.FaultReason(err); !ok || r != blob.Full {
		t.Fatalf("Commit of 20 MiB on an 8 MiB disk = %v, want a full fault", err)
	}
	if _, err := st.Stat(ctx, sha); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat after the failed Commit = %v, want ErrNotFound", err)
	}
	if _, err := commit(ctx, st, randomBytes(1<<20)); err != nil {
		t.Errorf("Commit of 1 MiB after the failure: %v", err)
	}
}

func BenchmarkS3(b *testing.B) {
	blobtest.Benchmark(b, func(tb testing.TB) blob.Store { return blobtest.RequireS3(tb).Open(tb) })
}
