package readme

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// memStore is a Store in memory that counts its calls. A rendering of
// version is stored in html, one of an older version in old.
type memStore struct {
	mu           sync.Mutex
	html, old    map[int64]string
	loads, saves int
	fail         error
}

func (m *memStore) Load(_ context.Context, key int64) (string, int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	if m.fail != nil {
		return "", 0, false, m.fail
	}
	if h, ok := m.old[key]; ok {
		return h, Version - 1, true, nil
	}
	h, ok := m.html[key]
	return h, Version, ok, nil
}

func (m *memStore) Save(_ context.Context, key int64, html string, version int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if version != Version {
		panic("saved with a version not the current one")
	}
	m.saves++
	delete(m.old, key)
	m.html[key] = html
	return nil
}

func TestRenderer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &memStore{html: map[int64]string{}, old: map[int64]string{}}
	r := NewRenderer(st, 1, 0)
	// Rendered once, saved, then served from memory.
	h, err := r.Render(ctx, 7, "# Hi", "text/markdown")
	if err != nil || !strings.Contains(string(h), "<h1>Hi</h1>") || st.saves != 1 || st.html[7] != string(h) {
		t.Fatalf("first Render = %q, %v; saves %d", h, err, st.saves)
	}
	if h2, _ := r.Render(ctx, 7, "other", "text/markdown"); h2 != h || st.loads != 1 {
		t.Fatalf("second Render = %q (loads %d), want the kept rendering", h2, st.loads)
	}
	// A rendering stored earlier (by the upload, or another replica) is
	// read, not rendered again.
	st.html[8] = "<p>stored</p>"
	if h, _ := r.Render(ctx, 8, "# not this", "text/markdown"); h != "<p>stored</p>" || st.saves != 1 {
		t.Fatalf("stored rendering: %q, saves %d", h, st.saves)
	}
	// A rendering by an older version of the renderer (which a fix
	// since may have changed) is rendered again and replaced.
	st.old[10] = "<p>old</p>"
	if h, _ := r.Render(ctx, 10, "# New", "text/markdown"); !strings.Contains(string(h), "<h1>New</h1>") ||
		st.saves != 2 || st.html[10] != string(h) || st.old[10] != "" {
		t.Fatalf("old rendering: %q, saves %d, stored %q", h, st.saves, st.html[10])
	}
	// A pathological description is shown as plain text, saved as such.
	h, _ = r.Render(ctx, 9, strings.Repeat(">", 50000)+" <b>x</b>", "text/markdown")
	if !strings.Contains(string(h), `<pre class="plain">&gt;&gt;`) || st.html[9] != string(h) {
		t.Fatalf("pathological: %.200s", h)
	}
	// A failing store: the rendering still shows (as plain text), with
	// the error for the log.
	bad := NewRenderer(&memStore{html: map[int64]string{}, fail: errors.New("db down")}, 1, 0)
	if h, err := bad.Render(ctx, 1, "# Hi", "text/markdown"); err == nil || !strings.Contains(string(h), `<pre class="plain"># Hi`) {
		t.Fatalf("failing store: %q, %v", h, err)
	}
}

func TestRendererBusy(t *testing.T) {
	t.Parallel()
	r := NewRenderer(nil, 1, 0)
	r.slots <- struct{}{} // the only slot is taken
	h, err := r.Render(context.Background(), 1, "# Hi", "text/markdown")
	if err != nil || !strings.Contains(string(h), `<pre class="plain"># Hi`) {
		t.Fatalf("busy: %q, %v", h, err)
	}
	<-r.slots
	if h, _ := r.Render(context.Background(), 1, "# Hi", "text/markdown"); !strings.Contains(string(h), "<h1>Hi</h1>") {
		t.Fatalf("the busy answer was kept: %q", h)
	}
}

func TestRendererEviction(t *testing.T) {
	t.Parallel()
	r := NewRenderer(nil, 1, 100)
	for i := range int64(20) {
		r.Render(context.Background(), i, "# "+strings.Repeat("x", 10), "text/markdown")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes > 100 || len(r.cache) == 0 {
		t.Errorf("cache holds %d bytes in %d entries, want at most 100 and some", r.bytes, len(r.cache))
	}
}
