package blob

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

func TestParseS3URL(t *testing.T) {
	awsEndpoint := &url.URL{Scheme: "https", Host: "s3.amazonaws.com"}
	tests := []struct {
		url  string
		want s3Config
	}{
		{"s3://cheeseshop", s3Config{bucket: "cheeseshop", endpoint: awsEndpoint,
			region: "us-east-1", lookup: minio.BucketLookupAuto, partSize: 16 << 20}},
		{"s3://cheeseshop/", s3Config{bucket: "cheeseshop", endpoint: awsEndpoint,
			region: "us-east-1", lookup: minio.BucketLookupAuto, partSize: 16 << 20}},
		{"s3://cheeseshop/prod/files/", s3Config{bucket: "cheeseshop", prefix: "prod/files", endpoint: awsEndpoint,
			region: "us-east-1", lookup: minio.BucketLookupAuto, partSize: 16 << 20}},
		{"s3://b-1/p?endpoint=http://127.0.0.1:9000&region=eu-west-3&lookup=path&md5=true&part_size=5MiB",
			s3Config{bucket: "b-1", prefix: "p", endpoint: &url.URL{Scheme: "http", Host: "127.0.0.1:9000"},
				region: "eu-west-3", lookup: minio.BucketLookupPath, md5: true, partSize: 5 << 20}},
		{"s3://bkt/p?lookup=dns&part_size=5GiB&endpoint=https://s3.example.com/&public_endpoint=https://cdn.example",
			s3Config{bucket: "bkt", prefix: "p", endpoint: &url.URL{Scheme: "https", Host: "s3.example.com"},
				public: &url.URL{Scheme: "https", Host: "cdn.example"},
				region: "us-east-1", lookup: minio.BucketLookupDNS, partSize: 5 << 30}},
		{"s3://bkt?part_size=8388608&md5=false&lookup=auto", s3Config{bucket: "bkt", endpoint: awsEndpoint,
			region: "us-east-1", lookup: minio.BucketLookupAuto, partSize: 8 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseS3URL(u)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestOpenBadURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // in the error
	}{
		{"http://example.com/files", "scheme must be file or s3"},
		{"/var/lib/files", "scheme must be file or s3"},
		{"file://relative/path", "write file:///abs/path"},
		{"file:relative", "write file:///abs/path"},
		{"file:///abs?x=1", "takes no user and no query"},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://AKIA:secret@bucket/prefix", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"},
		{"s3://Bad_Bucket", "bucket \"Bad_Bucket\""},
		{"s3://bkt/a//b", "single slashes"},
		{"s3://bkt/a/../b", "single slashes"},
		{"s3://bkt?endpoint=ftp://host", "write an http or https URL"},
		{"s3://bkt?endpoint=host:9000", "write an http or https URL"},
		{"s3://bkt?endpoint=https://host/path", "write only the scheme, host and port"},
		{"s3://bkt?endpoint=https://u:p@host", "write only the scheme, host and port"},
		{"s3://bkt?public_endpoint=cdn.example", "public_endpoint"},
		{"s3://bkt?lookup=virtual", "write lookup=path, lookup=dns or lookup=auto"},
		{"s3://bkt?md5=maybe", "write md5=true or md5=false"},
		{"s3://bkt?part_size=4MiB", "from 5MiB to 5GiB"},
		{"s3://bkt?part_size=6GiB", "from 5MiB to 5GiB"},
		{"s3://bkt?part_size=16MB", "from 5MiB to 5GiB"},
		{"s3://bkt?part_size=99999999999999999999GiB", "from 5MiB to 5GiB"},
		{"s3://bkt?region=", "region is empty"},
		{"s3://bkt?region=a&region=b", "give it once"},
		{"s3://bkt?secret=x", `unknown parameter "secret"`},
		{"s3://bkt?access_key=AKIA", `unknown parameter "access_key"`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := Open(context.Background(), tt.url, Options{DataDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%q) = %v, want an error containing %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") && strings.Contains(tt.url, ":secret@") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestOpenFS(t *testing.T) {
	data := t.TempDir()
	abs := t.TempDir()
	tests := []struct {
		url  string
		want string
	}{
		{"", filepath.Join(data, "files")},
		{"file://" + abs, abs},
		{"file://" + abs + "/", abs},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := Open(context.Background(), tt.url, Options{DataDir: data})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.(fmt.Stringer).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := Open(context.Background(), "", Options{}); err == nil {
		t.Error(`Open("") without a data folder succeeded`)
	}
	// A failure returns a nil Store, not a nil *FS inside one.
	if s, err := Open(context.Background(), "file:///proc/cheeseshop", Options{}); err == nil || s != nil {
		t.Errorf("Open(file:///proc/cheeseshop) = %#v, %v; want nil and an error", s, err)
	}
}

func TestOpenS3Unreachable(t *testing.T) {
	// A port nothing listens on: Open fails fast with a fault, not a hang.
	_, err := Open(context.Background(), "s3://bkt?endpoint=http://127.0.0.1:1", Options{DataDir: t.TempDir()})
	if r, ok := FaultReason(err); !ok || r != Unreachable {
		t.Fatalf("Open = %v, want an unreachable fault", err)
	}
}
