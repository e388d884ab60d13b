package pep

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatalf("ParseVersion(%q): %v", s, err)
	}
	return v
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in, str, canonical, public, local, base string
		pre, post, dev                          bool
	}{
		{in: "1.0", str: "1.0", canonical: "1", public: "1.0", base: "1.0"},
		{in: "1.0.0", str: "1.0.0", canonical: "1", public: "1.0.0", base: "1.0.0"},
		{in: "1.2.0", str: "1.2.0", canonical: "1.2", public: "1.2.0", base: "1.2.0"},
		{in: "0", str: "0", canonical: "0", public: "0", base: "0"},
		{in: "0.0.0", str: "0.0.0", canonical: "0", public: "0.0.0", base: "0.0.0"},
		{in: "1.0.10", str: "1.0.10", canonical: "1.0.10", public: "1.0.10", base: "1.0.10"},
		{in: "01.02", str: "1.2", canonical: "1.2", public: "1.2", base: "1.2"},
		{in: " V1.0-ALPHA ", str: "1.0a0", canonical: "1a0", public: "1.0a0", base: "1.0", pre: true},
		{in: "1.0-1", str: "1.0.post1", canonical: "1.post1", public: "1.0.post1", base: "1.0", post: true},
		{in: "1.0c1", str: "1.0rc1", canonical: "1rc1", public: "1.0rc1", base: "1.0", pre: true},
		{in: "1.0.dev", str: "1.0.dev0", canonical: "1.dev0", public: "1.0.dev0", base: "1.0", pre: true, dev: true},
		{in: "1.0.post1.dev2", str: "1.0.post1.dev2", canonical: "1.post1.dev2", public: "1.0.post1.dev2", base: "1.0", pre: true, post: true, dev: true},
		{in: "0!1.0", str: "1.0", canonical: "1", public: "1.0", base: "1.0"},
		{in: "2!1.0.0rc1.post2+abc", str: "2!1.0.0rc1.post2+abc", canonical: "2!1rc1.post2+abc", public: "2!1.0.0rc1.post2", local: "abc", base: "2!1.0.0", pre: true, post: true},
		{in: "1.0+Ubuntu-01", str: "1.0+ubuntu.1", canonical: "1+ubuntu.1", public: "1.0", local: "ubuntu.1", base: "1.0"},
		{in: "1.0.99999999999999999999", str: "1.0.99999999999999999999", canonical: "1.0.99999999999999999999", public: "1.0.99999999999999999999", base: "1.0.99999999999999999999"},
		{in: "007!0.000.00a00", str: "7!0.0.0a0", canonical: "7!0a0", public: "7!0.0.0a0", base: "7!0.0.0", pre: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := mustParse(t, tt.in)
			checks := []struct{ what, got, want string }{
				{"String", v.String(), tt.str},
				{"Canonical", v.Canonical(), tt.canonical},
				{"Public", v.Public(), tt.public},
				{"Local", v.Local(), tt.local},
				{"BaseVersion", v.BaseVersion(), tt.base},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s() = %q, want %q", c.what, c.got, c.want)
				}
			}
			if got := v.IsPrerelease(); got != tt.pre {
				t.Errorf("IsPrerelease() = %v, want %v", got, tt.pre)
			}
			if got := v.IsPostrelease(); got != tt.post {
				t.Errorf("IsPostrelease() = %v, want %v", got, tt.post)
			}
			if got := v.IsDevrelease(); got != tt.dev {
				t.Errorf("IsDevrelease() = %v, want %v", got, tt.dev)
			}
		})
	}
}

func TestParseVersionErrors(t *testing.T) {
	tests := []string{"", " ", "1.0x", "1.", "1..0", "1.0+", "1.0+abc.", "!1", "1!", "1.0 .1",
		"1.0-", "1.0.post1.post2", "1.0.dev1a1", "１.０", "1.0.poſt1", "v", strings.Repeat("1.", 1000)}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			v, err := ParseVersion(in)
			if err == nil {
				t.Fatalf("ParseVersion(%q) = %q, want an error", in, v)
			}
			if !errors.Is(err, ErrInvalidVersion) {
				t.Errorf("error %v does not wrap ErrInvalidVersion", err)
			}
			if want := "Invalid version: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0.0", 0},
		{"1.0", "1", 0},
		{"1.0+abc", "1.0+ABC", 0},
		{"1.0+abc.01", "1.0+abc.1", 0},
		{"1.0-1", "1.0.post1", 0},
		{"1.0.dev0", "1.0a0", -1},
		{"1.0a0", "1.0a0.post0", -1},
		{"1.0a1", "1.0b1", -1},
		{"1.0b1", "1.0rc1", -1},
		{"1.0rc1", "1.0", -1},
		{"1.0", "1.0.post0", -1},
		{"1.0.post0.dev0", "1.0.post0", -1},
		{"1.0", "1.0+0", -1},
		{"1.0+abc", "1.0+1", -1},
		{"1.0+abc", "1.0+abc.0", -1},
		{"1.0+9", "1.0+10", -1},
		{"1.0+1a", "1.0+1", -1},
		{"1.0.post1", "1.0.1", -1},
		{"1!0.1", "2.0", 1},
		{"1.0.99999999999999999999", "1.0.99999999999999999998", 1},
		{"1.0.99999999999999999999", "1.0.100000000000000000000", -1},
		{"99999999999999999999!0", "9999999999999999999!9", 1},
		{"1.0.dev1", "1.0.dev1+local", -1},
		{"1.0a1.dev1", "1.0a1", -1},
		{"1.0.dev1", "1.0a1.dev1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			a, b := mustParse(t, tt.a), mustParse(t, tt.b)
			if got := a.Compare(b); got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := b.Compare(a); got != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
			if got := a.Equal(b); got != (tt.want == 0) {
				t.Errorf("Equal(%q, %q) = %v", tt.a, tt.b, got)
			}
		})
	}
}

func TestVersionZeroValue(t *testing.T) {
	var zero Version
	if got := zero.String(); got != "0" {
		t.Errorf("zero String() = %q, want %q", got, "0")
	}
	if got := zero.Compare(mustParse(t, "0.0")); got != 0 {
		t.Errorf("zero Compare(0.0) = %d, want 0", got)
	}
	if got := zero.Compare(mustParse(t, "0.dev0")); got != 1 {
		t.Errorf("zero Compare(0.dev0) = %d, want 1", got)
	}
}
