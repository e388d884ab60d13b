package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Options are what Open needs besides the storage URL.
type Options struct {
	// DataDir is the server's local data folder. The default store lives
	// in DataDir/files; an S3 store spools uploads in DataDir/tmp.
	DataDir string
	// Logger receives the store's warnings. Nil discards them.
	Logger *slog.Logger
	// Credentials sign S3 requests. Nil reads them from the environment
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which
	// is what servers do; tests pass their own so that they can run in
	// parallel.
	Credentials *credentials.Credentials
}

// Open opens the store a storage URL names:
//
//	""                  the folder DataDir/files
//	file:///abs/path    a folder
//	s3://BUCKET/PREFIX?endpoint=https://host:port&region=us-east-1&lookup=auto&md5=false&part_size=16MiB&public_endpoint=https://cdn.example
//
// For s3, every query parameter is optional: endpoint defaults to
// https://s3.amazonaws.com (an http:// endpoint is used without TLS),
// region to us-east-1, lookup (path, dns or auto: how the bucket is named
// in requests) to auto, md5 (send Content-MD5, which some services such as
// R2 and B2 require; uploads then send their parts one after another, each
// buffered in memory) to false, part_size (of multipart uploads, 5MiB to
// 5GiB; at most one part per upload is held in memory) to 16MiB.
// public_endpoint, when set, is the host presigned download URLs name
// instead of endpoint (a CDN or a public name of the same service; with
// lookup=dns the bucket becomes a subdomain of it).
// Credentials never appear in the URL; see Options.Credentials.
//
// The store returned implements fmt.Stringer, naming it without secrets.
// An S3 store checks at once that its bucket exists.
func Open(ctx context.Context, rawURL string, o Options) (Store, error) {
	if rawURL == "" {
		if o.DataDir == "" {
			return nil, errors.New("blob: no storage URL and no data folder")
		}
		return openFS(filepath.Join(o.DataDir, "files"))
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blob: storage URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		dir, err := parseFileURL(u)
		if err != nil {
			return nil, err
		}
		return openFS(dir)
	case "s3":
		cfg, err := parseS3URL(u)
		if err != nil {
			return nil, err
		}
		s, err := openS3(ctx, cfg, o)
		if err != nil {
			return nil, err // not a nil *S3 in a non-nil Store
		}
		return s, nil
	default:
		return nil, fmt.Errorf("blob: storage URL %q: scheme must be file or s3 (file:///abs/path or s3://bucket/prefix?endpoint=https://host)", redact(u))
	}
}

// openFS is NewFS returning a nil Store on failure.
func openFS(dir string) (Store, error) {
	s, err := NewFS(dir)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseFileURL returns the absolute folder a file URL names.
func parseFileURL(u *url.URL) (string, error) {
	if u.Opaque != "" || u.Host != "" || !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("blob: storage URL %q: a file URL names an absolute folder: write file:///abs/path", redact(u))
	}
	if u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("blob: storage URL %q: a file URL takes no user and no query: write file:///abs/path", redact(u))
	}
	return filepath.Clean(u.Path), nil
}

// s3Config is a parsed s3:// storage URL.
type s3Config struct {
	bucket   string
	prefix   string // "" or "a/b", without slashes at either end
	endpoint *url.URL
	public   *url.URL // nil: presign with endpoint
	region   string
	lookup   minio.BucketLookupType
	md5      bool
	partSize uint64
}

const (
	defaultPartSize = 16 << 20
	minPartSize     = 5 << 20
	maxPartSize     = 5 << 30
)

func parseS3URL(u *url.URL) (*s3Config, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("blob: storage URL %q: %s", redact(u), fmt.Sprintf(format, args...))
	}
	if u.User != nil {
		return nil, bad("credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment and write s3://bucket/prefix")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, bad("no bucket: write s3://bucket/prefix")
	}
	if err := s3utils.CheckValidBucketNameStrict(u.Host); err != nil {
		return nil, bad("bucket %q: %v", u.Host, err)
	}
	cfg := &s3Config{bucket: u.Host, region: "us-east-1", lookup: minio.BucketLookupAuto, partSize: defaultPartSize}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return nil, bad("prefix %q: write it as names separated by single slashes, such as s3://bucket/cheeseshop/files", prefix)
			}
		}
	}
	cfg.prefix = prefix
	endpoint := "https://s3.amazonaws.com"
	for key, vals := range u.Query() {
		if len(vals) != 1 {
			return nil, bad("%s is given %d times: give it once", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "endpoint":
			endpoint = v
		case "public_endpoint":
			p, err := parseEndpoint(v)
			if err != nil {
				return nil, bad("public_endpoint: %v", err)
			}
			cfg.public = p
		case "region":
			if v == "" {
				return nil, bad("region is empty: write region=us-east-1 (or the bucket's region)")
			}
			cfg.region = v
		case "lookup":
			switch v {
			case "auto":
				cfg.lookup = minio.BucketLookupAuto
			case "path":
				cfg.lookup = minio.BucketLookupPath
			case "dns":
				cfg.lookup = minio.BucketLookupDNS
			default:
				return nil, bad("lookup=%s: write lookup=path, lookup=dns or lookup=auto", v)
			}
		case "md5":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("md5=%s: write md5=true or md5=false", v)
			}
			cfg.md5 = b
		case "part_size":
			n, err := parseSize(v)
			if err != nil || n < minPartSize || n > maxPartSize {
				return nil, bad("part_size=%s: write a size from 5MiB to 5GiB, such as part_size=16MiB", v)
			}
			cfg.partSize = n
		default:
			return nil, bad("unknown parameter %q: the parameters are endpoint, region, lookup, md5, part_size and public_endpoint", key)
		}
	}
	e, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, bad("endpoint: %v", err)
	}
	cfg.endpoint = e
	return cfg, nil
}

// parseEndpoint checks that s is an http or https URL naming only a host
// (and port).
func parseEndpoint(s string) (*url.URL, error) {
	e, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if e.Scheme != "http" && e.Scheme != "https" || e.Host == "" {
		return nil, fmt.Errorf("%q: write an http or https URL, such as https://s3.example.com:9000", s)
	}
	if e.User != nil || strings.Trim(e.Path, "/") != "" || e.RawQuery != "" || e.Fragment != "" {
		return nil, fmt.Errorf("%q: write only the scheme, host and port, such as https://s3.example.com:9000", e.Redacted())
	}
	return &url.URL{Scheme: e.Scheme, Host: e.Host}, nil
}

// parseSize parses a byte count with an optional binary unit: 5242880,
// 512KiB, 16MiB, 1GiB.
func parseSize(s string) (uint64, error) {
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<63)/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// redact returns u as a string without its user information, for
// messages: a URL may carry credentials by mistake.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
