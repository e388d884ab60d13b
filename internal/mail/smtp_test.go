package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		addr     string // "" when the URL is refused
		implicit bool
		plain    bool
		user     string
		errHas   string
	}{
		{url: "smtp://mail.example.org", addr: "mail.example.org:587"},
		{url: "smtp://mail.example.org:2525/", addr: "mail.example.org:2525"},
		{url: "smtp://mail.example.org?starttls=on", addr: "mail.example.org:587"},
		{url: "smtps://mail.example.org", addr: "mail.example.org:465", implicit: true},
		{url: "smtp://bob:s%40cret@mail.example.org", addr: "mail.example.org:587", user: "bob"},
		{url: "smtp://127.0.0.1:1025?starttls=off", addr: "127.0.0.1:1025", plain: true},
		{url: "smtp://localhost:1025?starttls=off", addr: "localhost:1025", plain: true},
		{url: "smtp://[::1]:1025?starttls=off", addr: "[::1]:1025", plain: true},
		{url: "smtp://mail.example.org?starttls=off", errHas: "loopback"},
		{url: "smtp://10.0.0.1?starttls=off", errHas: "loopback"},
		{url: "smtps://127.0.0.1?starttls=off", errHas: "smtps"},
		{url: "smtp://mail.example.org?starttls=maybe", errHas: "on or off"},
		{url: "smtp://mail.example.org?tls=off", errHas: "unknown parameter"},
		{url: "http://mail.example.org", errHas: "scheme"},
		{url: "smtp://", errHas: "no host"},
		{url: "smtp://mail.example.org:0", errHas: "port"},
		{url: "smtp://bob@mail.example.org", errHas: "user:password"},
		{url: "smtp://mail.example.org/path", errHas: "path"},
		{url: "smtp://bob:s3cret@mail.example.org:port", errHas: "invalid port"},
		{url: "smtp://bob:s3cret@mail example.org", errHas: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			s, err := NewSMTP(tt.url, "noreply@example.org")
			if tt.addr == "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("NewSMTP(%q) = %v, want an error about %q", tt.url, err, tt.errHas)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.addr != tt.addr || s.implicitTLS != tt.implicit || s.plain != tt.plain || s.user != tt.user {
				t.Fatalf("NewSMTP(%q) = %+v", tt.url, s)
			}
			if s.user != "" && (s.pass != "s@cret" || strings.Contains(s.String(), "cret")) {
				t.Fatalf("password %q, String() %q", s.pass, s.String())
			}
		})
	}
}

func TestRedactRaw(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"smtp://bob:s3cret@host:x":       "smtp://bob:xxxxx@host:x",
		"smtp://bob:s3:cr@t@host/p@th":   "smtp://bob:xxxxx@host/p@th",
		"smtp://host:25":                 "smtp://host:25",
		"bob:s3cret@host":                "bob:xxxxx@host",
		"smtp://bob@host?x=a:b@c":        "smtp://bob@host?x=a:b@c",
		"smtps://u:p%zz@mail.example:25": "smtps://u:xxxxx@mail.example:25",
	} {
		if got := redactRaw(raw); got != want {
			t.Errorf("redactRaw(%q) = %q, want %q", raw, got, want)
		}
	}
}

// The SMTP tests run against a real SMTP server: Debian's aiosmtpd.
const (
	debPython  = "/usr/bin/python3"
	smtpUser   = "cheeseshop"
	smtpPass   = "p@ss word:secret" // percent-encoded in the URL
	smtpSender = "Cheeseshop <noreply@cheeseshop.example>"
)

// skipOrFail skips the test, or fails it when CI=true: CI must never
// silently skip a test because a tool is missing.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: failing instead of skipping)", msg)
	}
	t.Skip(msg)
}

// requireAiosmtpd skips (or fails under CI) unless Debian's python3 can
// import aiosmtpd.
func requireAiosmtpd(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(debPython); err != nil {
		skipOrFail(t, "%s is not installed: `make test` installs python3-aiosmtpd (scripts/deps.sh)", debPython)
	}
	if out, err := exec.Command(debPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		skipOrFail(t, "aiosmtpd is not installed (%v: %s): `make test` installs python3-aiosmtpd (scripts/deps.sh)",
			err, strings.TrimSpace(string(out)))
	}
}

// testCert writes a self-signed certificate for localhost, 127.0.0.1 and
// ::1 into dir and returns its files and a pool that trusts it.
func testCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cheeseshop mail test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// smtpd is a running aiosmtpd process that saves what it receives into a
// Maildir.
type smtpd struct {
	port    int
	maildir string
}

// startSMTPD runs args (after python3) with {port} and {maildir} replaced,
// waits until the server accepts connections, and stops it at the end of
// the test.
func startSMTPD(t *testing.T, args ...string) *smtpd {
	t.Helper()
	s := &smtpd{port: freePort(t), maildir: filepath.Join(t.TempDir(), "maildir")}
	for i, a := range args {
		a = strings.ReplaceAll(a, "{port}", strconv.Itoa(s.port))
		args[i] = strings.ReplaceAll(a, "{maildir}", s.maildir)
	}
	cmd := exec.Command(debPython, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return s
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited before listening on %s: %v\n%s", strings.Join(args, " "), addr, err, stderr.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 20s:\n%s", strings.Join(args, " "), addr, stderr.String())
		}
	}
}

// delivered is a message the server saved, with its SMTP envelope.
type delivered struct {
	Received
	mailFrom, rcptTo string
}

