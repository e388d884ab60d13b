package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeSection is the README section a new user follows from `make run`
// to `pip install`; its ```sh blocks are the commands TestReadmeFirstUpload
// runs, in order.
const readmeSection = "Your first upload"

// The names the walk-through uses, which the test checks for.
const (
	readmeUser    = "alice"
	readmeProject = "nc-hello"
	readmeVersion = "0.1.0"
	// readmeAddr is the address the README spells, the one `make run`
	// prints (its --addr 127.0.0.1:8080, named localhost).
	readmeAddr = "http://localhost:8080"
)

// TestReadmeFirstUpload follows README.md's "Your first upload" as a new
// user on a fresh machine would: terminal 1 runs `make run` (the test runs
// the server command `make -n run` prints, on a free port, with the binary
// TestMain built), and the ```sh blocks of terminal 2 run as written, one
// after the other, in one bash session (set -e) that starts in a fresh
// cheeseshop folder, with a fresh HOME, Debian's programs on PATH and no
// network but the server. The only change to the commands is the port of
// the address. PyPI, from which the README installs build, twine and the
// build backend, is a local index of wheels made from Debian's installed
// packages (testdata/wheelhouse.py) named by PIP_INDEX_URL, which pip's
// --index-url replaces as it replaces PyPI. After each block the test checks
// what it did: the account, the project, the sdist's PEP 625 name, the
// upload (the simple page's sha256 of each file is the local file's), and
// the installed module's greeting.
func TestReadmeFirstUpload(t *testing.T) {
	t.Parallel()
	requirePython(t)
	requireTool(t, debTwine, "twine")
	requireTool(t, "/usr/bin/make", "make")
	requireTool(t, "/usr/bin/dpkg-query", "dpkg")
	if out, err := exec.Command(debPython, "-c", "import hatchling").CombinedOutput(); err != nil {
		skipOrFail(t, "%s cannot import hatchling (%v: %s): `make test` installs python3-hatchling (scripts/deps.sh)",
			debPython, err, strings.TrimSpace(string(out)))
	}

	blocks := readmeBlocks(t, filepath.Join("..", "README.md"), readmeSection)
	if len(blocks) < 2 || blocks[0] != "make run" {
		t.Fatalf("README.md, %q: want a first ```sh block `make run` (terminal 1) and the blocks of terminal 2 after it; got %q",
			readmeSection, blocks)
	}
	addr := regexp.MustCompile(`https?://[^/\s'"]+`)
	for _, b := range blocks {
		for _, a := range addr.FindAllString(b, -1) {
			if a != readmeAddr {
				t.Errorf("README.md, %q: the address %s, want %s everywhere (what `make run` prints)", readmeSection, a, readmeAddr)
			}
		}
	}

	// Terminal 1: `make run` builds bin/cheeseshop and runs the command
	// below in the cheeseshop folder; the test runs the same command on
	// the binary TestMain built (same package, same flags but -trimpath).
	checkout := filepath.Join(t.TempDir(), "cheeseshop")
	if err := os.MkdirAll(filepath.Join(checkout, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binPath, filepath.Join(checkout, "bin", "cheeseshop")); err != nil {
		t.Fatal(err)
	}
	recipe := mustRun(t, "..", cleanEnv(), "/usr/bin/make", "--no-print-directory", "-n", "run", "ADDR=127.0.0.1:0")
	lines := strings.Split(strings.TrimSpace(recipe.Out), "\n")
	want := []string{"./bin/cheeseshop", "serve", "--data", "./data", "--addr", "127.0.0.1:0"}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go build ") || !slices.Equal(strings.Fields(lines[1]), want) {
		t.Fatalf("`make -n run` printed %q, want `go build …` and then %q: update this test with the Makefile", recipe.Out, strings.Join(want, " "))
	}
	s := startServer(t, serverOptions{Data: filepath.Join(checkout, "data")})
	if !strings.HasPrefix(s.URL, "http://localhost:") {
		t.Fatalf("the server says it listens on %s, want http://localhost:PORT, the README's spelling", s.URL)
	}
	if _, body := s.get(t, "/help/"); !strings.Contains(string(body), s.URL+"/legacy/") {
		t.Errorf("/help/ does not show the upload address %s/legacy/", s.URL)
	}

	stopWheels := timed(t, "local stand-in for PyPI (testdata/wheelhouse.py)")
	index := filepath.Join(t.TempDir(), "pypi")
	mustRun(t, "", cleanEnv(), debPython, filepath.Join("testdata", "wheelhouse.py"), index,
		"python3-build", "twine", "python3-hatchling")
	stopWheels()

	env := clientEnv(t, "PIP_INDEX_URL=file://"+index+"/")
	home := envValue(env, "HOME")
	sh := startShell(t, checkout, env)
	projectDir := filepath.Join(home, readmeProject)
	sdist := strings.ReplaceAll(readmeProject, "-", "_") + "-" + readmeVersion + ".tar.gz" // PEP 625

	checks := []struct {
		when  string // a block holding this runs the check
		check func(t *testing.T, out string)
		ran   bool
	}{
		{"admin user create", func(t *testing.T, out string) {
			if !strings.Contains(out, "created user "+readmeUser) {
				t.Fatalf("admin user create printed %q, want `created user %s`", out, readmeUser)
			}
		}, false},
		{"pyproject.toml", func(t *testing.T, out string) {
			if !fileExists(filepath.Join(projectDir, "pyproject.toml")) {
				t.Fatalf("no %s/pyproject.toml", projectDir)
			}
		}, false},
		{"python -m build", func(t *testing.T, out string) {
			for _, p := range []string{"build", "twine"} {
				if !regexp.MustCompile(`Successfully installed .*\b` + p + `-`).MatchString(out) {
					t.Errorf("`pip install build twine` did not install %s:\n%s", p, out)
				}
			}
			files := readDirNames(t, filepath.Join(projectDir, "dist"))
			wheel := regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimSuffix(sdist, ".tar.gz")) + `-[^-]+-none-any\.whl$`)
			if len(files) != 2 || files[1] != sdist || !wheel.MatchString(files[0]) {
				t.Fatalf("python -m build wrote %q, want %s (PEP 625) and a pure wheel:\n%s", files, sdist, out)
			}
		}, false},
		{"twine upload", func(t *testing.T, out string) {
			resp, body := s.get(t, "/simple/"+readmeProject+"/", "Accept", "application/vnd.pypi.simple.v1+json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /simple/%s/: %s", readmeProject, resp.Status)
			}
			var page struct {
				Files []struct {
					Filename string            `json:"filename"`
					Hashes   map[string]string `json:"hashes"`
				} `json:"files"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatalf("the simple page: %v\n%s", err, body)
			}
			local := readDirNames(t, filepath.Join(projectDir, "dist"))
			if len(page.Files) != len(local) {
				t.Errorf("the simple page lists %d files, twine uploaded %q:\n%s", len(page.Files), local, body)
			}
			for _, f := range page.Files {
				p := filepath.Join(projectDir, "dist", f.Filename)
				if !fileExists(p) {
					t.Errorf("the simple page lists %s, which is not in dist/", f.Filename)
				} else if got, want := f.Hashes["sha256"], sha256File(t, p); got != want {
					t.Errorf("%s: sha256 %s on the simple page, %s here", f.Filename, got, want)
				}
			}
		}, false},
		{"pip install --index-url", func(t *testing.T, out string) {
			if !strings.Contains(out, "Successfully installed "+readmeProject+"-"+readmeVersion) {
				t.Errorf("pip did not install %s %s:\n%s", readmeProject, readmeVersion, out)
			}
			if !strings.Contains(out, "Hello from cheeseshop!") {
				t.Errorf("the installed module did not greet:\n%s", out)
			}
			if n := distributionOK(s.metrics(t)); n < 1 {
				t.Errorf("the server served %v distribution files, want pip's download", n)
			}
		}, false},
	}
	for i, b := range blocks[1:] {
		b = strings.ReplaceAll(b, readmeAddr, s.URL)
		out := sh.run(t, fmt.Sprintf("block %d", i+2), b)
		for j := range checks {
			if strings.Contains(b, checks[j].when) {
				checks[j].check(t, out)
				checks[j].ran = true
			}
		}
	}
	for _, c := range checks {
		if !c.ran {
			t.Errorf("README.md, %q: no ```sh block runs %q", readmeSection, c.when)
		}
	}
}

