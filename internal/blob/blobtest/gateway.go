package blobtest

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Gateway is a private versitygw S3 server for one test, which the test
// can stop and start again on the same port and folder to see what a
// storage outage does.
type Gateway struct {
	t      testing.TB
	bin    string
	root   string
	addr   string
	key    string
	secret string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartGateway starts versitygw (the binary EnvVersitygw names) on a free
// loopback port, serving the folder dir/root with one bucket, cheeseshop.
// An empty dir is a temporary folder. The gateway is stopped when the test
// ends. Without EnvVersitygw the test is skipped, or fails under CI=true.
func StartGateway(t testing.TB, dir string) *Gateway {
	t.Helper()
	bin := os.Getenv(EnvVersitygw)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: run the tests with scripts/test.sh, which installs versitygw", EnvVersitygw)
		}
		t.Skipf("%s is not set; scripts/test.sh installs versitygw and sets it", EnvVersitygw)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "cheeseshop"), 0o750); err != nil {
		t.Fatalf("blobtest: gateway bucket: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("blobtest: gateway port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	g := &Gateway{
		t:      t,
		bin:    bin,
		root:   root,
		addr:   addr,
		key:    strings.ToLower(rand.Text()),
		secret: rand.Text(),
	}
	g.Start()
	t.Cleanup(g.Stop)
	return g
}

// S3 returns the gateway's bucket under a fresh prefix, as RequireS3 does.
func (g *Gateway) S3() S3 {
	return S3{
		URL:       fmt.Sprintf("s3://cheeseshop/t/%s?endpoint=http://%s&region=us-east-1&lookup=path", strings.ToLower(rand.Text()), g.addr),
		AccessKey: g.key,
		SecretKey: g.secret,
	}
}

// Root is the folder the gateway serves; the bucket is Root()/cheeseshop.
func (g *Gateway) Root() string { return g.root }

// Start starts the gateway (again) and waits until it is healthy.
func (g *Gateway) Start() {
	g.t.Helper()
	if g.cmd != nil {
		g.t.Fatal("blobtest: gateway started twice")
	}
	cmd := exec.Command(g.bin, "--port", g.addr, "--health", "/health", "--quiet", "posix", g.root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+g.key, "ROOT_SECRET_ACCESS_KEY="+g.secret)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		g.t.Fatalf("blobtest: start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	g.cmd, g.exited = cmd, exited
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + g.addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			g.cmd = nil
			g.t.Fatalf("blobtest: versitygw exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.Stop()
			g.t.Fatalf("blobtest: versitygw not healthy within 15 s: %v", err)
		}
	}
}

// Pause stops the gateway's process (SIGSTOP) without closing its port:
// connections are accepted and never answered, as with a stalled server or
// a dead proxy. Resume continues it; both are undone when the test ends.
func (g *Gateway) Pause() {
	g.t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		g.t.Fatalf("blobtest: pause versitygw: %v", err)
	}
	g.t.Cleanup(g.Resume)
}

// Resume continues a paused gateway.
func (g *Gateway) Resume() {
	if g.cmd != nil {
		g.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// Stop stops the gateway (SIGTERM, then SIGKILL after 5 s) and waits until
// it has exited. Stopping a stopped gateway does nothing.
func (g *Gateway) Stop() {
	if g.cmd == nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGCONT) // if paused
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
	g.cmd = nil
}
