package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminEmailDomains: the rules on the command line (block, allow,
// list, import, remove), each an event, and admin user create refusing a
// refused domain unless told --allow-any-email.
func TestAdminEmailDomains(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dbURL := storetest.URL(t, d)
		dir := t.TempDir()
		args := withDB(dir, dbURL)
		run := func(want int, a ...string) string {
			t.Helper()
			code, out, errs := cli(t, "correct horse battery\n", args(a...)...)
			if code != want {
				t.Fatalf("%s: exit %d, want %d: %q %q", strings.Join(a, " "), code, want, out, errs)
			}
			return out + errs
		}

		out := run(0, "admin", "email-domains", "block", "Corp.Example.", "--reason", "use your work address")
		if out != "refused addresses at corp.example and its subdomains (prohibited)\n" {
			t.Fatalf("block: %q", out)
		}
		if out = run(0, "admin", "email-domains", "block", "bücher.example", "--kind", "disposable"); out !=
			"refused addresses at xn--bcher-kva.example and its subdomains (disposable)\n" {
			t.Fatalf("block an IDN: %q", out)
		}
		if out = run(0, "admin", "email-domains", "allow", "keep.mailinator.com"); out != "allowed addresses at keep.mailinator.com and its subdomains\n" {
			t.Fatalf("allow: %q", out)
		}
		if out = run(2, "admin", "email-domains", "block", "x.example", "--kind", "allowed"); !strings.Contains(out, "--kind") {
			t.Fatalf("block with a wrong kind: %q", out)
		}
		if out = run(1, "admin", "email-domains", "block", "not_a.domain"); !strings.Contains(out, `"not_a.domain" is not a domain name.`) {
			t.Fatalf("block of an invalid domain: %q", out)
		}
		list := filepath.Join(dir, "list.conf")
		storetest.Must(t, os.WriteFile(list, []byte("# from a partner\nthrow.example\ncorp.example\n"), 0o644))
		if out = run(0, "admin", "email-domains", "import", list, "--reason", "partner list"); out !=
			"imported 1 disposable domains (2 read; 1 had a rule already, kept)\n" {
			t.Fatalf("import: %q", out)
		}
		out = run(0, "admin", "email-domains", "list")
		for _, want := range []string{"corp.example           prohibited", "use your work address", "keep.mailinator.com    allowed",
			"throw.example          disposable", "partner list", "xn--bcher-kva.example  disposable", "disposable domains embedded)"} {
			if !strings.Contains(out, want) {
				t.Fatalf("list lacks %q:\n%s", want, out)
			}
		}

		// admin user create: refused domains, unless --allow-any-email.
		for _, c := range []struct{ email, says string }{
			{"bob@mailinator.com", "Addresses at mailinator.com are disposable"},
			{"bob@x.throw.example", "Addresses at x.throw.example are disposable"},
			{"bob@eu.corp.example", "This server does not accept addresses at eu.corp.example (use your work address)."},
		} {
			out = run(1, "admin", "user", "create", "--username", "bob", "--email", c.email)
			if !strings.Contains(out, c.says) || !strings.Contains(out, "Pass --allow-any-email to create the account anyway.") {
				t.Fatalf("user create %s: %q", c.email, out)
			}
		}
		st := openStore(t, dbURL)
		if _, err := st.UserByUsername(ctx, "bob"); err == nil {
			t.Fatal("a refused account was created")
		}
		run(0, "admin", "user", "create", "--username", "bob", "--email", "bob@keep.mailinator.com")
		run(0, "admin", "user", "create", "--username", "carol", "--email", "carol@mailinator.com", "--allow-any-email")

		if out = run(0, "admin", "email-domains", "remove", "KEEP.mailinator.com"); out != "removed the rule on keep.mailinator.com\n" {
			t.Fatalf("remove: %q", out)
		}
		if out = run(1, "admin", "email-domains", "remove", "keep.mailinator.com"); !strings.Contains(out, "No rule of the operators names keep.mailinator.com.") {
			t.Fatalf("remove twice: %q", out)
		}
		var events int
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tag LIKE 'admin:email_domain:%' AND user_agent = 'cheeseshop admin'`).Scan(&events))
		if events != 5 { // block, block, allow, import, remove
			t.Fatalf("%d events, want 5", events)
		}
	})
}
