package mail

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testFrom = "Cheeseshop <noreply@cheeseshop.example>"

// longURL is longer than a quoted-printable line (76 characters), so the
// encoder breaks it with soft line breaks that the reader must join.
const longURL = "https://cheeseshop.example/account/verify?token=" +
	"c2VjcmV0LXRva2VuLXRoYXQtaXMtbG9uZ2VyLXRoYW4tc2V2ZW50eS1zaXgtY2hhcmFjdGVycw"

func TestOutboxRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		msg         Message
		wantTo      string
		wantSubject string // "" means msg.Subject
	}{
		{
			name: "ascii",
			msg: Message{To: "alice@example.org", Subject: "Verify your email address",
				Text: "Hello alice,\n\nOpen " + longURL + " to verify your address.\n"},
			wantTo: "alice@example.org",
		},
		{
			name: "non-ASCII subject and body",
			msg: Message{To: "Zoë Brontë <zoe@example.org>", Subject: "Bienvenue sur cheeseshop, Zoë ✓",
				Text: "Grüße aus der Käserei — 日本語も大丈夫。\nÉmoji: 🧀\n"},
			wantTo: "Zoë Brontë <zoe@example.org>",
		},
		{
			name: "long non-ASCII subject is folded",
			msg: Message{To: "zoe@example.org",
				Subject: strings.Repeat("Fromage affiné à cœur, ", 8) + "fin",
				Text:    "x"},
			wantTo: "zoe@example.org",
		},
		{
			name: "long ASCII subject is folded",
			msg: Message{To: "bob@example.org",
				Subject: strings.Repeat("a rather long subject line ", 10) + "end",
				Text:    "x"},
			wantTo: "bob@example.org",
		},
		{
			name: "long line, trailing spaces, no final newline",
			msg: Message{To: "bob@example.org", Subject: "Long",
				Text: strings.Repeat("0123456789 ", 200) + "\nspaces at the end   \n=equals= and\ttabs\t\nlast line"},
			wantTo: "bob@example.org",
		},
		{
			name:   "empty body",
			msg:    Message{To: "bob@example.org", Subject: "", Text: ""},
			wantTo: "bob@example.org",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "outbox") // created by Send
			box := &Outbox{Dir: dir, From: testFrom}
			before := time.Now().Add(-time.Second)
			if err := box.Send(context.Background(), tt.msg); err != nil {
				t.Fatal(err)
			}
			got := mustReadOutbox(t, dir)
			if len(got) != 1 {
				t.Fatalf("ReadOutbox: %d messages, want 1", len(got))
			}
			r := got[0]
			if r.From != "Cheeseshop <noreply@cheeseshop.example>" || r.To != tt.wantTo {
				t.Errorf("From, To = %q, %q; want %q, %q", r.From, r.To, testFrom, tt.wantTo)
			}
			if r.Subject != tt.msg.Subject {
				t.Errorf("Subject = %q, want %q", r.Subject, tt.msg.Subject)
			}
			if r.Text != tt.msg.Text {
				t.Errorf("Text = %q, want %q", r.Text, tt.msg.Text)
			}
			if r.Date.Before(before) || r.Date.After(time.Now().Add(time.Second)) {
				t.Errorf("Date = %v, want about now", r.Date)
			}
			checkWireFormat(t, r.Path)
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm&^0o750 != 0 || perm&0o700 != 0o700 {
				t.Errorf("outbox folder mode %v, want 0750 (less the umask)", perm)
			}
		})
	}
}

