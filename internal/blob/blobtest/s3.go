package blobtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"cheeseshop/internal/blob"
)

// The environment scripts/test.sh sets for the S3 tests.
const (
	// EnvS3 is the storage URL of a bucket on a test S3 server
	// (s3://cheeseshop?endpoint=http://127.0.0.1:PORT&region=us-east-1&lookup=path).
	EnvS3 = "CHEESESHOP_TEST_S3"
	// EnvS3Credentials is its "key:secret".
	EnvS3Credentials = "CHEESESHOP_TEST_S3_CREDENTIALS"
	// EnvVersitygw is the path of the versitygw binary, for tests that run
	// a private S3 server (StartGateway).
	EnvVersitygw = "CHEESESHOP_TEST_VERSITYGW"
)

// S3 is a place of its own in a test S3 bucket: a storage URL with a fresh
// prefix, and the credentials it needs.
type S3 struct {
	// URL is the storage URL, for blob.Open or --storage.
	URL string
	// AccessKey and SecretKey sign requests.
	AccessKey, SecretKey string
}

// Credentials returns the credentials for blob.Options.
func (s S3) Credentials() *credentials.Credentials {
	return credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")
}

// Env returns the environment a server process needs to use the store
// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
func (s S3) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey}
}

// Open opens the store, with its spool in a temporary folder, and closes it
// when the test ends.
func (s S3) Open(t testing.TB) blob.Store {
	t.Helper()
	st, err := blob.Open(context.Background(), s.URL, blob.Options{DataDir: t.TempDir(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatalf("blobtest: open %s: %v", s.URL, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// RequireS3 returns a fresh prefix t/<random> of the test bucket that
// scripts/test.sh provides. It skips the test when there is none, and
// fails it under CI=true, where every test must run.
func RequireS3(t testing.TB) S3 {
	t.Helper()
	raw := os.Getenv(EnvS3)
	creds := os.Getenv(EnvS3Credentials)
	if raw == "" || creds == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s and %s are not set: run the tests with scripts/test.sh, which starts versitygw", EnvS3, EnvS3Credentials)
		}
		t.Skipf("%s is not set; scripts/test.sh starts versitygw and sets it", EnvS3)
	}
	key, secret, ok := strings.Cut(creds, ":")
	if !ok {
		t.Fatalf("%s must be key:secret", EnvS3Credentials)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvS3, err)
	}
	u.Path = "/" + path.Join(u.Path, "t", strings.ToLower(rand.Text()))
	return S3{URL: u.String(), AccessKey: key, SecretKey: secret}
}
