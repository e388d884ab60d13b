package e2e

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Debian's packaging clients driven by the tests beside twine, pip and
// flit (poetry_test.go, pdm_test.go, pipenv_test.go, pipx_test.go).
const (
	debPoetry = "/usr/bin/poetry"
	debPdm    = "/usr/bin/pdm"
	debPipenv = "/usr/bin/pipenv"
	debPipx   = "/usr/bin/pipx"
)

// clientEnv is the environment of a packaging client in a test: cleanEnv
// without the clients' own settings (POETRY_*, PDM_*, PIPENV_*, PIPX_*,
// XDG_*, ...), Debian's programs alone on PATH (so that every client
// picks Debian's Python, not a pyenv one), HOME, the XDG folders and
// TMPDIR in a folder of the test (no user configuration, cache or
// keyring is read or written), the null keyring (no Secret Service
// prompt), and no network but 127.0.0.1: every proxy variable points at a
// tripwire that fails the test if a client asks for anything else
// (NO_PROXY lets 127.0.0.1 and localhost through). Standard input is
// /dev/null (runCmd), so nothing can prompt. extra (KEY=VALUE) comes last.
func clientEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	w := newTripwire(t)
	t.Cleanup(func() {
		if hits := w.Hits(); len(hits) > 0 {
			t.Errorf("a client tried to reach beyond 127.0.0.1 (through the proxy variables): %q", hits)
		}
	})
	return clientEnvVia(t, w, extra...)
}

// clientEnvVia is clientEnv with the network going through w, whose
// hits the test checks itself.
func clientEnvVia(t testing.TB, w *tripwire, extra ...string) []string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	dirs := map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_STATE_HOME":  filepath.Join(home, ".local", "state"),
		"TMPDIR":          filepath.Join(home, "tmp"),
	}
	var env []string
	for _, kv := range cleanEnv() {
		k, _, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		switch {
		case strings.HasPrefix(uk, "POETRY_"), strings.HasPrefix(uk, "PDM_"), strings.HasPrefix(uk, "PIPENV_"),
			strings.HasPrefix(uk, "PIPX_"), strings.HasPrefix(uk, "FLIT_"), strings.HasPrefix(uk, "UV_"),
			strings.HasPrefix(uk, "VIRTUALENV_"), strings.HasPrefix(uk, "PYENV"), strings.HasPrefix(uk, "XDG_"),
			strings.HasPrefix(uk, "CONDA"), uk == "PATH", uk == "TMPDIR", uk == "HOME", uk == "REQUESTS_CA_BUNDLE":
			continue
		}
		env = append(env, kv)
	}
	for k, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+dir)
	}
	env = append(env, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring",
		"HTTP_PROXY="+w.URL, "HTTPS_PROXY="+w.URL, "http_proxy="+w.URL, "https_proxy="+w.URL, "ALL_PROXY="+w.URL)
	return append(env, extra...)
}

// tripwire is a stand-in proxy that records the first line of every
// request (CONNECT pypi.org:443, GET http://…) and answers 403 at once,
// so that a client fails fast instead of waiting on a network the
// machine may not have.
type tripwire struct {
	URL string

	mu   sync.Mutex
	hits []string
}

// newTripwire starts a tripwire; it stops at the test's end.
func newTripwire(t testing.TB) *tripwire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &tripwire{URL: "http://" + ln.Addr().String()}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				w.mu.Lock()
				w.hits = append(w.hits, strings.TrimSpace(line))
				w.mu.Unlock()
				c.Write([]byte("HTTP/1.1 403 Forbidden (the test allows no network)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return w
}

// Hits are the request lines the tripwire has seen.
func (w *tripwire) Hits() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.hits)
}

// copyProject copies testdata/<name> to a fresh folder of the test and
// returns that folder.
func copyProject(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFiles writes files (name → content) into dir, making dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFile is the content of a file, or a fatal error.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runScript runs a console script a client installed and checks that it
// printed want.
func runScript(t testing.TB, env []string, path, want string) {
	t.Helper()
	r := runCmd(t, "", env, path)
	if r.Code != 0 || strings.TrimSpace(r.Out) != want {
		t.Fatalf("%s: exit %d, printed %q, want %q", path, r.Code, r.Out, want)
	}
}

// lockHasHashes checks that a lock file pins every given distribution
// file by its SHA-256, as the index announced it.
func lockHasHashes(t testing.TB, lockName, lock string, files ...string) {
	t.Helper()
	for _, f := range files {
		if !strings.Contains(lock, "sha256:"+sha256File(t, f)) {
			t.Errorf("%s lacks the sha256 of %s:\n%s", lockName, filepath.Base(f), lock)
		}
	}
}
