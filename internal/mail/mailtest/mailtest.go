// Package mailtest gives tests mailers that keep what they are sent, or
// hold it back, so that a test reads the emails of a service without a
// mail server or an outbox folder.
package mailtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/mail"
)

// Box is a mail.Mailer that keeps the messages it is given. It is safe
// for concurrent use.
type Box struct {
	// Drain, when set, runs before every read: it waits for the
	// services' background jobs, which send most mail.
	Drain func()

	mu   sync.Mutex
	msgs []mail.Message
}

// Send keeps m.
func (b *Box) Send(_ context.Context, m mail.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

// All returns the messages sent so far, oldest first, after Drain.
func (b *Box) All() []mail.Message {
	if b.Drain != nil {
		b.Drain()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mail.Message(nil), b.msgs...)
}

// Gate is a mail.Mailer that holds every message until Open is called,
// then passes it to Next: a test checks that an answer does not wait for
// its email.
type Gate struct {
	// Entered receives (without blocking) when a message starts waiting.
	Entered chan struct{}
	Next    mail.Mailer
	open    chan struct{}
}

// NewGate returns a closed Gate in front of next.
func NewGate(next mail.Mailer) *Gate {
	return &Gate{Entered: make(chan struct{}, 1), Next: next, open: make(chan struct{})}
}

// Send waits until the gate is open, then sends m through Next; or until
// ctx is done.
func (g *Gate) Send(ctx context.Context, m mail.Message) error {
	select {
	case g.Entered <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Next.Send(ctx, m)
}

// Open lets every message through, the held ones and the later ones. Call
// it once.
func (g *Gate) Open() { close(g.open) }

// AnsweredFirst runs answer while the gate holds the mail, and fails t
// unless answer returns, without error, within 20 seconds (a guard against
// a hang, not a measurement): what must not wait for its email. Then it
// waits until a message reaches the gate (the email goes out after the
// answer) and opens the gate.
func (g *Gate) AnsweredFirst(t testing.TB, what string, answer func() error) {
	t.Helper()
	answered := make(chan error, 1)
	go func() { answered <- answer() }()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		g.Open()
		t.Fatalf("%s waited for the email", what)
	}
	<-g.Entered
	g.Open()
}
