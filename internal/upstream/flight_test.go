package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"cheeseshop/internal/upstream"
)

// TestFlightOneFetch: 100 concurrent callers of one page and then of
// its file cause one upstream request each. The callers gather in a
// synctest bubble, so that all wait on the first call before it ends.
func TestFlightOneFetch(t *testing.T) {
	content := []byte("file content")
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/packages/holygrail-1.0.tar.gz" {
			w.Write(content)
			return
		}
		serveJSON(jsonPageOf("/packages/holygrail-1.0.tar.gz"))(w, r)
	})
	synctest.Test(t, func(t *testing.T) {
		up, err := upstream.ParseUpstream(s.URL + "/simple/")
		if err != nil {
			t.Fatal(err)
		}
		c := upstream.NewClient(up, upstream.Config{})
		defer c.Close() // its connections' goroutines end before the bubble
		pages := upstream.NewFlight[*upstream.Page](time.Minute)
		files := upstream.NewFlight[upstream.Transfer](time.Minute)
		var calls, failures atomic.Int32
		var page atomic.Pointer[upstream.Page]
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				p, _, err := pages.Do(context.Background(), "page:holygrail", func(ctx context.Context) (*upstream.Page, error) {
					calls.Add(1)
					<-gate
					return c.FetchPage(ctx, "holygrail", upstream.Validators{})
				})
				if err != nil || len(p.Files) != 1 {
					failures.Add(1)
					return
				}
				page.Store(p)
			})
		}
		synctest.Wait() // every caller waits on the first call
		close(gate)
		wg.Wait()
		if failures.Load() != 0 || calls.Load() != 1 || s.count() != 1 {
			t.Fatalf("page: %d failures, %d calls, %d requests", failures.Load(), calls.Load(), s.count())
		}

		c.Close() // a kept-alive connection reading the network would keep synctest.Wait waiting
		f := page.Load().Files[0]
		f.SHA256, f.Size = digest(string(content)), -1
		gate = make(chan struct{})
		for range 100 {
			wg.Go(func() {
				got, _, err := files.Do(context.Background(), "file:"+f.SHA256, func(ctx context.Context) (upstream.Transfer, error) {
					calls.Add(1)
					<-gate
					return c.FetchFile(ctx, f, discard{})
				})
				if err != nil || got.Size != int64(len(content)) {
					failures.Add(1)
				}
			})
		}
		synctest.Wait()
		close(gate)
		wg.Wait()
		if failures.Load() != 0 || calls.Load() != 2 || s.count() != 2 {
			t.Fatalf("file: %d failures, %d calls, %d requests", failures.Load(), calls.Load(), s.count())
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestFlightDetached: a caller that leaves gets its context's error at
// once, and the call goes on for the others, under its own deadline.
func TestFlightDetached(t *testing.T) {
	f := upstream.NewFlight[string](time.Minute)
	proceed := make(chan struct{})
	entered := make(chan struct{})
	type ctxKey struct{}
	var callErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, _, err := f.Do(context.WithValue(context.Background(), ctxKey{}, "kept"), "k", func(ctx context.Context) (string, error) {
			close(entered)
			<-proceed
			if _, ok := ctx.Deadline(); !ok {
				return "", errors.New("no deadline")
			}
			return fmt.Sprint(ctx.Value(ctxKey{})), ctx.Err()
		})
		if err != nil || v != "kept" {
			callErr = fmt.Errorf("first caller: %q, %v", v, err)
		}
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error)
	go func() {
		_, _, err := f.Do(ctx, "k", func(context.Context) (string, error) { return "second call", nil })
		left <- err
	}()
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the leaving caller got %v", err)
	}
	close(proceed)
	<-done
	if callErr != nil {
		t.Fatal(callErr)
	}
	// Its own deadline bounds the call.
	short := upstream.NewFlight[int](10 * time.Millisecond)
	_, _, err := short.Do(context.Background(), "k", func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
