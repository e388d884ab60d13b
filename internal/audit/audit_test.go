package audit

import (
	"strings"
	"testing"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Firefox/133.0", 512, "Firefox/133.0"},
		{"abcdef", 3, "abc"},
		{"ab\u00e9", 3, "ab"}, // the cut splits é
		{"a\xffb\xfe", 512, "ab"},
		{"a\x00b", 512, "ab"},
		{strings.Repeat("é", 300), 512, strings.Repeat("é", 256)},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
