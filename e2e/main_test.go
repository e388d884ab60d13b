package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/testtemp"
)

var (
	// binPath is the cheeseshop binary built by TestMain.
	binPath string
	// sharedDir holds what tests share (the binary, the Python
	// distributions); TestMain removes it.
	sharedDir string
)

// TestMain runs the tests with a temporary folder of their own (TMPDIR,
// which the servers, Chromium, pip and twine use too), and fails the run
// if they leave anything in it (testtemp.Run).
func TestMain(m *testing.M) {
	os.Exit(testtemp.Run("cheeseshop-e2e-", os.Stderr, func() int { return testMain(m) }))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "shared-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sharedDir = dir

	start := time.Now()
	binPath = filepath.Join(dir, "cheeseshop")
	cmd := exec.Command(goCommand(), "build", "-o", binPath, "cheeseshop/cmd/cheeseshop")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building cheeseshop: %v\n", err)
		return 1
	}
	fmt.Printf("e2e: built cheeseshop in %s\n", time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// testClockTag is the build tag of a binary whose clock a test moves
// (cmd/cheeseshop/clock_testclock.go).
const testClockTag = "cheeseshop_testclock"

var (
	clockBinOnce sync.Once
	clockBinPath string
	clockBinErr  error
	clockBinTook time.Duration
)

// clockBinary builds, once for all tests, the cheeseshop binary with the
// test clock (-tags cheeseshop_testclock): serve adds to its clock the
// offset written in the file CHEESESHOP_TEST_CLOCK_FILE names. Only the
// main package recompiles. Tests use it only where the clock moves.
func clockBinary(t testing.TB) string {
	t.Helper()
	clockBinOnce.Do(func() {
		start := time.Now()
		clockBinPath = filepath.Join(sharedDir, "cheeseshop-testclock")
		out, err := exec.Command(goCommand(), "build", "-tags", testClockTag, "-o", clockBinPath, "cheeseshop/cmd/cheeseshop").CombinedOutput()
		if err != nil {
			clockBinErr = fmt.Errorf("go build -tags %s: %v\n%s", testClockTag, err, out)
		}
		clockBinTook = time.Since(start)
	})
	if clockBinErr != nil {
		t.Fatal(clockBinErr)
	}
	t.Logf("⏱ cheeseshop with the test clock (built once for all tests): %s", clockBinTook.Round(time.Millisecond))
	return clockBinPath
}

// moveClock sets the offset of the test clock in file (see
// clockBinary), atomically: a server never reads a half-written file.
func moveClock(t testing.TB, file string, offset time.Duration) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(offset.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// TestReleaseBinaryHasNoTestClock: the binary every other test runs (built
// as a release is) was built without the test clock's tag, and holds none
// of its code, so a test that passes proves nothing a moved clock did.
func TestReleaseBinaryHasNoTestClock(t *testing.T) {
	out, err := exec.Command(goCommand(), "version", "-m", binPath).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", binPath, err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "build" && strings.HasPrefix(f[1], "-tags=") {
			t.Errorf("the e2e binary was built with %s", f[1])
		}
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bin, []byte("CHEESESHOP_TEST_CLOCK_FILE")) {
		t.Error("the e2e binary holds the test clock's code (CHEESESHOP_TEST_CLOCK_FILE)")
	}
}

// goCommand is the go tool that runs these tests, so that the binary is
// built by the same toolchain.
func goCommand() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// inCI reports whether the tests run under CI, where a missing tool is a
// failure instead of a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test, or fails it under CI: CI must never silently
// skip an end-to-end test.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI=true: failing instead of skipping)", msg)
	}
	t.Skip(msg)
}

// requireTool fails (CI) or skips the test when the program at path is
// missing. pkg is the Debian package that provides it.
func requireTool(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, "%s is not installed (Debian package %s): `make test` installs it (scripts/deps.sh)", path, pkg)
	}
}

// Debian's tools. `python3` on PATH may be another Python (pyenv): the
// tests always use Debian's, whose venv module and pip they rely on.
const (
	debPython = "/usr/bin/python3"
	debTwine  = "/usr/bin/twine"
)

