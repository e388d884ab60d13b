package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3,
// MinIO, versitygw, Cloudflare R2, Backblaze B2, ...). Blobs live at
// PREFIX/sha256/ab/cd/<hex>, the layout of FS, so that copying between the
// two is one to one. Staged uploads are spooled to a local folder and sent
// with one PutObject when committed (multipart above the part size, with
// parts read from the file in parallel: nothing is buffered whole in
// memory). S3 writes are atomic: a failed or aborted upload leaves no
// object, at most an incomplete multipart upload (see Incomplete).
type S3 struct {
	client  *minio.Client
	signer  *minio.Client // presigns with the public endpoint; client if none
	tr      *http.Transport
	cfg     *s3Config
	spool   *spool
	logger  *slog.Logger
	putOpts minio.PutObjectOptions
}

// The client's patience: a store that is down or stalled must fail a
// request within seconds, so that clients get a 503 rather than a hang. A
// stopped server refuses connections (about 1 s with the retries). A
// stalled one (SIGSTOP, a dead proxy) accepts them and never answers: the
// small operations (open, stat, delete, probe) give up after s3OpTimeout;
// uploads, whose answer comes after the body, wait s3HeaderTimeout for it
// on each of the s3MaxRetries tries.
const (
	s3MaxRetries     = 3
	s3DialTimeout    = 5 * time.Second
	s3HeaderTimeout  = 30 * time.Second
	s3OpTimeout      = 10 * time.Second
	s3ContentTypeBin = "application/octet-stream"
)