// readmeBlocks returns the ```sh fenced blocks of a markdown file's "## "
// section, in order, without their fences.
func readmeBlocks(t testing.TB, path, section string) []string {
	t.Helper()
	var blocks []string
	var block []string
	in, fenced := false, false
	for line := range strings.SplitSeq(readFile(t, path), "\n") {
		switch {
		case fenced && line == "```":
			blocks, block, fenced = append(blocks, strings.Join(block, "\n")), nil, false
		case fenced:
			block = append(block, line)
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(line[3:]) == section
		case in && line == "```sh":
			fenced = true
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("%s has no ```sh blocks in a section %q", path, section)
	}
	return blocks
}

// envValue is the last value of key in env, "" when unset.
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// shell is one bash session that runs blocks of commands one after the
// other, as a terminal would: the working folder, variables and an
// activated venv carry over. It runs with -e, so a failing command ends
// it. The commands come on a pipe (file descriptor 3); standard input is
// /dev/null, so nothing can prompt or read the script.
type shell struct {
	cmd    *exec.Cmd
	script *os.File      // the pipe bash reads its commands from
	lines  chan string   // its standard output and error, line by line
	done   chan struct{} // closed when bash has exited
	err    error         // how it exited, once done is closed
	n      int           // blocks run
}

// stepTimeout bounds one block (an offline `pip install build twine`
// and `python -m build` take about 30 s).
const stepTimeout = 5 * time.Minute

func startShell(t testing.TB, dir string, env []string) *shell {
	t.Helper()
	scriptR, scriptW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/bash", "--noprofile", "--norc", "-e", "/dev/fd/3")
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = outW, outW
	cmd.ExtraFiles = []*os.File{scriptR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its children stop with it
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting bash: %v", err)
	}
	scriptR.Close()
	outW.Close()
	sh := &shell{cmd: cmd, script: scriptW, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		r := bufio.NewReader(outR)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				sh.lines <- ansiEscape.ReplaceAllString(strings.TrimRight(line, "\r\n"), "")
			}
			if err != nil {
				close(sh.lines)
				io.Copy(io.Discard, outR)
				outR.Close()
				return
			}
		}
	}()
	go func() {
		sh.err = cmd.Wait()
		close(sh.done)
	}()
	t.Cleanup(func() {
		scriptW.Close()
		go func() {
			for range sh.lines { // what bash prints at its end
			}
		}()
		select {
		case <-sh.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-sh.done
		}
	})
	return sh
}

// run sends a block to bash and returns what it printed, once it has run
// to its end. A command that fails ends the session and the test.
func (sh *shell) run(t testing.TB, name, block string) string {
	t.Helper()
	sh.n++
	marker := fmt.Sprintf("@@readme-step-%d-done", sh.n)
	t.Logf("%s:\n%s", name, block)
	start := time.Now()
	if _, err := fmt.Fprintf(sh.script, "%s\necho %s\n", block, marker); err != nil {
		t.Fatalf("%s: writing to bash: %v", name, err)
	}
	var out []string
	timeout := time.After(stepTimeout)
	for {
		select {
		case line, ok := <-sh.lines:
			if !ok {
				<-sh.done
				t.Fatalf("%s failed (bash: %v):\n%s", name, sh.err, strings.Join(out, "\n"))
			}
			if line == marker {
				t.Logf("%s: done in %s", name, time.Since(start).Round(time.Millisecond))
				return strings.Join(out, "\n")
			}
			out = append(out, line)
		case <-timeout:
			syscall.Kill(-sh.cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("%s did not finish within %s:\n%s", name, stepTimeout, strings.Join(out, "\n"))
		}
	}
}
