package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultSMTPTimeout bounds a send whose context has no deadline.
const DefaultSMTPTimeout = time.Minute

// SMTP is a Mailer that sends through an SMTP server (a submission port).
type SMTP struct {
	host        string // name to dial and to verify the certificate of
	addr        string // host:port
	implicitTLS bool   // smtps://: TLS from the first byte
	plain       bool   // ?starttls=off: no TLS at all (loopback hosts only)
	user, pass  string // AUTH PLAIN credentials, if user != ""
	from        string
	redacted    string      // the URL without its password, for errors and logs
	tlsConfig   *tls.Config // nil: the system's roots; tests set their own
}

// NewSMTP returns a Mailer sending from from through the server at rawURL:
//
//   - smtp://[user:pass@]host[:port] (port 587 by default): the server must
//     offer STARTTLS, which is used, and its certificate must be valid for
//     host. With ?starttls=off the message goes in plain text instead, which
//     is allowed only to a loopback host (localhost, 127.0.0.0/8, ::1).
//   - smtps://[user:pass@]host[:port] (port 465 by default): TLS from the
//     start (implicit TLS).
//
// With credentials, it authenticates with AUTH PLAIN (user and password
// percent-encoded in the URL as usual; without TLS, net/smtp sends them only
// to localhost, 127.0.0.1 or ::1). Errors never show the password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	if _, err := parseAddress("From", from); err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, fmt.Errorf("mail: SMTP URL %q: %w", redactRaw(rawURL), err)
	}
	s := &SMTP{from: from, redacted: u.Redacted()}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("mail: SMTP URL %q: %s", s.redacted, fmt.Sprintf(format, args...))
	}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = "587"
	case "smtps":
		port = "465"
		s.implicitTLS = true
	default:
		return nil, bad("the scheme must be smtp:// or smtps://")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, bad("no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, bad("invalid port %q", p)
		}
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.Path != "" && u.Path != "/" || u.Fragment != "" || u.Opaque != "" {
		return nil, bad("unexpected path or fragment")
	}
	if u.User != nil {
		s.user = u.User.Username()
		pass, ok := u.User.Password()
		if s.user == "" || !ok {
			return nil, bad("credentials must be user:password")
		}
		s.pass = pass
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("query: %v", err)
	}
	for k, v := range q {
		if k != "starttls" {
			return nil, bad("unknown parameter %q (the only one is starttls=off)", k)
		}
		switch {
		case len(v) != 1 || v[0] != "off" && v[0] != "on":
			return nil, bad("starttls must be on or off")
		case s.implicitTLS:
			return nil, bad("starttls applies to smtp://, not smtps://")
		}
		s.plain = v[0] == "off"
	}
	if s.plain && !isLoopback(s.host) {
		return nil, bad("starttls=off sends passwords and mail in plain text: allowed only to a loopback host, not %q", s.host)
	}
	return s, nil
}

// String returns the server's URL without its password.
func (s *SMTP) String() string { return s.redacted }

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactRaw hides the password of a URL that does not parse.
func redactRaw(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	rest := raw[start:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return raw
	}
	userinfo := rest[:at]
	if c := strings.IndexByte(userinfo, ':'); c >= 0 {
		userinfo = userinfo[:c] + ":xxxxx"
	}
	return raw[:start] + userinfo + rest[at:]
}

// Send delivers m through the server. The whole exchange ends by ctx's
// deadline (DefaultSMTPTimeout when it has none) or when ctx is cancelled.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, sender, rcpt, err := compose(s.from, m, time.Now())
	if err != nil {
		return err
	}
	if err := s.send(ctx, msg, sender, rcpt); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		} else if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			// The connection's deadline, which is ctx's, passed an instant
			// before ctx noticed.
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		return fmt.Errorf("mail: send to %s through %s: %w", rcpt, s.redacted, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, msg []byte, sender, rcpt string) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultSMTPTimeout)
	}
	dialer := net.Dialer{Deadline: deadline}
	conn, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// Cancelling ctx interrupts whatever read or write is under way.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsConfig := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.tlsConfig != nil {
		tlsConfig = s.tlsConfig.Clone()
		tlsConfig.ServerName = s.host
	}
	if s.implicitTLS {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if !s.implicitTLS && !s.plain {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS (for a local test server without TLS, add ?starttls=off to the URL)")
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("authenticate as %s: %w", s.user, err)
		}
	}
	if err := c.Mail(sender); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}
