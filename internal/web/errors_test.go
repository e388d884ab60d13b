package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// realFaults returns errors as the machinery really fails, each with the
// cause the log names: a write to a full device, a refused connection
// (to the database, and to S3 storage as minio-go reports it, wrapped by
// the store), PostgreSQL out of disk and shutting down, and a storage
// fault of each reason.
func realFaults(t *testing.T) map[string]struct {
	err   error
	cause string
} {
	t.Helper()
	type fault = struct {
		err   error
		cause string
	}
	faults := map[string]fault{}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open /dev/full: %v", err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("a write to /dev/full succeeded")
	} else {
		faults["disk full (ENOSPC)"] = fault{fmt.Errorf("blob: put: %w", err), "storage-full"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	refused, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		refused.Close()
		t.Fatal("a closed port accepted a connection")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dialing a closed port: %v, want ECONNREFUSED", err)
	}
	faults["database connection refused (ECONNREFUSED)"] = fault{fmt.Errorf("store: %w", err), "database"}
	faults["storage connection refused (ECONNREFUSED)"] = fault{fmt.Errorf("index: commit: %w", &blob.Fault{Op: "put", Reason: blob.Unreachable,
		Err: &url.Error{Op: "Put", URL: "http://" + addr + "/cheeseshop/sha256/ab/cd/abcd", Err: err}}), "storage-unreachable"}
	faults["storage full (507)"] = fault{&blob.Fault{Op: "put", Reason: blob.Full, Err: errors.New("InsufficientStorage: 507")}, "storage-full"}
	faults["storage refuses the credentials"] = fault{&blob.Fault{Op: "open", Reason: blob.Refused, Err: errors.New("InvalidAccessKeyId")}, "storage-refused"}
	faults["postgres disk full"] = fault{fmt.Errorf("store: insert: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), "database"}
	faults["postgres shutting down"] = fault{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, "database"}
	return faults
}

// TestStatusOf is the one mapping of the error vocabulary to HTTP.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"invalid", problem.New(problem.Invalid, "x"), http.StatusBadRequest},
		{"unauthenticated", problem.New(problem.Unauthenticated, "x"), http.StatusUnauthorized},
		{"forbidden", problem.New(problem.Forbidden, "x"), http.StatusForbidden},
		{"not found", problem.New(problem.NotFound, "x"), http.StatusNotFound},
		{"conflict", problem.New(problem.Conflict, "x"), http.StatusConflict},
		{"gone", problem.New(problem.Gone, "x"), http.StatusGone},
		{"rate limited", problem.New(problem.TooManyRequests, "x"), http.StatusTooManyRequests},
		{"unavailable", problem.New(problem.Unavailable, "x"), http.StatusServiceUnavailable},
		{"bad gateway", problem.New(problem.BadGateway, "x"), http.StatusBadGateway},
		{"wrapped refusal", fmt.Errorf("ctx: %w", problem.New(problem.Forbidden, "x")), http.StatusForbidden},
		{"store not found", fmt.Errorf("ctx: %w", store.ErrNotFound), http.StatusNotFound},
		{"a bug", errors.New("nil map"), http.StatusInternalServerError},
		{"a constraint violated", &pgconn.PgError{Code: "23505"}, http.StatusInternalServerError},
	}
	for name, f := range realFaults(t) {
		tests = append(tests, struct {
			name string
			err  error
			want int
		}{name, f.err, http.StatusServiceUnavailable})
	}
	for _, tc := range tests {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("%s: statusOf(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// faultSays is what clients are told of each cause of a fault.
var faultSays = map[string]string{
	"storage-full":        "The index is temporarily unavailable (its file storage is full), retry in 30 seconds.",
	"storage-unreachable": "The index is temporarily unavailable (its file storage is not answering), retry in 30 seconds.",
	"storage-refused":     "The index is temporarily unavailable (its file storage refuses the server's credentials), retry in 30 seconds.",
	"database":            "The index is temporarily unavailable (its database is not answering), retry in 30 seconds.",
}

// TestFaultAnswers checks what each audience is told of a fault and of a
// rate limit: the status, Retry-After, and a message that says what is
// unavailable and to retry, without internal details; and that the log
// names the fault's cause.
func TestFaultAnswers(t *testing.T) {
	limited := &problem.Error{Kind: problem.TooManyRequests, Message: "Too many attempts. Try again in 2 minutes.", RetryAfter: 90 * time.Second}
	var log syncBuffer
	s := newTestServerWith(t, store.SQLite, serverConfig{Log: slog.New(slog.NewTextHandler(&log, nil))}).srv
	answers := map[string]func(http.ResponseWriter, *http.Request, error){
		"web UI": s.fail, "script (JSON)": (&twoFactorPages{s: s}).jsonFail, "management API": s.apiFail, "PyPI read": s.serverError,
		"upload API": s.pypiFail,
	}
	for name, f := range realFaults(t) {
		secret := f.err.Error()[len(f.err.Error())/2:] // some of the cause's text
		for who, answer := range answers {
			rec := httptest.NewRecorder()
			before := len(log.String())
			answer(rec, httptest.NewRequest(http.MethodPost, "/some/where", nil), f.err)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" {
				t.Errorf("%s, %s: answered %d, Retry-After %q; want 503 and 30", name, who, rec.Code, rec.Header().Get("Retry-After"))
			}
			// A shared cache (a CDN keeps a 503 for seconds unless told
			// otherwise) must not answer the fault to others after it ends.
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s, %s: Cache-Control %q, want no-store", name, who, cc)
			}
			body := rec.Body.String()
			if who == "upload API" {
				// twine prints the reason phrase (X-Error-Message without a
				// raw connection to write it on).
				body = rec.Header().Get("X-Error-Message")
			}
			if want := faultSays[f.cause]; !strings.Contains(html.UnescapeString(body), want) || strings.Contains(body, secret) {
				t.Errorf("%s, %s: the answer must say %q and hide the cause %q:\n%s", name, who, want, secret, body)
			}
			logged := log.String()[before:]
			if !strings.Contains(logged, `msg=fault cause=`+f.cause+` `) || !strings.Contains(logged, "path=/some/where") {
				t.Errorf("%s, %s: the log does not name the cause %s:\n%s", name, who, f.cause, logged)
			}
		}
	}
	for who, answer := range answers {
		if who == "PyPI read" {
			continue // reads refuse nothing
		}
		rec := httptest.NewRecorder()
		answer(rec, httptest.NewRequest(http.MethodGet, "/", nil), limited)
		got := rec.Body.String() + rec.Header().Get("X-Error-Message")
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "90" || !strings.Contains(got, "Try again in 2 minutes") {
			t.Errorf("%s: a rate limit answered %d, Retry-After %q:\n%s", who, rec.Code, rec.Header().Get("Retry-After"), got)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: a rate limit with Cache-Control %q, want no-store", who, cc)
		}
	}
	// An unexpected failure of a read, whose answers are public otherwise.
	rec := httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "max-age=600, public")
	s.serverError(rec, httptest.NewRequest(http.MethodGet, "/simple/", nil), errors.New("unexpected"))
	if cc := rec.Header().Get("Cache-Control"); rec.Code != http.StatusInternalServerError || cc != "no-store" {
		t.Errorf("PyPI read, unexpected failure: %d with Cache-Control %q, want 500 and no-store", rec.Code, cc)
	}
}

