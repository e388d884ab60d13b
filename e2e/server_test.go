package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverOptions configure startServer.
type serverOptions struct {
	// Binary is the cheeseshop binary to serve with (clockBinary); the
	// one TestMain built when empty.
	Binary string
	// Data is the --data folder; a new temporary one when empty.
	Data string
	// Database is --database; SQLite in Data when empty.
	Database string
	// Storage is --storage; the folder Data/files when empty.
	Storage string
	// Env is more environment (KEY=VALUE) for serve and admin commands,
	// such as the S3 credentials.
	Env []string
	// Args are more `serve` flags.
	Args []string
	// ExpectLog are substrings of the warnings and errors the test
	// provokes: a log line at WARN or ERROR holding one of them is no
	// server bug.
	ExpectLog []string
}

// server is a running `cheeseshop serve` process.
type server struct {
	t        testing.TB
	URL      string // http://127.0.0.1:PORT, from the first line of stdout
	Data     string
	Database string
	Storage  string
	env      []string // the commands' environment

	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed

	expectLog []string // serverOptions.ExpectLog
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var listeningLine = regexp.MustCompile(`^cheeseshop listening on (http://(?:127\.0\.0\.1|localhost):\d+)$`)

// startServer starts `cheeseshop serve --addr 127.0.0.1:0`, waits for the
// line that says where it listens, and stops it (SIGTERM) when the test
// ends. The server's log (stderr) is kept and shown if the test fails.
func startServer(t testing.TB, opts serverOptions) *server {
	t.Helper()
	defer timed(t, "server start")()
	if opts.Data == "" {
		opts.Data = t.TempDir()
	}
	args := []string{"serve", "--data", opts.Data, "--addr", "127.0.0.1:0"}
	if opts.Database != "" {
		args = append(args, "--database", opts.Database)
	}
	if opts.Storage != "" {
		args = append(args, "--storage", opts.Storage)
	}
	args = append(args, opts.Args...)
	s := &server{t: t, Data: opts.Data, Database: opts.Database, Storage: opts.Storage, env: cleanEnv(opts.Env...),
		stderr: &syncBuffer{}, done: make(chan struct{}), expectLog: opts.ExpectLog}
	bin := opts.Binary
	if bin == "" {
		bin = binPath
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = s.env
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting cheeseshop serve: %v", err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		io.Copy(io.Discard, stdout) // the rest of the banner
	}()
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)

	select {
	case line, ok := <-first:
		m := listeningLine.FindStringSubmatch(line)
		if !ok || m == nil {
			<-s.done
			t.Fatalf("cheeseshop serve printed %q instead of `cheeseshop listening on http://127.0.0.1:PORT` (exit: %v); stderr:\n%s",
				line, s.waitErr, s.stderr.String())
		}
		s.URL = m[1]
	case <-time.After(60 * time.Second):
		t.Fatalf("cheeseshop serve did not say where it listens within 60s; stderr:\n%s", s.stderr.String())
	}
	t.Logf("server %s (data %s)", s.URL, s.Data)
	return s
}

// exited reports whether the process has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop shuts the server down with SIGTERM and checks that it exits
// cleanly. It runs at cleanup; a killed server is left alone.
func (s *server) stop() {
	t := s.t
	if !s.exited() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			if s.waitErr != nil {
				t.Errorf("server %s exited with %v after SIGTERM, want a clean exit", s.URL, s.waitErr)
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			t.Errorf("server %s did not stop within 30s of SIGTERM", s.URL)
		}
	}
	// An error in the server's log is a server bug, even if every client
	// was happy.
	var problems []string
	for line := range strings.SplitSeq(s.stderr.String(), "\n") {
		if (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") || strings.Contains(line, "panic")) &&
			!slices.ContainsFunc(s.expectLog, func(e string) bool { return strings.Contains(line, e) }) {
			problems = append(problems, line)
		}
	}
	if len(problems) > 0 {
		t.Errorf("server %s logged errors or warnings:\n%s", s.URL, lastLines(strings.Join(problems, "\n"), 50))
	}
	if t.Failed() {
		t.Logf("server %s log (last lines):\n%s", s.URL, lastLines(s.stderr.String(), 150))
	}
}

// kill kills the server with SIGKILL, as a crash or the OOM killer would,
// and waits until it is gone.
func (s *server) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("SIGKILL: %v", err)
	}
	<-s.done
}

// Log is what the server has logged so far.
func (s *server) Log() string { return s.stderr.String() }

