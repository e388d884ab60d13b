package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestS3Fault(t *testing.T) {
	// A real refused connection and a real timeout, as the client sees them.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, refused := http.Get("http://" + addr + "/")
	if refused == nil {
		t.Fatal("a closed port answered")
	}
	var dnsErr error = &url.Error{Op: "Get", URL: "http://nowhere.invalid/", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}
	timeoutCtx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-timeoutCtx.Done()

	resp := func(status int, code string) error {
		return minio.ErrorResponse{StatusCode: status, Code: code, Message: code + " message"}
	}
	tests := []struct {
		name     string
		err      error
		reason   Reason // "" = not a fault
		notFound bool
	}{
		{"refused connection", refused, Unreachable, false},
		{"dns", dnsErr, Unreachable, false},
		{"deadline", timeoutCtx.Err(), Unreachable, false},
		{"reset", fmt.Errorf("read: %w", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}), Unreachable, false},
		{"500 InternalError", resp(500, "InternalError"), Unreachable, false},
		{"502", resp(502, ""), Unreachable, false},
		{"503 SlowDown", resp(503, "SlowDown"), Unreachable, false},
		{"504", resp(504, ""), Unreachable, false},
		{"400 RequestTimeout", resp(400, "RequestTimeout"), Unreachable, false},
		{"429", resp(429, ""), Unreachable, false},
		{"507 InsufficientStorage", resp(507, "InsufficientStorage"), Full, false},
		{"507 without a code", resp(507, ""), Full, false},
		{"400 EntityTooLarge", resp(400, "EntityTooLarge"), Full, false},
		{"403 QuotaExceeded", resp(403, "QuotaExceeded"), Full, false},
		{"403 AccessDenied", resp(403, "AccessDenied"), Refused, false},
		{"403 InvalidAccessKeyId", resp(403, "InvalidAccessKeyId"), Refused, false},
		{"403 SignatureDoesNotMatch", resp(403, "SignatureDoesNotMatch"), Refused, false},
		{"403 RequestTimeTooSkewed", resp(403, "RequestTimeTooSkewed"), Refused, false},
		{"404 NoSuchBucket", resp(404, "NoSuchBucket"), Refused, false},
		{"403 without a code", resp(403, ""), Refused, false},
		{"404 NoSuchKey", resp(404, "NoSuchKey"), "", true},
		{"404 HEAD without a body", resp(404, ""), "", true},
		{"400 InvalidArgument", resp(400, "InvalidArgument"), "", false},
		{"412 PreconditionFailed", resp(412, "PreconditionFailed"), "", false},
		{"canceled", context.Canceled, "", false},
		{"plain", errors.New("blob: something else"), "", false},
	}
	s := &S3{logger: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.fault("op", tt.err)
			if got := errors.Is(err, ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
			}
			reason, ok := FaultReason(err)
			if reason != tt.reason || ok != (tt.reason != "") {
				t.Errorf("FaultReason(%v) = %q, %v; want %q", err, reason, ok, tt.reason)
			}
			if !errors.Is(err, tt.err) && !tt.notFound {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
		})
	}
	if s.fault("op", nil) != nil {
		t.Error("fault(nil) is not nil")
	}
}
