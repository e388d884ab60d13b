// Package mail sends cheeseshop's outbound email: through an SMTP server
// (SMTP), or into a folder of .eml files (Outbox) for development and tests,
// which ReadOutbox reads back the way a user's mail program would.
//
// Every message is plain UTF-8 text, composed as a complete RFC 5322 message
// (quoted-printable body, RFC 2047 subject); both mailers send the same
// bytes.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one email.
type Message struct {
	To      string // one recipient address, with or without a display name
	Subject string
	Text    string // plain-text body (UTF-8), lines separated by "\n"
}

// Mailer sends email.
type Mailer interface {
	// Send delivers m, or returns an error saying why it could not.
	Send(ctx context.Context, m Message) error
}

// ErrHeader is wrapped by the errors of Send for a recipient, sender or
// subject that cannot go into a header: a line break (which would let its
// author add headers of their own), or an address that does not parse.
var ErrHeader = errors.New("mail: invalid header value")

// New returns an SMTP mailer when smtpURL is non-empty (see NewSMTP),
// otherwise an Outbox writing into outboxDir. from is the sender of every
// message, as "Name <addr@example.org>" or "addr@example.org".
func New(smtpURL, outboxDir, from string) (Mailer, error) {
	if _, err := parseAddress("From", from); err != nil {
		return nil, err
	}
	if smtpURL != "" {
		return NewSMTP(smtpURL, from)
	}
	if outboxDir == "" {
		return nil, errors.New("mail: neither an SMTP URL nor an outbox folder is set")
	}
	return &Outbox{Dir: outboxDir, From: from}, nil
}

// parseAddress parses one address for the header field, refusing line
// breaks.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: %s %q contains a line break", ErrHeader, field, s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", ErrHeader, field, s, err)
	}
	return a, nil
}

// formatAddress writes a as a header value: the bare address when it has
// no display name, the name unquoted when it needs no quotes.
func formatAddress(a *mail.Address) string {
	switch {
	case a.Name == "":
		return a.Address
	case isPhrase(a.Name):
		return a.Name + " <" + a.Address + ">"
	default:
		return a.String() // quoted, or RFC 2047-encoded
	}
}

// isPhrase reports whether name is ASCII words of atext (RFC 5322 section
// 3.2.3) separated by single spaces.
func isPhrase(name string) bool {
	for word := range strings.SplitSeq(name, " ") {
		if word == "" {
			return false
		}
		for _, c := range []byte(word) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// compose returns m as a complete RFC 5322 message from from, dated now,
// with CRLF line endings, and the envelope addresses.
func compose(from string, m Message, now time.Time) (msg []byte, sender, rcpt string, err error) {
	fromAddr, err := parseAddress("From", from)
	if err != nil {
		return nil, "", "", err
	}
	toAddr, err := parseAddress("To", m.To)
	if err != nil {
		return nil, "", "", err
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, "", "", fmt.Errorf("%w: the subject %q contains a line break", ErrHeader, m.Subject)
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
		return nil, "", "", errors.New("mail: the subject or the text is not valid UTF-8")
	}
	domain := fromAddr.Address[strings.LastIndexByte(fromAddr.Address, '@')+1:]

	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(fold(name + ": " + value))
		b.WriteString("\r\n")
	}
	header("Date", now.Format(time.RFC1123Z))
	header("From", formatAddress(fromAddr))
	header("To", formatAddress(toAddr))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Message-ID", "<"+strings.ToLower(rand.Text())+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, "", "", fmt.Errorf("mail: encode the text: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, "", "", fmt.Errorf("mail: encode the text: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		// A soft line break: the message ends with CRLF, as SMTP requires,
		// and the text still ends as it did.
		b.WriteString("=\r\n")
	}
	return b.Bytes(), fromAddr.Address, toAddr.Address, nil
}

// fold breaks a header line at single spaces so that its lines stay within
// 78 characters where it can (RFC 5322 section 2.2.3). Unfolding, which
// joins the lines with a space, gives the line back.
func fold(line string) string {
	const limit = 78
	if len(line) <= limit {
		return line
	}
	var b strings.Builder
	start := 0 // start of the current output line in line
	last := -1 // the last space seen that is a place to fold
	for i := 1; i < len(line)-1; i++ {
		if line[i] == ' ' && line[i-1] != ' ' && line[i+1] != ' ' {
			if i-start > limit && last > start {
				b.WriteString(line[start:last])
				b.WriteString("\r\n")
				start = last
			}
			last = i
		}
	}
	if len(line)-start > limit && last > start {
		b.WriteString(line[start:last])
		b.WriteString("\r\n")
		start = last
	}
	b.WriteString(line[start:])
	return b.String()
}
