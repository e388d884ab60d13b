package useragent

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSummary(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on Linux"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on Windows"},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", "Safari 17 on macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", "Safari 17 on iOS"},
		{"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome 131 on iPadOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox 133 on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge 131 on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera 115 on Windows"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on ChromeOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Headless Chrome 131 on Linux"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (X11; FreeBSD amd64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133 on FreeBSD"},
		{`pip/24.0 {"ci":null,"cpu":"x86_64","distro":{"name":"Ubuntu","version":"24.04"},"implementation":{"name":"CPython","version":"3.12.3"},"installer":{"name":"pip","version":"24.0"},"python":"3.12.3","system":{"name":"Linux","release":"6.8.0"}}`, "pip 24.0 on Linux"},
		{`pip/24.0 {"system":{"name":"Darwin","release":"23.0"}}`, "pip 24.0 on macOS"},
		{`pip/24.0 {"system":{"name":"<script>","release":"x"}}`, "pip 24.0"},
		{"pip/24.0", "pip 24.0"},
		{`uv/0.5.4 {"installer":{"name":"uv","version":"0.5.4"},"python":"3.12.7","system":{"name":"Windows","release":"10"}}`, "uv 0.5.4 on Windows"},
		{"twine/5.1.1 CPython/3.12.3", "twine 5.1.1"},
		{"python-requests/2.32.3", "Python requests 2.32.3"},
		{"curl/8.5.0", "curl 8.5.0"},
		{"Go-http-client/1.1", "Go HTTP client 1.1"},
		{"poetry/1.8.4", "Poetry 1.8.4"},
		{"MyTool/1.2 (Windows NT 10.0)", "MyTool 1.2 on Windows"},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Unknown},
		{"Mozilla/5.0 (X11; Linux x86_64)", "Browser on Linux"},
		{"", Unknown},
		{"   ", Unknown},
		{"<script>alert(1)</script>", "scriptalert"},
		{"Firefox/<b>133", "Firefox"},
		{"\x00\x01\x02", Unknown},
		{"pip/24.0\r\nX-Evil: 1", "pip 24.0"},
		{"evil\u202etool/1.0", "eviltool 1.0"},
		{"curl/" + strings.Repeat("9", 100), "curl " + strings.Repeat("9", maxVersion)},
		{strings.Repeat("A", 5000) + "/1", strings.Repeat("A", maxName)},
		{strings.Repeat("A", 50) + "/1", strings.Repeat("A", maxName) + " 1"},
		{strings.Repeat("(", 5000) + "Firefox/1", Unknown},
		{strings.Repeat("x ", 3000) + "Firefox/133", "x"},
	}
	for _, tt := range tests {
		if got := Summary(tt.ua); got != tt.want {
			t.Errorf("Summary(%.80q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"Firefox/133.0", 100, "Firefox/133.0"},
		{"a\x00b\r\nc\td\u202ee\u200bf", 100, "abcdef"},
		{"bad \xff\xfe utf-8", 100, "bad  utf-8"},
		{"line\u2028paragraph\u2029next\u0085end", 100, "lineparagraphnextend"},
		{"abcdefghij", 5, "ab…"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghij", 2, "ab"},
		{"ééééé", 6, "é…"},
		{"ééééé", 7, "éé…"},
		{"anything", 0, ""},
		{strings.Repeat("\x00", 10000) + "tail", 100, "…"},
	}
	for _, tt := range tests {
		if got := Printable(tt.in, tt.n); got != tt.want {
			t.Errorf("Printable(%.40q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// printable reports whether s is valid UTF-8 without control or format
// characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

func FuzzSummary(f *testing.F) {
	for _, s := range []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		`pip/24.0 {"system":{"name":"Linux"}}`,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) Version/17.6 Safari/604.1",
		"((((", "))) a/b/c", "\x00\xff/\u202e", "",
	} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, ua string, n int) {
		s := Summary(ua)
		if s == "" || len(s) > MaxSummary || !printable(s) || strings.ContainsAny(s, "<>&\"'") {
			t.Fatalf("Summary(%q) = %q", ua, s)
		}
		n = n % 1024
		p := Printable(ua, n)
		if len(p) > max(n, 0) || !printable(p) {
			t.Fatalf("Printable(%q, %d) = %q", ua, n, p)
		}
	})
}

func BenchmarkSummary(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
		{"pip", `pip/24.0 {"ci":null,"cpu":"x86_64","implementation":{"name":"CPython","version":"3.12.3"},"system":{"name":"Linux","release":"6.8.0"}}`},
		{"hostile-10k", strings.Repeat("a/1 (", 2048)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Summary(bc.ua)
			}
		})
	}
}
