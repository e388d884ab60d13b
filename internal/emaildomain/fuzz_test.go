package emaildomain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/idna"

	"cheeseshop/internal/emaildomain"
)

// FuzzNormalize: whatever the input, Normalize either refuses it with
// ErrInvalid or returns a host name in the form lookups compare (lower
// case LDH labels of 1 to 63 characters, at most 253 in all), which
// normalises to itself, and which a trailing dot or upper case do not
// change; the check itself never fails otherwise. Interesting inputs are
// kept in testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"mailinator.com", "x.MAILINATOR.com.", "bücher.example", "xn--bcher-kva.example", "[192.0.2.1]", "a..b", ""} {
		f.Add(s)
	}
	s := emaildomain.New(nil, emaildomain.Config{}, quiet, nil)
	f.Fuzz(func(t *testing.T, in string) {
		d, err := emaildomain.Normalize(in)
		if err != nil {
			if !errors.Is(err, emaildomain.ErrInvalid) {
				t.Fatalf("Normalize(%q): %v is not ErrInvalid", in, err)
			}
			if cerr := s.Check(context.Background(), "a@"+in); !strings.Contains(in, "@") && !errors.Is(cerr, emaildomain.ErrInvalid) {
				t.Fatalf("Check(a@%q) = %v, though the domain is invalid", in, cerr)
			}
			return
		}
		if len(d) > emaildomain.MaxDomainLength {
			t.Fatalf("Normalize(%q) = %q: longer than %d", in, d, emaildomain.MaxDomainLength)
		}
		for label := range strings.SplitSeq(d, ".") {
			if label == "" || len(label) > 63 || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" ||
				label[0] == '-' || label[len(label)-1] == '-' {
				t.Fatalf("Normalize(%q) = %q: label %q is not a host name's", in, d, label)
			}
		}
		if again, err := emaildomain.Normalize(d); err != nil || again != d {
			t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", in, d, d, again, err)
		}
		if dotted, err := emaildomain.Normalize(d + "."); err != nil || dotted != d {
			t.Fatalf("Normalize(%q.) = %q, %v: want %q", d, dotted, err, d)
		}
		if upper, err := emaildomain.Normalize(strings.ToUpper(d)); err != nil || upper != d {
			t.Fatalf("Normalize(%q) = %q, %v: want %q", strings.ToUpper(d), upper, err, d)
		}
		if _, err := s.Lookup(context.Background(), in); err != nil {
			t.Fatalf("Lookup(%q): %v", in, err)
		}
		// Accepted, the domain is written as the check saw it: mail goes
		// to the address as written.
		if err := s.Check(context.Background(), "a@"+in); err == nil {
			w := strings.TrimSuffix(in, ".")
			if u, _ := idna.Lookup.ToUnicode(d); !strings.EqualFold(w, d) && w != u {
				t.Fatalf("Check(a@%q) accepts the address, though it checked %q", in, d)
			}
		}
	})
}

// BenchmarkCheck: one address through the embedded lists (no database, no
// DNS), for a domain that is listed through a parent and one that is not:
// the cost depends on the domain's labels, not on the lists' size.
func BenchmarkCheck(b *testing.B) {
	s := emaildomain.New(nil, emaildomain.Config{}, quiet, nil)
	ctx := context.Background()
	for _, c := range []struct{ name, address string }{
		{"listed-subdomain", "someone@a.b.mailinator.com"},
		{"unlisted", "someone@mail.example.org"},
		{"idn", "someone@bücher.example"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Check(ctx, c.address)
			}
		})
	}
}
