package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
// and those of S3-compatible servers) by what they say about the store.
var (
	s3FullCodes = map[string]bool{
		"InsufficientStorage":            true, // versitygw and MinIO on a full disk (507)
		"XMinioStorageFull":              true,
		"QuotaExceeded":                  true,
		"XMinioAdminBucketQuotaExceeded": true,
		minio.EntityTooLarge:             true, // our blobs are far below S3's 5 TiB: a quota said no
	}
	s3RefusedCodes = map[string]bool{
		minio.AccessDenied:             true,
		minio.InvalidAccessKeyID:       true,
		minio.SignatureDoesNotMatch:    true,
		minio.NoSuchBucket:             true,
		minio.AllAccessDisabled:        true,
		minio.RequestTimeTooSkewed:     true,
		minio.InvalidRegion:            true,
		"AuthorizationHeaderMalformed": true,
		"AccountProblem":               true,
		"InvalidToken":                 true,
		"ExpiredToken":                 true,
		"InvalidBucketState":           true,
	}
	s3UnreachableCodes = map[string]bool{
		minio.InternalError:    true,
		"SlowDown":             true,
		"SlowDownWrite":        true,
		"SlowDownRead":         true,
		"ServiceUnavailable":   true,
		"RequestTimeout":       true,
		"Throttling":           true,
		"RequestLimitExceeded": true,
		"TooManyRequests":      true,
		minio.IncompleteBody:   true, // the connection broke mid-request
	}
)

// fault classifies an error of the S3 client. A missing object becomes
// ErrNotFound; a failure of the store itself becomes a *Fault saying why
// (full, unreachable, refused); anything else, such as the caller giving
// up (context canceled), is returned wrapped as it is.
func (s *S3) fault(op string, err error) error {
	if err == nil {
		return nil
	}
	reason, notFound, ok := s3Reason(err)
	switch {
	case notFound:
		return fmt.Errorf("blob: %s: %w", op, ErrNotFound)
	case ok:
		return &Fault{Op: op, Reason: reason, Err: err}
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		s.logger.Warn("s3 error not classified", "op", op, "code", resp.Code, "status", resp.StatusCode, "err", err)
	}
	return fmt.Errorf("blob: %s: %w", op, err)
}

// s3Reason says whether err means a missing object or a store fault, and
// which.
func s3Reason(err error) (reason Reason, notFound, ok bool) {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey, resp.Code == "NoSuchObject":
			return "", true, false
		case s3FullCodes[resp.Code], resp.StatusCode == http.StatusInsufficientStorage:
			return Full, false, true
		case s3RefusedCodes[resp.Code]:
			return Refused, false, true
		case s3UnreachableCodes[resp.Code], resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests,
			resp.StatusCode == http.StatusRequestTimeout:
			return Unreachable, false, true
		case resp.StatusCode == http.StatusNotFound && resp.Code == "":
			return "", true, false
		case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return Refused, false, true
		}
		return "", false, false
	}
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up; the store may be fine.
		return "", false, false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Unreachable, false, true
	}
	var netErr net.Error // *url.Error, *net.OpError, *net.DNSError, timeouts
	if errors.As(err, &netErr) {
		return Unreachable, false, true
	}
	return "", false, false
}
