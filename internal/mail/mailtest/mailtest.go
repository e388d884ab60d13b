// Package mailtest gives tests mailers that keep what they are sent, or
// hold it back, so that a test reads the emails of a service without a
// mail server or an outbox folder.
package mailtest

import (
	"context"
	"sync"

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

// Send waits until the gate is open, then sends m through Next.
func (g *Gate) Send(ctx context.Context, m mail.Message) error {
	select {
	case g.Entered <- struct{}{}:
	default:
	}
	<-g.open
	return g.Next.Send(ctx, m)
}

// Open lets every message through, the held ones and the later ones. Call
// it once.
func (g *Gate) Open() { close(g.open) }