// openS3 connects to the bucket cfg names, checks that it exists, and opens
// the local spool in o.DataDir/tmp.
func openS3(ctx context.Context, cfg *s3Config, o Options) (*S3, error) {
	if o.DataDir == "" {
		return nil, errors.New("blob: s3 storage needs a local data folder for its spool")
	}
	creds := o.Credentials
	if creds == nil {
		creds = credentials.NewEnvAWS()
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	secure := cfg.endpoint.Scheme == "https"
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 transport: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: s3DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = s3HeaderTimeout
	tr.TLSHandshakeTimeout = s3DialTimeout
	client, err := newS3Client(cfg.endpoint, cfg, creds, tr)
	if err != nil {
		return nil, err
	}
	signer := client
	if cfg.public != nil {
		// Signing is offline (the region is known): this client sends
		// nothing, so it shares the transport.
		if signer, err = newS3Client(cfg.public, cfg, creds, tr); err != nil {
			return nil, err
		}
	}
	s := &S3{
		client: client,
		signer: signer,
		tr:     tr,
		cfg:    cfg,
		logger: logger,
		putOpts: minio.PutObjectOptions{
			ContentType:    s3ContentTypeBin,
			PartSize:       cfg.partSize,
			SendContentMd5: cfg.md5,
		},
	}
	bctx, cancel := context.WithTimeout(ctx, s3OpTimeout)
	defer cancel()
	ok, err := client.BucketExists(bctx, cfg.bucket)
	if err != nil {
		return nil, s.fault("open", err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: bucket %s not found at %s", cfg.bucket, cfg.endpoint)
	}
	if s.spool, err = openSpool(filepath.Join(o.DataDir, "tmp")); err != nil {
		return nil, err
	}
	return s, nil
}

// newS3Client returns a client of the endpoint with cfg's settings.
func newS3Client(endpoint *url.URL, cfg *s3Config, creds *credentials.Credentials, tr *http.Transport) (*minio.Client, error) {
	c, err := minio.New(endpoint.Host, &minio.Options{
		Creds:        creds,
		Secure:       endpoint.Scheme == "https",
		Transport:    tr,
		Region:       cfg.region,
		BucketLookup: cfg.lookup,
		MaxRetries:   s3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3 client for %s: %w", endpoint.Host, err)
	}
	return c, nil
}

// String names the bucket, prefix and host, without credentials.
func (s *S3) String() string {
	return fmt.Sprintf("s3://%s/%s at %s", s.cfg.bucket, s.cfg.prefix, s.cfg.endpoint.Host)
}

// key is the object key of a path inside the store.
func (s *S3) key(path string) string {
	if s.cfg.prefix == "" {
		return path
	}
	return s.cfg.prefix + "/" + path
}

// Close removes this process's spool and closes idle connections.
func (s *S3) Close() error {
	s.spool.close()
	s.tr.CloseIdleConnections()
	return nil
}

// CleanTemp implements TempCleaner for the local spool.
func (s *S3) CleanTemp() (int, error) { return s.spool.cleanTemp() }

// Stage implements Store: the content is spooled to a local file.
func (s *S3) Stage(ctx context.Context) (Staged, error) {
	f, err := s.spool.create("upload-*")
	if err != nil {
		return nil, err
	}
	return &s3Staged{spoolFile: spoolFile{f: f}, store: s}, nil
}

type s3Staged struct {
	spoolFile
	store *S3
}

// Commit uploads the spool file. Uploading a digest that exists already
// writes the same bytes again, which refreshes its LastModified.
func (st *s3Staged) Commit(ctx context.Context, sha string) error {
	if st.done {
		return errors.New("blob: commit after commit or abort")
	}
	defer st.Abort()
	if !ValidDigest(sha) {
		return fmt.Errorf("blob: invalid digest %q", sha)
	}
	fi, err := st.f.Stat()
	if err != nil {
		return fmt.Errorf("blob: commit %s: %w", sha, err)
	}
	// A SectionReader from offset 0 (the file's offset is at its end):
	// minio-go reads its parts in parallel with ReadAt, and can seek back to
	// retry a request.
	r := io.NewSectionReader(st.f, 0, fi.Size())
	if _, err := st.store.client.PutObject(ctx, st.store.cfg.bucket, st.store.key(Key(sha)), r, fi.Size(), st.store.putOpts); err != nil {
		return st.store.fault("commit", err)
	}
	return nil
}

// Put implements Store. It streams r to the bucket through a reader that
// hashes what passes and, when the digest or the length is wrong, fails
// before handing over the last byte: a single PUT then never completes its
// body and a multipart upload is aborted before it is completed, so no
// object is created. Up to one part (PartSize) is buffered at a time.
func (s *S3) Put(ctx context.Context, sha string, r io.Reader, size int64) error {
	if !ValidDigest(sha) {
		return fmt.Errorf("blob: invalid digest %q", sha)
	}
	if size < 0 {
		return fmt.Errorf("blob: put %s: negative size %d", sha, size)
	}
	vr := &verifyingReader{r: r, sha: sha, left: size, h: sha256.New()}
	if size == 0 {
		// Nothing to withhold: check the source before sending.
		if err := vr.finish(); err != nil {
			return err
		}
	}
	_, err := s.client.PutObject(ctx, s.cfg.bucket, s.key(Key(sha)), vr, size, s.putOpts)
	if vr.err != nil {
		return vr.err
	}
	if err != nil {
		return s.fault("put", err)
	}
	return nil
}

// verifyingReader passes exactly left bytes of r through, hashing them.
// The read that would deliver the last bytes first checks that r ends
// there and that the digest is sha; if not, it returns an error instead of
// those bytes.
type verifyingReader struct {
	r    io.Reader
	sha  string
	left int64
	h    hash.Hash
	err  error // the verification failure, once found
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > v.left {
		p = p[:v.left]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.left -= int64(n)
	if v.left == 0 {
		if ferr := v.finish(); ferr != nil {
			return 0, ferr
		}
		return n, nil
	}
	switch {
	case err == io.EOF:
		v.err = fmt.Errorf("blob: put %s: content is %d bytes short", v.sha, v.left)
	case err != nil:
		// The source failed (a client went away): not the store's fault.
		v.err = fmt.Errorf("blob: put %s: read: %w", v.sha, err)
	default:
		return n, nil
	}
	return 0, v.err
}

// finish checks, once all bytes were read, that r has no more and that
// the digest matches.
func (v *verifyingReader) finish() error {
	var one [1]byte
	for {
		n, err := v.r.Read(one[:])
		if n > 0 {
			v.err = fmt.Errorf("blob: put %s: content is longer than its size", v.sha)
			return v.err
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			v.err = fmt.Errorf("blob: put %s: %w", v.sha, err)
			return v.err
		}
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.sha {
		v.err = fmt.Errorf("blob: put %s: content has digest %s", v.sha, got)
		return v.err
	}
	return nil
}

// s3Object is an open blob. Reads after a Seek, and ReadAt, are ranged
// GETs, so http.ServeContent serves ranges without reading the whole blob.
type s3Object struct {
	*minio.Object
	size    int64
	modTime time.Time
	cancel  context.CancelFunc
}

func (o *s3Object) Close() error {
	err := o.Object.Close()
	o.cancel()
	return err
}

func (o *s3Object) Size() int64        { return o.size }
func (o *s3Object) ModTime() time.Time { return o.modTime }

// Open implements Store. The GET is sent at once, so that a missing blob
// is ErrNotFound here rather than at the first Read.
func (s *S3) Open(ctx context.Context, sha string) (Object, error) {
	if !ValidDigest(sha) {
		return nil, ErrNotFound
	}
	// The object reads with ctx until it is closed, so the first answer
	// is bounded by a timer rather than a deadline.
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(s3OpTimeout, cancel)
	obj, err := s.client.GetObject(ctx, s.cfg.bucket, s.key(Key(sha)), minio.GetObjectOptions{})
	var info minio.ObjectInfo
	if err == nil {
		info, err = obj.Stat()
	}
	if !timer.Stop() {
		err = fmt.Errorf("no answer within %v: %w", s3OpTimeout, context.DeadlineExceeded)
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		cancel()
		return nil, s.fault("open", err)
	}
	return &s3Object{Object: obj, size: info.Size, modTime: info.LastModified, cancel: cancel}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, sha string) (Info, error) {
	if !ValidDigest(sha) {
		return Info{}, ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s3OpTimeout)
	defer cancel()
	info, err := s.client.StatObject(ctx, s.cfg.bucket, s.key(Key(sha)), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fault("stat", err)
	}
	return Info{SHA256: sha, Size: info.Size, ModTime: info.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, sha string) error {
	if !ValidDigest(sha) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s3OpTimeout)
	defer cancel()
	err := s.client.RemoveObject(ctx, s.cfg.bucket, s.key(Key(sha)), minio.RemoveObjectOptions{})
	if err != nil {
		if err = s.fault("delete", err); errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// Walk implements Store. It lists PREFIX/sha256/ and skips names that are
// not blobs.
func (s *S3) Walk(ctx context.Context, fn func(Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	ch := s.client.ListObjects(ctx, s.cfg.bucket, minio.ListObjectsOptions{Prefix: s.key("sha256/"), Recursive: true})
	defer func() {
		cancel()
		for range ch { // let the lister end
		}
	}()
	for obj := range ch {
		if obj.Err != nil {
			return s.fault("walk", obj.Err)
		}
		name := obj.Key[strings.LastIndexByte(obj.Key, '/')+1:]
		if !ValidDigest(name) || obj.Key != s.key(Key(name)) {
			continue
		}
		if err := fn(Info{SHA256: name, Size: obj.Size, ModTime: obj.LastModified}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Probe implements Store: it writes and removes a file in the local spool
// (uploads are received there: a full disk under --data fails them), then
// PREFIX/probe/<random> in the bucket.
func (s *S3) Probe(ctx context.Context) error {
	if err := s.spool.probe(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s3OpTimeout)
	defer cancel()
	var b [8]byte
	rand.Read(b[:])
	key := s.key("probe/" + hex.EncodeToString(b[:]))
	if _, err := s.client.PutObject(ctx, s.cfg.bucket, key, strings.NewReader("probe"), 5, s.putOpts); err != nil {
		return s.fault("probe", err)
	}
	if err := s.client.RemoveObject(ctx, s.cfg.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return s.fault("probe", err)
	}
	return nil
}

// PresignGet implements Presigner. The URL serves the blob as an
// attachment named filename with the given content type; it is signed for
// the public endpoint when the storage URL names one.
func (s *S3) PresignGet(ctx context.Context, sha, filename, contentType string, ttl time.Duration) (*url.URL, error) {
	if !ValidDigest(sha) {
		return nil, ErrNotFound
	}
	params := url.Values{
		"response-content-disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": filename})},
		"response-content-type":        {contentType},
	}
	u, err := s.signer.PresignedGetObject(ctx, s.cfg.bucket, s.key(Key(sha)), ttl, params)
	if err != nil {
		return nil, s.fault("presign", err)
	}
	return u, nil
}

// Incomplete implements Incompleter: it lists the multipart uploads under
// PREFIX/sha256/ that were started and never completed or aborted (a
// process died during a Commit or Put). Key is the object key in the
// bucket.
func (s *S3) Incomplete(ctx context.Context, fn func(Incomplete) error) error {
	ctx, cancel := context.WithCancel(ctx)
	ch := s.client.ListIncompleteUploads(ctx, s.cfg.bucket, s.key("sha256/"), true)
	defer func() {
		cancel()
		for range ch { // let the lister end
		}
	}()
	for up := range ch {
		if up.Err != nil {
			return s.fault("list incomplete", up.Err)
		}
		if err := fn(Incomplete{Key: up.Key, UploadID: up.UploadID, Started: up.Initiated}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// AbortIncomplete implements Incompleter: it aborts the one upload
// Incomplete listed, not a newer one of the same digest another replica may
// be sending. Keys outside this store's blobs are refused.
func (s *S3) AbortIncomplete(ctx context.Context, up Incomplete) error {
	if !strings.HasPrefix(up.Key, s.key("sha256/")) || up.UploadID == "" {
		return fmt.Errorf("blob: abort incomplete %q: not an upload of a blob of %s", up.Key, s)
	}
	core := minio.Core{Client: s.client}
	if err := core.AbortMultipartUpload(ctx, s.cfg.bucket, up.Key, up.UploadID); err != nil {
		return s.fault("abort incomplete", err)
	}
	return nil
}
