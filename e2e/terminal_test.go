package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cheeseshop/internal/store"
)

// console is a command running on a pseudo-terminal of its own, as when a
// person types it: the terminal is its standard input, output and error
// and its controlling terminal. The test plays the person on the other
// side (the master).
type console struct {
	t      testing.TB
	master *os.File
	cmd    *exec.Cmd
	screen *syncBuffer   // everything the command wrote to the terminal
	done   chan struct{} // closed when the command has exited
	err    error         // its exit, valid once done is closed
	// drained is closed when everything the command wrote has been read
	// into screen (the reader met the terminal's end).
	drained chan struct{}
}

// startOnTerminal starts the cheeseshop binary with args on a new
// pseudo-terminal, and kills it if it still runs when the test ends.
func startOnTerminal(t testing.TB, env []string, args ...string) *console {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/pts/%d: %v", n, err)
	}
	c := &console{t: t, master: master, screen: &syncBuffer{}, done: make(chan struct{}), drained: make(chan struct{})}
	c.cmd = exec.Command(binPath, args...)
	c.cmd.Env = env
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = slave, slave, slave
	// A session of its own whose controlling terminal is its stdin (fd 0),
	// so that Ctrl-C typed on it interrupts the command.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = c.cmd.Start()
	slave.Close()
	if err != nil {
		t.Fatalf("starting cheeseshop on a terminal: %v", err)
	}
	go func() {
		// Reading ends with EIO once the command has closed the terminal.
		defer close(c.drained)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			c.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	t.Logf("$ cheeseshop %s  (on /dev/pts/%d)", strings.Join(args, " "), n)
	return c
}

// waitFor waits until the screen shows text after the first skip bytes
// of it, and returns how much of the screen it has read then.
func (c *console) waitFor(skip int, text string) int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := c.screen.String()
		if i := strings.Index(s[skip:], text); i >= 0 {
			return skip + i + len(text)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the terminal does not show %q within 30s; it shows:\n%s", text, s)
		}
		// The screen fills from the terminal asynchronously.
		time.Sleep(10 * time.Millisecond)
	}
}

// typeLine types text and Enter, as a person does.
func (c *console) typeLine(text string) {
	c.t.Helper()
	if _, err := c.master.Write([]byte(text + "\r")); err != nil {
		c.t.Fatalf("typing on the terminal: %v", err)
	}
}

// wait waits for the command to exit and returns its exit code.
func (c *console) wait() int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.t.Fatalf("the command did not exit within 60s; the terminal shows:\n%s", c.screen.String())
	}
	// What the command wrote last may still be in the terminal: the screen
	// is whole once the reader has met the end of it.
	select {
	case <-c.drained:
	case <-time.After(10 * time.Second):
		c.t.Fatalf("the terminal was not read to its end within 10s of the command's exit; it shows:\n%s", c.screen.String())
	}
	if c.err == nil {
		return 0
	}
	if ee, ok := c.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	c.t.Fatalf("the command: %v", c.err)
	return -1
}

// waitNoEcho waits until the terminal no longer echoes what is typed:
// the command is ready to read a secret. (On Linux, the master answers
// TCGETS with the terminal's settings.)
func (c *console) waitNoEcho() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(c.master.Fd()), unix.TCGETS)
		if err != nil {
			c.t.Fatalf("reading the terminal's settings: %v", err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the terminal still echoes after 30s; it shows:\n%s", c.screen.String())
		}
		// The command turns the echo off right after its prompt.
		time.Sleep(5 * time.Millisecond)
	}
}

// answer types each password once the terminal shows the prompt before it,
// after what the previous prompt was, and no longer echoes (prompt,
// password, prompt, password, ...).
func (c *console) answer(steps ...string) {
	c.t.Helper()
	at := 0
	for i := 0; i+1 < len(steps); i += 2 {
		at = c.waitFor(at, steps[i])
		c.waitNoEcho()
		c.typeLine(steps[i+1])
	}
}

// TestUserCreateOnTerminal runs `cheeseshop admin user create` on a real
// pseudo-terminal, as an operator types it: the password is asked twice,
// never echoed, and the account signs in with it; passwords that differ
// three times create nothing; Ctrl-C stops the command.
func TestUserCreateOnTerminal(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	create := func(username string) *console {
		return startOnTerminal(t, s.env, "admin", "user", "create", "--username", username,
			"--email", username+"@example.org", "--data", s.Data)
	}
	const password = "salted gouda wheel"

	c := create("alice")
	c.answer("Password: ", "brie",
		"Try again (2 of 3).\r\nPassword: ", "",
		"Try again (3 of 3).\r\nPassword: ", password,
		"Repeat the password: ", password)
	if code := c.wait(); code != 0 {
		t.Fatalf("admin user create exited with %d; the terminal shows:\n%s", code, c.screen.String())
	}
	screen := c.screen.String()
	t.Logf("the terminal shows:\n%s", screen)
	for _, want := range []string{"too short (4 characters)", "created user alice"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal does not show %q", want)
		}
	}
	if strings.Contains(screen, "gouda") || strings.Contains(screen, "brie") {
		t.Error("the terminal echoed the password")
	}
	if regexp.MustCompile(`(?m)^password: `).MatchString(screen) {
		t.Error("a password was generated instead of the typed one")
	}
	if got := signIn(t, s, "alice", password); got != http.StatusOK {
		t.Errorf("alice signs in with the typed password: /manage/account/ answers %d", got)
	}
	if got := signIn(t, s, "alice", "brie"); got == http.StatusOK {
		t.Error("alice signs in with a wrong password")
	}

	c = create("bob")
	c.answer("Password: ", password, "Repeat the password: ", password+"1",
		"Password: ", password, "Repeat the password: ", password+"2",
		"Password: ", password, "Repeat the password: ", password+"3")
	if code := c.wait(); code != 1 || !strings.Contains(c.screen.String(), "no account created after 3 tries. The two passwords differ.") {
		t.Errorf("three mismatches: exit %d; the terminal shows:\n%s", code, c.screen.String())
	}

	c = create("carol")
	c.waitFor(0, "Password: ")
	if _, err := c.master.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if code := c.wait(); code != 1 || !strings.Contains(c.screen.String(), "context canceled") {
		t.Errorf("Ctrl-C at the prompt: exit %d; the terminal shows:\n%s", code, c.screen.String())
	}

	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(s.Data, "cheeseshop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{"bob", "carol"} {
		if u, err := st.UserByUsername(t.Context(), name); err == nil {
			t.Errorf("the refused %s was created: %+v", name, u)
		}
	}
}

var formToken = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs in on the login page with a password, as a browser does,
// and returns the status of the account page then (200 when signed in).
func signIn(t testing.TB, s *server, username, password string) int {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		resp, err := client.Get(s.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp, string(body)
	}
	_, page := get("/account/login/")
	m := formToken.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the login page has no form token:\n%s", page)
	}
	resp, err := client.PostForm(s.URL+"/account/login/", url.Values{"csrf_token": {m[1]}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatalf("POST /account/login/: %v", err)
	}
	resp.Body.Close()
	t.Logf("POST /account/login/ as %s: %s → %s", username, resp.Status, resp.Header.Get("Location"))
	resp, page = get("/manage/account/")
	if resp.StatusCode == http.StatusOK && !strings.Contains(page, username) {
		t.Errorf("the account page does not name %s", username)
	}
	return resp.StatusCode
}
