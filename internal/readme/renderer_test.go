package readme

import (
	"strings"
	"testing"
	"time"
)

func TestRenderer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, ct string
		budget       time.Duration
		want         string
		cached       bool
	}{
		{name: "markdown", in: "# Hi", ct: "text/markdown", budget: time.Minute, want: "<h1>Hi</h1>", cached: true},
		{name: "rst", in: "Hi\n==", ct: "text/x-rst", budget: time.Minute, want: `<pre class="plain">Hi`},
		// Deeply nested block quotes take goldmark quadratic time.
		{name: "over budget", in: strings.Repeat("> ", 20000) + "<b>x</b>", ct: "text/markdown", budget: time.Millisecond,
			want: `<pre class="plain">&gt; &gt;`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRenderer(tt.budget, 1, 0)
			got := string(r.Render(7, tt.in, tt.ct))
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Render = %.200s, want %q in it", got, tt.want)
			}
			r.mu.Lock()
			_, cached := r.cache[7]
			r.mu.Unlock()
			if cached != tt.cached {
				t.Errorf("cached = %v, want %v", cached, tt.cached)
			}
			if tt.cached && string(r.Render(7, "other", tt.ct)) != got {
				t.Error("second call did not use the cache")
			}
		})
	}
}

func TestRendererEviction(t *testing.T) {
	t.Parallel()
	r := NewRenderer(time.Minute, 1, 100)
	for i := range int64(20) {
		r.Render(i, "# "+strings.Repeat("x", 10), "text/markdown")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes > 100 || len(r.cache) == 0 {
		t.Errorf("cache holds %d bytes in %d entries, want at most 100 and some", r.bytes, len(r.cache))
	}
}