var outboxName = regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{16}\.eml$`)

// checkWireFormat checks the file is a message any mail program reads: CRLF
// lines of at most 78 characters in the header and 76 in the body, ASCII
// only, the MIME headers, and the file name.
func checkWireFormat(t *testing.T, path string) {
	t.Helper()
	if !outboxName.MatchString(filepath.Base(path)) {
		t.Errorf("file name %q does not match %v", filepath.Base(path), outboxName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Errorf("the message does not end with CRLF")
	}
	head, _, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no blank line after the header:\n%s", data)
	}
	for _, want := range []string{"\r\nDate: ", "\r\nFrom: ", "\r\nTo: ", "\r\nSubject:", "\r\nMessage-ID: <", "MIME-Version: 1.0\r\n",
		"Content-Type: text/plain; charset=utf-8\r\n", "Content-Transfer-Encoding: quoted-printable\r\n"} {
		if !strings.Contains("\r\n"+string(head)+"\r\n", want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	inHeader := true
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n") {
		if line == "" {
			inHeader = false
		}
		limit := 76
		if inHeader {
			limit = 78
		}
		if len(line) > limit || strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d is %d characters or holds a bare CR/LF: %q", i+1, len(line), line)
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Errorf("line %d is not ASCII: %q", i+1, line)
				break
			}
		}
	}
}

func TestOutboxRefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	ok := Message{To: "alice@example.org", Subject: "Hello", Text: "body"}
	tests := []struct {
		name string
		from string
		edit func(*Message)
	}{
		{"LF in To", testFrom, func(m *Message) { m.To = "alice@example.org\nBcc: eve@example.org" }},
		{"CRLF in To", testFrom, func(m *Message) { m.To = "alice@example.org\r\nBcc: eve@example.org" }},
		{"CR in Subject", testFrom, func(m *Message) { m.Subject = "Hello\rBcc: eve@example.org" }},
		{"CRLF in Subject", testFrom, func(m *Message) { m.Subject = "Hello\r\nBcc: eve@example.org" }},
		{"LF in From", "noreply@cheeseshop.example\nBcc: eve@example.org", func(*Message) {}},
		{"two recipients", testFrom, func(m *Message) { m.To = "alice@example.org, eve@example.org" }},
		{"not an address", testFrom, func(m *Message) { m.To = "alice" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			m := ok
			tt.edit(&m)
			err := (&Outbox{Dir: dir, From: tt.from}).Send(context.Background(), m)
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("Send = %v, want ErrHeader", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("a refused message left %d files", len(entries))
			}
		})
	}
	if _, err := New("", t.TempDir(), "noreply@example.org\r\nBcc: eve@example.org"); !errors.Is(err, ErrHeader) {
		t.Errorf("New with a line break in From = %v, want ErrHeader", err)
	}
}

func TestOutboxConcurrentSends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := New("", dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- m.Send(context.Background(), Message{To: "alice@example.org", Subject: fmt.Sprint("message ", i), Text: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d files for %d messages", len(entries), n)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("left-over file %q", e.Name())
		}
	}
	got := mustReadOutbox(t, dir)
	var subjects []string
	for _, r := range got {
		subjects = append(subjects, r.Subject)
	}
	slices.Sort(subjects)
	if len(slices.Compact(subjects)) != n {
		t.Fatalf("subjects are not distinct: %q", subjects)
	}
}

// mustReadOutbox reads the outbox folder dir, failing the test on error.
func mustReadOutbox(t *testing.T, dir string) []Received {
	t.Helper()
	got, err := ReadOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestReadOutbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if got, err := ReadOutbox(filepath.Join(dir, "missing")); err != nil || len(got) != 0 {
		t.Fatalf("ReadOutbox(missing folder) = %v, %v; want nothing", got, err)
	}
	box := &Outbox{Dir: dir, From: "noreply@cheeseshop.example"}
	for _, s := range []string{"first", "second", "third"} {
		if err := box.Send(context.Background(), Message{To: "alice@example.org", Subject: s, Text: s}); err != nil {
			t.Fatal(err)
		}
	}
	// A send in progress, and files that are no messages, are ignored.
	for _, name := range []string{".20990101T000000.000000000Z-0000000000000000.eml.123.tmp", "README"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a message"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := mustReadOutbox(t, dir)
	var subjects []string
	for _, r := range got {
		subjects = append(subjects, r.Subject)
		if r.From != "noreply@cheeseshop.example" || r.To != "alice@example.org" {
			t.Errorf("From, To = %q, %q", r.From, r.To)
		}
	}
	if want := []string{"first", "second", "third"}; !slices.Equal(subjects, want) {
		t.Fatalf("subjects %q, want %q (oldest first)", subjects, want)
	}

	// Messages not written by Outbox: base64 and 8bit bodies, LF endings.
	foreign := map[string]string{
		"30000101T000000.000000000Z-b64.eml": "From: a@example.org\nTo: b@example.org\nSubject: =?utf-8?b?RnLDqGQ=?=\n" +
			"Date: Mon, 02 Jan 2006 15:04:05 +0000\nContent-Transfer-Encoding: base64\n\naMOpIGh0dHBzOi8vZXhh\nbXBsZS5vcmcvIQo=\n",
		"30000101T000000.000000001Z-8bit.eml": "From: a@example.org\nTo: b@example.org\nSubject: plain\n" +
			"Date: Mon, 02 Jan 2006 15:04:05 +0000\nContent-Transfer-Encoding: 8bit\n\nhé\n",
	}
	for name, content := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got = mustReadOutbox(t, dir)
	if len(got) != 5 || got[3].Subject != "Frèd" || got[3].Text != "hé https://example.org/!\n" || got[4].Text != "hé\n" {
		t.Fatalf("foreign messages read as %+v", got[3:])
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"none", "no links here, not even http or https alone", nil},
		{"one per line", "Verify: https://a.example/v?t=1&u=2\nHelp: http://a.example/help\n",
			[]string{"https://a.example/v?t=1&u=2", "http://a.example/help"}},
		{"sentence punctuation", "Open https://a.example/x. Or https://a.example/y, or (https://a.example/z)!",
			[]string{"https://a.example/x", "https://a.example/y", "https://a.example/z"}},
		{"brackets and quotes", `<https://a.example/1> "https://a.example/2" 'https://a.example/3'`,
			[]string{"https://a.example/1", "https://a.example/2", "https://a.example/3"}},
		{"parentheses inside the URL", "see https://en.wikipedia.example/wiki/Cheese_(food).",
			[]string{"https://en.wikipedia.example/wiki/Cheese_(food)"}},
		{"not inside a word", "xhttps://a.example/ and https:// and https://b.example",
			[]string{"https://b.example"}},
		{"whole text", longURL, []string{longURL}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (Received{Text: tt.text}).Links(); !slices.Equal(got, tt.want) {
				t.Fatalf("Links() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLinksThroughOutbox finds a long verification link the way a user
// would: in the decoded text of the message read from the outbox.
func TestLinksThroughOutbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, err := New("", dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	text := "Hello,\n\nto verify your address, open\n" + longURL + "\nwithin 24 hours.\n"
	if err := m.Send(context.Background(), Message{To: "alice@example.org", Subject: "Verify", Text: text}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(mustOne(t, dir))
	if bytes.Contains(raw, []byte(longURL)) {
		t.Fatalf("the long URL was not broken by quoted-printable, so the test tests nothing")
	}
	got := mustReadOutbox(t, dir)
	if links := got[0].Links(); !slices.Equal(links, []string{longURL}) {
		t.Fatalf("Links() = %q, want [%q]", links, longURL)
	}
}

func mustOne(t *testing.T, dir string) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(paths) != 1 {
		t.Fatalf("%d messages in %s, want 1", len(paths), dir)
	}
	return paths[0]
}

func TestFold(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"Subject: short",
		"Subject: " + strings.Repeat("word ", 40) + "end",
		"Subject: " + strings.Repeat("x", 200) + " tail",
		"Subject: two  spaces " + strings.Repeat("y", 80) + "  kept",
	} {
		folded := fold(line)
		sc := bufio.NewScanner(strings.NewReader(folded))
		var lines []string
		for sc.Scan() {
			lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
		}
		if got := strings.Join(lines, ""); got != line {
			t.Errorf("fold(%q) unfolds to %q", line, got)
		}
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, " ") || strings.HasPrefix(l, "  ") {
				t.Errorf("fold(%q): continuation %q must start with exactly one space", line, l)
			}
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if m, err := New("", "/tmp/outbox", "noreply@example.org"); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*Outbox); !ok {
		t.Fatalf("New without an SMTP URL = %T, want *Outbox", m)
	}
	if m, err := New("smtp://mail.example.org", "/tmp/outbox", "noreply@example.org"); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*SMTP); !ok {
		t.Fatalf("New with an SMTP URL = %T, want *SMTP", m)
	}
	if _, err := New("", "", "noreply@example.org"); err == nil {
		t.Fatal("New with neither an SMTP URL nor an outbox succeeded")
	}
}