// find returns the messages the server saved with the subject.
func (s *smtpd) find(t *testing.T, subject string) []delivered {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(s.maildir, "new", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []delivered
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseMessage(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, data)
		}
		if r.Subject != subject {
			continue
		}
		// aiosmtpd's Mailbox handler records the envelope in headers.
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, delivered{r, msg.Header.Get("X-MailFrom"), msg.Header.Get("X-RcptTo")})
	}
	return out
}

func TestSMTP(t *testing.T) {
	t.Parallel()
	requireAiosmtpd(t)
	certFile, keyFile, pool := testCert(t, t.TempDir())
	trusted := &tls.Config{RootCAs: pool}
	mailbox := []string{"-c", "aiosmtpd.handlers.Mailbox", "{maildir}"}
	cli := func(opts ...string) []string {
		return slices.Concat([]string{"-m", "aiosmtpd", "-n", "-l", "127.0.0.1:{port}"}, opts, mailbox)
	}
	var (
		plain    = startSMTPD(t, cli()...)
		starttls = startSMTPD(t, cli("--tlscert", certFile, "--tlskey", keyFile)...)
		smtps    = startSMTPD(t, cli("--smtpscert", certFile, "--smtpskey", keyFile)...)
		authed   = startSMTPD(t, filepath.Join("testdata", "smtpd_auth.py"), "127.0.0.1", "{port}", "{maildir}",
			certFile, keyFile, smtpUser, smtpPass)
	)
	userinfo := smtpUser + ":" + strings.ReplaceAll(strings.ReplaceAll(smtpPass, "@", "%40"), " ", "%20")

	tests := []struct {
		name   string
		server *smtpd
		url    string
		tls    *tls.Config
		errHas string // "" when the message must arrive
	}{
		{name: "plain to loopback (starttls=off)", server: plain,
			url: "smtp://127.0.0.1:{port}?starttls=off"},
		{name: "STARTTLS, which the server requires", server: starttls,
			url: "smtp://localhost:{port}", tls: trusted},
		{name: "implicit TLS (smtps)", server: smtps,
			url: "smtps://127.0.0.1:{port}", tls: trusted},
		{name: "STARTTLS and AUTH PLAIN", server: authed,
			url: "smtp://" + userinfo + "@127.0.0.1:{port}", tls: trusted},
		{name: "no STARTTLS offered", server: plain,
			url: "smtp://127.0.0.1:{port}", errHas: "does not offer STARTTLS"},
		{name: "untrusted certificate", server: starttls,
			url: "smtp://localhost:{port}", errHas: "certificate"},
		{name: "untrusted certificate (smtps)", server: smtps,
			url: "smtps://localhost:{port}", errHas: "certificate"},
		{name: "wrong password", server: authed,
			url: "smtp://" + smtpUser + ":wrong-s3cret@127.0.0.1:{port}", tls: trusted, errHas: "535"},
		{name: "AUTH required, no credentials", server: authed,
			url: "smtp://127.0.0.1:{port}", tls: trusted, errHas: "530"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := strings.ReplaceAll(tt.url, "{port}", strconv.Itoa(tt.server.port))
			m, err := New(url, "", smtpSender)
			if err != nil {
				t.Fatal(err)
			}
			m.(*SMTP).tlsConfig = tt.tls
			msg := Message{
				To:      fmt.Sprintf("Zoë Brontë <zoe+%d@example.org>", i),
				Subject: fmt.Sprintf("Vérifiez votre adresse ✓ (%d)", i),
				Text:    "Bonjour Zoë,\n\nouvrez " + longURL + "\npour vérifier votre adresse.\n\n.\n.. a line of dots\n",
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = m.Send(ctx, msg)
			got := tt.server.find(t, msg.Subject)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Send = %v, want an error about %q", err, tt.errHas)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), smtpPass) {
					t.Fatalf("the error shows the password: %v", err)
				}
				if len(got) != 0 {
					t.Fatalf("a refused send was delivered: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d messages delivered, want 1", len(got))
			}
			d := got[0]
			wantTo := fmt.Sprintf("zoe+%d@example.org", i)
			if d.mailFrom != "noreply@cheeseshop.example" || d.rcptTo != wantTo {
				t.Errorf("envelope MAIL FROM %q RCPT TO %q, want %q, %q", d.mailFrom, d.rcptTo, "noreply@cheeseshop.example", wantTo)
			}
			if d.From != smtpSender || d.To != "Zoë Brontë <"+wantTo+">" {
				t.Errorf("From %q To %q", d.From, d.To)
			}
			if d.Text != msg.Text {
				t.Errorf("Text = %q, want %q", d.Text, msg.Text)
			}
			if links := d.Links(); !slices.Equal(links, []string{longURL}) {
				t.Errorf("Links() = %q", links)
			}
			if time.Since(d.Date) > time.Minute {
				t.Errorf("Date = %v", d.Date)
			}
		})
	}
}

// TestSMTPTimeout checks that a server that never answers cannot hold a
// send past its context's deadline, or after its context is cancelled.
func TestSMTPTimeout(t *testing.T) {
	t.Parallel()
	// Not an SMTP server: a listener that accepts and stays silent.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	m, err := NewSMTP("smtp://"+l.Addr().String()+"?starttls=off", "noreply@example.org")
	if err != nil {
		t.Fatal(err)
	}
	msg := Message{To: "alice@example.org", Subject: "Hello", Text: "Hello"}
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := m.Send(ctx, msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Send took %v", d)
			}
		})
	}
}
