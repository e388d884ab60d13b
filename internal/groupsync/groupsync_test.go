package groupsync

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// gate is a sync function the test drives: each call announces itself on
// started and blocks until the test sends its result on results.
type gate struct {
	started chan string
	results chan error
	mu      sync.Mutex
	calls   map[string]int
}

func newGate() *gate {
	return &gate{started: make(chan string), results: make(chan error), calls: map[string]int{}}
}

func (g *gate) sync(path string) error {
	g.mu.Lock()
	g.calls[path]++
	g.mu.Unlock()
	g.started <- path
	return <-g.results
}

// syncAsync calls g.Sync in a goroutine and returns where its result
// arrives.
func syncAsync(g *Group, path string) <-chan error {
	c := make(chan error, 1)
	go func() { c <- g.Sync(context.Background(), path) }()
	return c
}

// released reports whether the caller behind c has been released.
func released(c <-chan error) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// No caller is released before a sync that started after its request has
// returned, and callers who asked while a sync ran share the next one.
func TestGroupWaitsForALaterSync(t *testing.T) {
	t.Parallel()
	fake := newGate()
	g := New(fake.sync)
	defer g.Close()

	first := syncAsync(g, "a")
	if p := <-fake.started; p != "a" {
		t.Fatalf("synced %q, want a", p)
	}
	// While the first sync runs, three more callers ask for a, a and b.
	later := []<-chan error{syncAsync(g, "a"), syncAsync(g, "a"), syncAsync(g, "b")}
	waitPending(t, g, 3)
	if released(first) {
		t.Fatal("released before its sync returned")
	}
	fake.results <- nil
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The later callers were not released by the sync that was running
	// when they asked: the next batch syncs a once and b once.
	for _, c := range later {
		if released(c) {
			t.Fatal("a caller was released by a sync that started before its request")
		}
	}
	got := map[string]bool{<-fake.started: true}
	fake.results <- nil
	got[<-fake.started] = true
	fake.results <- nil
	for _, c := range later {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if !got["a"] || !got["b"] {
		t.Fatalf("second batch synced %v, want a and b", got)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.calls["a"] != 2 || fake.calls["b"] != 1 {
		t.Fatalf("syncs: %v, want a twice (one per batch) and b once", fake.calls)
	}
}

// waitPending waits until n requests are queued behind the running sync.
func waitPending(t *testing.T, g *Group, n int) {
	t.Helper()
	for {
		g.mu.Lock()
		k := len(g.pending)
		g.mu.Unlock()
		if k >= n {
			return
		}
		// Let the goroutines run (no sleep: a yield is enough, and the
		// loop ends as soon as they have queued).
		runtime.Gosched()
	}
}

// An error of a sync reaches every caller of the path in its batch, and
// only them.
func TestGroupErrorReachesEveryWaiter(t *testing.T) {
	t.Parallel()
	fake := newGate()
	g := New(fake.sync)
	defer g.Close()

	block := syncAsync(g, "x")
	<-fake.started
	as := []<-chan error{syncAsync(g, "a"), syncAsync(g, "a"), syncAsync(g, "a")}
	b := syncAsync(g, "b")
	waitPending(t, g, 4)
	fake.results <- nil
	if err := <-block; err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	for range 2 {
		if p := <-fake.started; p == "a" {
			fake.results <- boom
		} else {
			fake.results <- nil
		}
	}
	for _, c := range as {
		if err := <-c; !errors.Is(err, boom) {
			t.Fatalf("a caller of a got %v, want the sync's error", err)
		}
	}
	if err := <-b; err != nil {
		t.Fatalf("the caller of b got %v", err)
	}
}

// Many concurrent callers are all released, each after a sync of its own
// path, with fewer syncs than callers.
func TestGroupConcurrent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	syncs := 0
	g := New(func(string) error {
		mu.Lock()
		syncs++
		mu.Unlock()
		return nil
	})
	defer g.Close()
	const callers = 200
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			if err := g.Sync(context.Background(), []string{"p", "q"}[i%2]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if syncs == 0 || syncs > callers {
		t.Fatalf("%d syncs for %d callers", syncs, callers)
	}
}

// A caller whose context ends stops waiting; Close syncs what is queued
// and refuses later requests.
func TestGroupCancelAndClose(t *testing.T) {
	t.Parallel()
	fake := newGate()
	g := New(fake.sync)

	first := syncAsync(g, "a")
	<-fake.started
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { cancelled <- g.Sync(ctx, "b") }()
	waitPending(t, g, 1)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	queued := syncAsync(g, "c")
	waitPending(t, g, 2)
	closed := make(chan struct{})
	go func() { g.Close(); close(closed) }()
	fake.results <- nil // a
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The batch queued before Close is synced: b (nobody waits) and c.
	for range 2 {
		<-fake.started
		fake.results <- nil
	}
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
	<-closed
	if err := g.Sync(context.Background(), "d"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v, want ErrClosed", err)
	}
}

// File and Data sync real files and folders; Data accepts a missing file,
// File does not.
func TestFileAndData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		sync    func(string) error
		path    string
		wantErr bool
	}{
		{"file", File, p, false},
		{"folder", File, dir, false},
		{"missing file", File, filepath.Join(dir, "none"), true},
		{"data", Data, p, false},
		{"data of a missing file", Data, filepath.Join(dir, "none"), false},
	} {
		if err := tc.sync(tc.path); (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

// A caller of several paths is released when all of them are synced, with
// the first error among them.
func TestGroupSeveralPaths(t *testing.T) {
	t.Parallel()
	boom := errors.New("no space")
	var mu sync.Mutex
	synced := map[string]int{}
	g := New(func(p string) error {
		mu.Lock()
		synced[p]++
		mu.Unlock()
		if p == "bad" {
			return boom
		}
		return nil
	})
	defer g.Close()
	ctx := context.Background()
	if err := g.Sync(ctx, "dir", "parent"); err != nil {
		t.Fatal(err)
	}
	if err := g.Sync(ctx, "dir", "bad", "parent"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the error of bad", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if synced["dir"] != 2 || synced["parent"] != 2 || synced["bad"] != 1 {
		t.Fatalf("synced %v", synced)
	}
}