// databaseOutage returns a switch that takes the PostgreSQL database of s
// away (it stops accepting connections, and the open ones are ended) and
// brings it back; the database is back when the test ends.
func databaseOutage(t *testing.T, s *testServer) func(down bool) {
	t.Helper()
	ctx := context.Background()
	var name string
	if err := s.st.DB().QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", storetest.RequirePostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() }) // after the outage ends (cleanups run last first)
	outage := func(down bool) {
		t.Helper()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS %t`, name, !down)); err != nil {
			t.Fatal(err)
		}
		if down {
			if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() { outage(false) })
	return outage
}

// TestDatabaseOutage takes the server's PostgreSQL database away and
// checks that every audience is told 503 with Retry-After, not 500; and
// that the server serves again once the database is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.Postgres)
	owner, token := s.user("olive")
	s.uploadDist(token, disttest.Dist{Name: "widget", Version: "0.9"}, false)
	outage := databaseOutage(t, s)
	manage := s.manageToken(owner)
	outage(true)

	for _, path := range []string{"/project/widget/", "/simple/widget/", "/pypi/widget/json", "/user/olive/", "/search/?q=widget"} {
		resp, body := s.get(path)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s while the database is down: %d, Retry-After %q, want 503 with Retry-After\n%s",
				path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	resp, body := s.do(s.uploadRequest(token, nil, "", nil))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("upload while the database is down: %d, Retry-After %q, want 503\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+manage)
	if resp, body := s.do(req); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("management API while the database is down: %d, want 503\n%s", resp.StatusCode, body)
	}

	outage(false)
	s.uploadDist(token, disttest.Dist{Name: "widget", Version: "1.0"}, false)
	if resp, body := s.get("/simple/widget/"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the outage: %d\n%s", resp.StatusCode, body)
	}
}

// TestDatabaseLocked: with SQLite's write lock held by another writer
// beyond the busy timeout, an upload and a change through the management
// API are answered 503 with Retry-After and say that the database is not
// answering, while reads go on; once the lock is released, the same
// upload succeeds.
func TestDatabaseLocked(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.SQLite)
	owner, token := s.user("olive")
	s.uploadDist(token, disttest.Dist{Name: "widget", Version: "0.9"}, false)
	manage := s.manageToken(owner)
	d := disttest.Dist{Name: "widget", Version: "1.0"}
	upload := func() *http.Request {
		return s.uploadRequest(token, d.Form("bdist_wheel", d.Wheel()), d.WheelFilename(), d.Wheel())
	}

	release := storetest.HoldWriteLock(t, s.st)
	if resp, body := s.get("/simple/widget/"); resp.StatusCode != http.StatusOK {
		t.Errorf("a read while the database is locked: %d\n%s", resp.StatusCode, body)
	}
	// Both wait out the busy timeout (10 s) at once.
	yank, _ := http.NewRequest(http.MethodPost, s.URL+"/api/projects/widget/releases/0.9/yank", strings.NewReader(`{"reason": "locked"}`))
	yank.Header.Set("Authorization", "Bearer "+manage)
	yank.Header.Set("Content-Type", "application/json")
	type answer struct {
		what   string
		status string
		header http.Header
		body   []byte
		err    error
	}
	answers := make(chan answer, 2)
	for what, req := range map[string]*http.Request{"upload": upload(), "yank through the management API": yank} {
		go func() {
			a := answer{what: what}
			resp, err := s.client.Do(req)
			if a.err = err; err == nil {
				a.status, a.header = resp.Status, resp.Header
				a.body, a.err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			answers <- a
		}()
	}
	want := faultSays["database"]
	for range 2 {
		a := <-answers
		if a.err != nil {
			t.Errorf("%s while the database is locked: %v", a.what, a.err)
			continue
		}
		if !strings.HasPrefix(a.status, "503 ") || a.header.Get("Retry-After") != "30" || !strings.Contains(a.status+" "+string(a.body), want) {
			t.Errorf("%s while the database is locked: %s, Retry-After %q, want 503 saying %q\n%s",
				a.what, a.status, a.header.Get("Retry-After"), want, a.body)
		}
	}
	release()
	if resp, body := s.do(upload()); resp.StatusCode != http.StatusOK {
		t.Errorf("the upload once the lock is released: %s\n%s", resp.Status, body)
	}
}