// requirePython fails (CI) or skips the test unless Debian's Python has
// venv (with its bundled pip), build, setuptools and wheel.
func requirePython(t testing.TB) {
	t.Helper()
	requireTool(t, debPython, "python3")
	out, err := exec.Command(debPython, "-c", "import venv, ensurepip, build, setuptools, wheel").CombinedOutput()
	if err != nil {
		skipOrFail(t, "%s lacks a module the tests need (%v: %s): `make test` installs python3-venv python3-build python3-setuptools python3-wheel (scripts/deps.sh)",
			debPython, err, strings.TrimSpace(string(out)))
	}
	wheels, _ := filepath.Glob("/usr/share/python-wheels/pip-*.whl")
	if len(wheels) == 0 {
		skipOrFail(t, "/usr/share/python-wheels/pip-*.whl is missing: `make test` installs python3-venv (scripts/deps.sh)")
	}
}

// timed logs how long a part of a test took; call the result when done.
func timed(t testing.TB, what string) func() {
	t.Helper()
	start := time.Now()
	return func() {
		t.Helper()
		t.Logf("⏱ %s: %s", what, time.Since(start).Round(time.Millisecond))
	}
}

// cmdResult is what a command did.
type cmdResult struct {
	// Out is stdout and stderr interleaved, ANSI escapes removed.
	Out  string
	Code int
}

// Flat is Out with runs of white space (including the line breaks that
// twine's rich output inserts) squashed to single spaces, for matching
// messages.
func (r cmdResult) Flat() string { return strings.Join(strings.Fields(r.Out), " ") }

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// runCmd runs a command to completion (10 minutes at most), logs it with
// its duration and exit code, and returns its output.
func runCmd(t testing.TB, dir string, env []string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running %s: %v", name, err)
		}
	}
	t.Logf("$ %s %s  (exit %d, %s)", filepath.Base(name), redactArgs(args), code, time.Since(start).Round(time.Millisecond))
	return cmdResult{Out: ansiEscape.ReplaceAllString(out.String(), ""), Code: code}
}

// mustRun is runCmd that fails the test on a non-zero exit.
func mustRun(t testing.TB, dir string, env []string, name string, args ...string) cmdResult {
	t.Helper()
	r := runCmd(t, dir, env, name, args...)
	if r.Code != 0 {
		t.Fatalf("%s %s exited with %d:\n%s", filepath.Base(name), redactArgs(args), r.Code, r.Out)
	}
	return r
}

// redactArgs joins args for the log, hiding what follows -p.
func redactArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && (args[i-1] == "-p" || args[i-1] == "--password") {
			out[i] = "***"
		} else if u, err := url.Parse(a); err == nil && u.User != nil {
			out[i] = u.Redacted() // a token in an index URL's userinfo
		}
	}
	return strings.Join(out, " ")
}

// cleanEnv is the environment for the tools: the test's own, without
// anything that would send pip, twine or Python elsewhere (index URLs, find
// links, config files, proxies, virtual environments, cheeseshop settings),
// plus extra (KEY=VALUE; later entries win).
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		switch {
		case strings.HasPrefix(uk, "PIP_"), strings.HasPrefix(uk, "PYTHON"), strings.HasPrefix(uk, "TWINE_"),
			strings.HasPrefix(uk, "CHEESESHOP_"), strings.HasSuffix(uk, "_PROXY"), uk == "VIRTUAL_ENV",
			uk == "PYENV_VERSION", uk == "FORCE_COLOR", uk == "CLICOLOR_FORCE":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"NO_COLOR=1", "TERM=dumb", "COLUMNS=400", "PYTHONDONTWRITEBYTECODE=1")
	// The servers never ask the DNS about the tests' addresses
	// (example.org publishes a null MX): --no-email-check-dns.
	env = append(env, "CHEESESHOP_EMAIL_CHECK_DNS=false")
	return append(env, extra...)
}
