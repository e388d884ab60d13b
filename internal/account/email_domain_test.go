package account

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mailDNS is a DNS where only example.org and example.com receive mail.
type mailDNS struct{}

func (mailDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if name == "example.org." || name == "example.com." || name == "gmail.com." {
		return []*net.MX{{Host: "mx." + name, Pref: 10}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (mailDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// withEmailDomains makes the fixture's service check addresses as serve
// does, with the DNS check answered by mailDNS, and prohibits corp.example.
func withEmailDomains(t *testing.T, f *fixture) {
	t.Helper()
	ed := emaildomain.New(f.st, emaildomain.Config{CheckDNS: true, Resolver: mailDNS{}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if _, err := ed.Block(context.Background(), nil, audit.Meta{}, "corp.example", store.EmailDomainProhibited, "use your work address"); err != nil {
		t.Fatal(err)
	}
	f.svc.cfg.CheckEmail = ed.Check
}

// counts returns the rows that a refused registration or email change must
// not have added.
func counts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, table := range []string{"users", "events", "account_tokens", "rate_limit_hits"} {
		var c int
		storetest.Must(t, st.DB().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&c))
		n[table] = c
	}
	return n
}

// TestEmailDomainRefused: registration and email change refuse disposable,
// prohibited and dead domains with a message saying what to do, and
// leave nothing written; a refused registration answers the same whether
// or not the address is registered.
func TestEmailDomainRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		l := f.register(t, "alice") // alice@example.org, before the check
		withEmailDomains(t, f)
		// An existing account at a domain prohibited since keeps its address.
		storetest.Must(t, st.SetEmail(ctx, l.User.ID, "alice@corp.example", true))
		c := &Current{User: l.User, Session: l.Session}
		c.User.Email = "alice@corp.example"

		for _, tc := range []struct{ email, message string }{
			{"bob@mailinator.com", "Addresses at mailinator.com are disposable; use an address you will keep: " +
				"we send security notices and account-recovery links there."},
			{"bob@x.Mailinator.com", "Addresses at x.mailinator.com are disposable; use an address you will keep: " +
				"we send security notices and account-recovery links there."},
			{"bob@corp.example", "This server does not accept addresses at corp.example (use your work address). Use another address."},
			{"alice@corp.example", "This server does not accept addresses at corp.example (use your work address). Use another address."},
			{"bob@gone.example", "The domain gone.example cannot receive email (no mail server). Check the address."},
		} {
			before, sent := counts(t, st), len(f.mail.All())
			err := f.svc.Register(ctx, Registration{Username: "bob", Email: tc.email, Password: pw, PasswordConfirm: pw}, here)
			pe, ok := problem.As(err)
			if !ok || pe.Kind != problem.Invalid || pe.Fields[FieldEmail] != tc.message || len(pe.Fields) != 1 {
				t.Fatalf("Register(%s) = %v %v, want the field message %q", tc.email, err, pe.Fields, tc.message)
			}
			storetest.Must(t, f.svc.Drain(ctx))
			if after := counts(t, st); !equalCounts(before, after) || len(f.mail.All()) != sent {
				t.Fatalf("Register(%s) refused but wrote: %v -> %v, %d emails", tc.email, before, after, len(f.mail.All())-sent)
			}

			if tc.email == "alice@corp.example" {
				continue // her own address: "already your address"
			}
			before = counts(t, st)
			err = f.svc.ChangeEmail(ctx, c, tc.email, pw, here)
			pe, ok = problem.As(err)
			if !ok || pe.Kind != problem.Invalid || pe.Fields[FieldEmail] != tc.message {
				t.Fatalf("ChangeEmail(%s) = %v %v, want the field message %q", tc.email, err, pe.Fields, tc.message)
			}
			u, err := st.UserByID(ctx, l.User.ID)
			storetest.Must(t, err)
			if after := counts(t, st); !equalCounts(before, after) || u.Email != "alice@corp.example" || len(f.mail.All()) != sent {
				t.Fatalf("ChangeEmail(%s) refused but wrote: %v -> %v, address %s", tc.email, before, after, u.Email)
			}
		}

		// Accepted domains go through.
		if err := f.svc.Register(ctx, Registration{Username: "carol", Email: "carol@example.com", Password: pw, PasswordConfirm: pw}, here); err != nil {
			t.Fatal(err)
		}
		storetest.Must(t, f.svc.Drain(ctx))
		if _, err := st.UserByEmail(ctx, "carol@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ChangeEmail(ctx, c, "alice@example.com", pw, here); err != nil {
			t.Fatal(err)
		}
	})
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
