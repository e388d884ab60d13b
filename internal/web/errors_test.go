package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// realFaults returns errors as the machinery really fails: a write to a
// full device, a refused connection.
func realFaults(t *testing.T) map[string]error {
	t.Helper()
	faults := map[string]error{}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("open /dev/full: %v", err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("a write to /dev/full succeeded")
	} else {
		faults["disk full"] = fmt.Errorf("blob: put: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a closed port accepted a connection")
	} else {
		faults["connection refused"] = fmt.Errorf("store: %w", err)
	}
	faults["postgres disk full"] = fmt.Errorf("store: insert: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"})
	faults["postgres shutting down"] = &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
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
		{"wrapped refusal", fmt.Errorf("ctx: %w", problem.New(problem.Forbidden, "x")), http.StatusForbidden},
		{"store not found", fmt.Errorf("ctx: %w", store.ErrNotFound), http.StatusNotFound},
		{"a bug", errors.New("nil map"), http.StatusInternalServerError},
		{"a constraint violated", &pgconn.PgError{Code: "23505"}, http.StatusInternalServerError},
	}
	for name, err := range realFaults(t) {
		tests = append(tests, struct {
			name string
			err  error
			want int
		}{name, err, http.StatusServiceUnavailable})
	}
	for _, tc := range tests {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("%s: statusOf(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestFaultAnswers checks what each audience is told of a fault and of a
// rate limit: the status, Retry-After, and a message that says to retry
// without internal details.
func TestFaultAnswers(t *testing.T) {
	fault := fmt.Errorf("store: insert into file_registry: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file \"base/16384/2619\""})
	limited := &problem.Error{Kind: problem.TooManyRequests, Message: "Too many attempts. Try again in 2 minutes.", RetryAfter: 90 * time.Second}
	s := newTestServer(t, store.SQLite).srv
	answers := map[string]func(http.ResponseWriter, *http.Request, error){
		"web UI": s.fail, "script (JSON)": (&twoFactorPages{s: s}).jsonFail, "management API": s.apiFail, "PyPI read": s.serverError,
	}
	for who, answer := range answers {
		rec := httptest.NewRecorder()
		answer(rec, httptest.NewRequest(http.MethodGet, "/", nil), fault)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" {
			t.Errorf("%s: a fault answered %d, Retry-After %q; want 503 and 30", who, rec.Code, rec.Header().Get("Retry-After"))
		}
		if body := rec.Body.String(); !strings.Contains(body, "Try again") || strings.Contains(body, "base/16384") {
			t.Errorf("%s: the answer to a fault must say to try again and hide the cause:\n%s", who, body)
		}
		if who == "PyPI read" {
			continue // reads refuse nothing
		}
		rec = httptest.NewRecorder()
		answer(rec, httptest.NewRequest(http.MethodGet, "/", nil), limited)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "90" ||
			!strings.Contains(rec.Body.String(), "Try again in 2 minutes") {
			t.Errorf("%s: a rate limit answered %d, Retry-After %q:\n%s", who, rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
		}
	}
}

// TestDatabaseOutage takes the server's PostgreSQL database away (it stops
// accepting connections, and the open ones are ended) and checks that every
// audience is told 503 with Retry-After, not 500; and that the server
// serves again once the database is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, store.Postgres)
	owner, token := s.user("olive")
	s.uploadDist(token, disttest.Dist{Name: "widget", Version: "0.9"}, false)
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
	manage := s.manageToken(owner)
	outage(true)
	t.Cleanup(func() { outage(false) })

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
