package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("runs every job; Drain waits for them", func(t *testing.T) {
		q := New(2, 8, nil)
		defer q.Close()
		var n atomic.Int64
		for range 20 {
			if err := q.Go(ctx, "count", func(context.Context) { n.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 20 {
			t.Fatalf("%d jobs ran before Drain returned, want 20", n.Load())
		}
	})

	t.Run("at most workers jobs at once", func(t *testing.T) {
		q := New(2, 8, nil)
		defer q.Close()
		release := make(chan struct{})
		started := make(chan struct{}, 8)
		var running, most atomic.Int64
		for range 6 {
			q.Go(ctx, "block", func(context.Context) {
				r := running.Add(1)
				for {
					m := most.Load()
					if r <= m || most.CompareAndSwap(m, r) {
						break
					}
				}
				started <- struct{}{}
				<-release
				running.Add(-1)
			})
		}
		<-started
		<-started
		close(release)
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if most.Load() != 2 {
			t.Fatalf("%d jobs ran at once, want 2", most.Load())
		}
	})

	t.Run("a full queue makes Go wait, until its context ends", func(t *testing.T) {
		q := New(1, 1, nil)
		defer q.Close()
		release := make(chan struct{})
		started := make(chan struct{})
		q.Go(ctx, "block", func(context.Context) { close(started); <-release })
		<-started
		if err := q.Go(ctx, "queued", func(context.Context) {}); err != nil { // fills the queue
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := q.Go(cctx, "refused", func(context.Context) { t.Error("a refused job ran") }); !errors.Is(err, context.Canceled) {
			t.Fatalf("Go on a full queue with an ended context = %v", err)
		}
		close(release)
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Close runs what is queued, then refuses", func(t *testing.T) {
		q := New(1, 8, nil)
		var n atomic.Int64
		for range 5 {
			q.Go(ctx, "count", func(context.Context) { n.Add(1) })
		}
		q.Go(ctx, "panics", func(context.Context) { panic("boom") })
		q.Go(ctx, "count", func(context.Context) { n.Add(1) })
		q.Close()
		q.Close()
		if n.Load() != 6 {
			t.Fatalf("%d jobs ran by Close, want 6 (a panic must not stop the worker)", n.Load())
		}
		if err := q.Go(ctx, "late", func(context.Context) {}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Go after Close = %v, want ErrClosed", err)
		}
		if err := q.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
