package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// outboxTimeLayout names outbox files, so that their names sort by the time
// they were written.
const outboxTimeLayout = "20060102T150405.000000000Z"

// Outbox is a Mailer that writes each message as an .eml file into a
// folder instead of sending it: for development, and for tests, which read
// the messages back with ReadOutbox. Its zero value is not usable: Dir and
// From must be set.
type Outbox struct {
	Dir  string // the folder, created (0o750) when missing
	From string // the sender, as "Name <addr@example.org>" or "addr@example.org"
}

// Send writes m atomically into o.Dir as
// <UTC time, 20060102T150405.000000000Z>-<random>.eml: a reader of the
// folder sees either no file or the whole message.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: write to the outbox: %w", err)
	}
	now := time.Now()
	msg, _, _, err := compose(o.From, m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return fmt.Errorf("mail: create the outbox: %w", err)
	}
	var random [8]byte
	_, _ = rand.Read(random[:]) // never fails
	name := now.UTC().Format(outboxTimeLayout) + "-" + hex.EncodeToString(random[:]) + ".eml"
	if err := writeAtomic(o.Dir, name, msg); err != nil {
		return fmt.Errorf("mail: write to the outbox: %w", err)
	}
	return nil
}

// writeAtomic writes data to dir/name through a temporary file in dir
// (hidden, by a leading dot) that is synced and renamed into place.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o640); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	// Make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Received is one message read back from an outbox, decoded as a mail
// program shows it.
type Received struct {
	Path    string    // the .eml file
	From    string    // "Name <addr@example.org>", or the bare address
	To      string    // as From
	Subject string    // decoded from RFC 2047
	Date    time.Time // the Date header
	Text    string    // the decoded body, lines separated by "\n"
}

// ReadOutbox returns the messages in the outbox folder dir, oldest first.
// A folder that does not exist yet holds no messages. Temporary files of
// sends in progress are ignored.
func ReadOutbox(dir string) ([]Received, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail: read the outbox: %w", err)
	}
	// os.ReadDir sorts by name, and names start with the time of writing.
	var out []Received
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".eml") {
			continue
		}
		r, err := readMessageFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// readMessageFile reads and decodes one message file.
func readMessageFile(path string) (Received, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Received{}, fmt.Errorf("mail: read message: %w", err)
	}
	r, err := parseMessage(data)
	if err != nil {
		return Received{}, fmt.Errorf("mail: read message %s: %w", path, err)
	}
	r.Path = path
	return r, nil
}

// parseMessage decodes a plain-text message: its headers, and its body by
// its Content-Transfer-Encoding.
func parseMessage(data []byte) (Received, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Received{}, err
	}
	var dec mime.WordDecoder
	var r Received
	if r.From, err = decodeAddress(&dec, msg.Header.Get("From")); err != nil {
		return Received{}, fmt.Errorf("From: %w", err)
	}
	if r.To, err = decodeAddress(&dec, msg.Header.Get("To")); err != nil {
		return Received{}, fmt.Errorf("To: %w", err)
	}
	if r.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Received{}, fmt.Errorf("Subject: %w", err)
	}
	if r.Date, err = msg.Header.Date(); err != nil {
		return Received{}, fmt.Errorf("Date: %w", err)
	}
	var body io.Reader = msg.Body
	switch cte := strings.ToLower(strings.TrimSpace(msg.Header.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &crlfStripper{r: body})
	case "", "7bit", "8bit", "binary":
	default:
		return Received{}, fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return Received{}, fmt.Errorf("body: %w", err)
	}
	r.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
	return r, nil
}

// decodeAddress returns an address header as a person reads it.
func decodeAddress(dec *mime.WordDecoder, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	a, err := (&mail.AddressParser{WordDecoder: dec}).Parse(value)
	if err != nil {
		return "", err
	}
	if a.Name == "" {
		return a.Address, nil
	}
	return a.Name + " <" + a.Address + ">", nil
}

// crlfStripper drops line breaks, which a base64 body has every 76
// characters.
type crlfStripper struct{ r io.Reader }

func (c *crlfStripper) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		k := 0
		for _, b := range p[:n] {
			if b != '\r' && b != '\n' {
				p[k] = b
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// Links returns every http and https URL in the text, in order, without
// the punctuation that ends a sentence or closes a bracket around it.
func (r Received) Links() []string {
	var links []string
	text := r.Text
	for {
		i := indexURL(text)
		if i < 0 {
			return links
		}
		end := i + strings.IndexFunc(text[i:], func(c rune) bool {
			return c <= ' ' || strings.ContainsRune(`<>"'`+"`", c)
		})
		if end < i {
			end = len(text)
		}
		link := strings.TrimRight(text[i:end], ".,;:!?")
		if strings.HasSuffix(link, ")") && !strings.Contains(link, "(") {
			link = strings.TrimRight(link[:len(link)-1], ".,;:!?")
		}
		if !strings.HasSuffix(link, "://") {
			links = append(links, link)
		}
		text = text[end:]
	}
}

// indexURL returns where the first "http://" or "https://" that starts a
// word begins in s, or -1.
func indexURL(s string) int {
	off := 0
	for {
		i := strings.Index(s[off:], "http")
		if i < 0 {
			return -1
		}
		i += off
		rest := s[i+4:]
		if (strings.HasPrefix(rest, "://") || strings.HasPrefix(rest, "s://")) && (i == 0 || !isWordByte(s[i-1])) {
			return i
		}
		off = i + 4
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '.'
}
