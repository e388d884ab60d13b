package emaildomain_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRules: the operators' rules kept normalised, replaced, removed and
// imported, each change an event; an invalid import writes nothing.
func TestRules(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		s := emaildomain.New(st, emaildomain.Config{}, quiet, func() time.Time { return now })
		admin := &store.User{Username: "root", Email: "root@example.org", PasswordHash: "x", IsAdmin: true, CreatedAt: now}
		storetest.Must(t, st.CreateUser(ctx, admin))
		m := audit.Meta{IP: "192.0.2.7", UserAgent: "test"}

		d, err := s.Block(ctx, admin, m, " Bücher.Example. ", store.EmailDomainProhibited, "  no   books ")
		if err != nil || d != "xn--bcher-kva.example" {
			t.Fatalf("Block = %q, %v", d, err)
		}
		if _, err := s.Block(ctx, nil, m, "x.example", "allowed", ""); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("Block with the kind allowed: %v", err)
		}
		if _, err := s.Block(ctx, nil, m, "not a domain", store.EmailDomainDisposable, ""); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("Block of an invalid domain: %v", err)
		}
		if _, err := s.Block(ctx, nil, m, "x.example", store.EmailDomainDisposable, strings.Repeat("r", 201)); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("Block with a long reason: %v", err)
		}
		if _, err := s.Allow(ctx, nil, m, "BÜCHER.example", ""); err != nil { // replaces the block
			t.Fatal(err)
		}
		if _, err := s.Remove(ctx, nil, m, "nothing.example"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("Remove of a domain without a rule: %v", err)
		}

		// An import: comments, blanks, case, a domain with a rule kept.
		res, err := s.Import(ctx, nil, m, strings.NewReader("# ours\nthrow.example\n\nTHROW2.example.\nxn--bcher-kva.example\n"), "")
		if err != nil || res != (emaildomain.Imported{Read: 3, Added: 2}) {
			t.Fatalf("Import = %+v, %v", res, err)
		}
		_, err = s.Import(ctx, nil, m, strings.NewReader("ok.example\nnot a domain\n"), "")
		if pe, ok := problem.As(err); !ok || pe.Message != `Line 2: "not a domain" is not a domain name; nothing was imported.` {
			t.Fatalf("Import of a bad file: %v", err)
		}
		// A hostile file: refused whole, with the line and no more than
		// its start; a domain twice is counted once.
		for _, c := range []struct{ data, message string }{
			{"ok.example\n" + strings.Repeat("a", 70000) + "\n", "Line 2 is too long for a domain name (is this a list of domains, one a line?); nothing was imported."},
			{"\x00\xff" + strings.Repeat("\x00", 5000) + "\n", `Line 1: "\x00\xff` + strings.Repeat(`\x00`, 78) + `…" is not a domain name; nothing was imported.`},
		} {
			_, err = s.Import(ctx, nil, m, strings.NewReader(c.data), "")
			if pe, ok := problem.As(err); !ok || pe.Message != c.message {
				t.Fatalf("Import of a hostile file: %v, want %q", err, c.message)
			}
		}
		res, err = s.Import(ctx, nil, m, strings.NewReader("twice.example\r\nTWICE.example.\r\nthrow.example\r\n"), "")
		if err != nil || res != (emaildomain.Imported{Read: 2, Added: 1}) {
			t.Fatalf("Import with a domain twice = %+v, %v", res, err)
		}
		rules, err := s.Rules(ctx)
		storetest.Must(t, err)
		var got []string
		for _, r := range rules {
			got = append(got, r.Domain+" "+r.Kind)
		}
		if strings.Join(got, ", ") != "throw.example disposable, throw2.example disposable, twice.example disposable, xn--bcher-kva.example allowed" {
			t.Fatalf("rules: %q", got)
		}
		if _, err := s.Remove(ctx, admin, m, "Throw.Example"); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Lookup(ctx, "a.throw.example"); err != nil || v.Refused() {
			t.Fatalf("after its removal: %+v, %v", v, err)
		}

		rows, err := st.DB().QueryContext(ctx, `SELECT tag, ip, details FROM events WHERE tag LIKE 'admin:email_domain:%' ORDER BY id`)
		storetest.Must(t, err)
		defer rows.Close()
		var said []string
		for rows.Next() {
			var e store.Event
			storetest.Must(t, rows.Scan(&e.Tag, &e.IP, &e.Details))
			said = append(said, audit.Describe(&e))
			if e.IP != m.IP {
				t.Errorf("event %s without its origin", e.Tag)
			}
		}
		storetest.Must(t, rows.Err())
		want := []string{
			"Email domain xn--bcher-kva.example refused as prohibited by root: no books",
			"Email domain xn--bcher-kva.example allowed by cheeseshop admin",
			"2 disposable email domains imported by cheeseshop admin (3 read)",
			"1 disposable email domains imported by cheeseshop admin (2 read)",
			"Rule on the email domain throw.example (disposable) removed by root",
		}
		if strings.Join(said, "\n") != strings.Join(want, "\n") {
			t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
		}
	})
}
