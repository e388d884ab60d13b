// Package jobs runs work after an answer was sent: a bounded queue served
// by a fixed number of workers. The account pages use it so that what
// depends on a secret (whether an account exists, whether an address is
// registered) is done after the answer, on a path the answer does not
// wait for, with bounded concurrency (sending mail is slow and must not
// pile up).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrClosed is returned by Go after Close.
var ErrClosed = errors.New("jobs: queue closed")

// Timeout bounds one job: its context ends after it.
const Timeout = 2 * time.Minute

// Queue is a bounded queue of jobs and its workers. It is safe for
// concurrent use.
type Queue struct {
	work    chan job
	log     *slog.Logger
	ctx     context.Context // the jobs' context, cancelled by Close
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	senders sync.WaitGroup // calls of Go in progress
	pending int            // queued or running
	idle    chan struct{}  // closed when pending falls to 0
}

type job struct {
	name string
	fn   func(ctx context.Context)
}

// New starts workers goroutines serving a queue of at most capacity
// waiting jobs. log may be nil.
func New(workers, capacity int, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{work: make(chan job, max(capacity, 0)), log: log, ctx: ctx, cancel: cancel}
	for range max(workers, 1) {
		q.workers.Go(q.serve)
	}
	return q
}

func (q *Queue) serve() {
	for j := range q.work {
		q.run(j)
		q.finished()
	}
}

func (q *Queue) run(j job) {
	ctx, cancel := context.WithTimeout(q.ctx, Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			q.log.ErrorContext(ctx, "job panicked", "job", j.name, "panic", fmt.Sprint(r))
		}
	}()
	j.fn(ctx)
}

func (q *Queue) finished() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending--
	if q.pending == 0 {
		close(q.idle)
	}
}

// Go queues fn, named name for the logs, to run on a worker with a
// context of its own (not ctx: the job outlives the request). When the
// queue is full it waits for room until ctx ends, so that a flood slows
// the requests that cause it instead of growing memory.
func (q *Queue) Go(ctx context.Context, name string, fn func(ctx context.Context)) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	q.senders.Add(1)
	defer q.senders.Done()
	if q.pending == 0 {
		q.idle = make(chan struct{})
	}
	q.pending++
	q.mu.Unlock()
	select {
	case q.work <- job{name: name, fn: fn}:
		return nil
	case <-ctx.Done():
		q.finished()
		return fmt.Errorf("jobs: queue %s: %w", name, ctx.Err())
	}
}

// Drain waits until every job queued so far (and any queued meanwhile)
// has run, or ctx ends.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if q.pending == 0 {
		q.mu.Unlock()
		return nil
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting jobs, runs those already queued, and returns when
// the workers have stopped. Calling it again does nothing.
func (q *Queue) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	q.senders.Wait()
	close(q.work)
	q.workers.Wait()
	q.cancel()
}