// waitLog polls the server's log until it contains substr (the log is
// copied from the process asynchronously) and reports whether it did
// within 10 seconds.
func (s *server) waitLog(substr string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Log(), substr) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		// pip's user agent is a long JSON document.
		if j := strings.Index(l, ` ua="pip/`); j >= 0 {
			l = l[:j] + ` ua="pip/…"`
		}
		if len(l) > 400 {
			l = l[:400] + "…"
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// admin runs `cheeseshop admin ARGS` on the server's data folder,
// database and storage, and returns its standard output.
func (s *server) admin(t testing.TB, args ...string) string {
	t.Helper()
	args = append(append([]string{"admin"}, args...), "--data", s.Data)
	if s.Database != "" {
		args = append(args, "--database", s.Database)
	}
	if s.Storage != "" {
		args = append(args, "--storage", s.Storage)
	}
	cmd := exec.Command(binPath, args...)
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cheeseshop %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// startWithUploader starts a server (startServer) with the account
// "alice", and returns it and an upload token of hers.
func startWithUploader(t testing.TB, opts serverOptions) (*server, string) {
	t.Helper()
	s := startServer(t, opts)
	s.createUser(t, "alice")
	return s, s.token(t, "alice")
}

// createUser creates an account with a generated password.
func (s *server) createUser(t testing.TB, username string) {
	t.Helper()
	out := s.admin(t, "user", "create", "--username", username, "--email", username+"@example.org")
	if !strings.Contains(out, "created user "+username) {
		t.Fatalf("admin user create said %q", out)
	}
}

var generatedPassword = regexp.MustCompile(`(?m)^password: (\S+)$`)

// createUserPassword creates an account (an administrator with admin)
// with `cheeseshop admin user create` and returns its generated password.
func (s *server) createUserPassword(t testing.TB, username string, admin bool) string {
	t.Helper()
	args := []string{"user", "create", "--username", username, "--email", username + "@example.org"}
	if admin {
		args = append(args, "--admin")
	}
	out := s.admin(t, args...)
	m := generatedPassword.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("admin user create printed no password: %q", out)
	}
	return m[1]
}

// token creates an upload-only API token for the user, scoped to the
// projects if any.
func (s *server) token(t testing.TB, username string, projects ...string) string {
	t.Helper()
	return s.newToken(t, username, false, projects...)
}

// manageToken creates an API token with the management permission.
func (s *server) manageToken(t testing.TB, username string, projects ...string) string {
	t.Helper()
	return s.newToken(t, username, true, projects...)
}

func (s *server) newToken(t testing.TB, username string, manage bool, projects ...string) string {
	t.Helper()
	args := []string{"token", "create", "--username", username}
	if manage {
		args = append(args, "--manage")
	}
	for _, p := range projects {
		args = append(args, "--project", p)
	}
	tok := strings.TrimSpace(s.admin(t, args...))
	if tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("admin token create printed %q, want only a token", tok)
	}
	return tok
}

var httpClient = &http.Client{Timeout: 60 * time.Second}

// get fetches a path (or an absolute URL) with optional header pairs
// ("Accept", "text/html") and returns the response and its body.
func (s *server) get(t testing.TB, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = s.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	return resp, body
}

// metrics is a scrape of /metrics: sample value by `name{labels}` as the
// Prometheus text format writes it (labels sorted by name).
type metrics map[string]float64

func (s *server) metrics(t testing.TB) metrics {
	t.Helper()
	resp, body := s.get(t, "/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	m := metrics{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m
}

// get returns the value of a sample, 0 when absent (a counter that never
// moved). labels are name, value pairs in any order.
func (m metrics) get(name string, labels ...string) float64 {
	type kv struct{ k, v string }
	var pairs []kv
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, kv{labels[i], labels[i+1]})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	key := name
	if len(pairs) > 0 {
		parts := make([]string, len(pairs))
		for i, p := range pairs {
			parts[i] = p.k + `="` + p.v + `"`
		}
		key += "{" + strings.Join(parts, ",") + "}"
	}
	return m[key]
}

// Counters the tests read.
func simpleJSON(m metrics) float64 {
	return m.get("cheeseshop_simple_responses_total", "page", "project", "format", "json")
}

func simpleHTML(m metrics) float64 {
	return m.get("cheeseshop_simple_responses_total", "page", "project", "format", "html")
}

func metadataOK(m metrics) float64 {
	return m.get("cheeseshop_file_responses_total", "kind", "metadata", "status", "2xx")
}

func distributionOK(m metrics) float64 {
	return m.get("cheeseshop_file_responses_total", "kind", "distribution", "status", "2xx")
}

func uploads(m metrics, result string) float64 {
	return m.get("cheeseshop_uploads_total", "result", result)
}

// readDirNames lists a folder's entries, sorted.
func readDirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
