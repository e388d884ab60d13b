package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminUpstreamRules: the rules on upstream names on the command
// line: added (normalized, with their reason and expiry), listed,
// replaced, refused when invalid with a message that says what a pattern
// is, removed; a break glass emailed to the administrators.
func TestAdminUpstreamRules(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := func(a ...string) []string {
			return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
		}
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "root", "--email", "root@example.org", "--admin")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}
		for _, tc := range []struct {
			args []string
			out  string // stdout's start when it succeeds
			errs string // part of stderr when it fails
		}{
			{[]string{"allow", "Acme_*"}, "allow acme-*: proxied\n", ""},
			{[]string{"deny", "evil-*", "--reason", "typosquats"}, "deny evil-*: never proxied\n", ""},
			{[]string{"local", "Requests"}, "local requests: a local project may take the name", ""},
			{[]string{"allow", "NumPy", "--skip-min-age", "--reason", "CVE-2026-1", "--expires", "72h"},
				"allow numpy: proxied, its files through the minimum release age at once; the administrators were told, until ", ""},
			{[]string{"allow", "acme-*", "--skip-min-age"}, "", "Only an allow rule of one project name may skip the minimum release age"},
			{[]string{"deny", "*"}, "", "'*' is not a rule pattern: a pattern is a project name (any spelling: it is normalized) or the start of a normalized name followed by '*' (acme-*)."},
			{[]string{"deny", "not a name"}, "", "is not a rule pattern"},
			{[]string{"allow", "numpy", "--expires=-1h"}, "", "--expires must be positive"},
			{[]string{"remove", "nothing"}, "", "No upstream rule has the pattern 'nothing'."},
			{[]string{"remove", "EVIL-*"}, "removed the deny rule of evil-*\n", ""},
		} {
			code, out, errs := cli(t, "", args(append([]string{"admin", "upstream"}, tc.args...)...)...)
			if tc.errs == "" && (code != 0 || !strings.HasPrefix(out, tc.out)) {
				t.Errorf("%v: %d %q %q, want %q", tc.args, code, out, errs, tc.out)
			} else if tc.errs != "" && (code == 0 || !strings.Contains(errs, tc.errs)) {
				t.Errorf("%v: %d %q %q, want an error with %q", tc.args, code, out, errs, tc.errs)
			}
		}
		code, out, errs := cli(t, "", args("admin", "upstream", "rules")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "PATTERN") ||
			!strings.HasPrefix(lines[1], "acme-*") || !strings.Contains(lines[1], "never") ||
			!strings.HasPrefix(lines[2], "numpy") || !strings.Contains(lines[2], "allow (skip min-age)") || !strings.Contains(lines[2], "CVE-2026-1") ||
			!strings.HasPrefix(lines[3], "requests") || !strings.Contains(lines[3], "local") {
			t.Fatalf("rules: %d %q %q", code, out, errs)
		}

		st, err := store.Open(ctx, dbURL)
		storetest.Must(t, err)
		defer st.Close()
		rs, err := st.UpstreamRules(ctx)
		storetest.Must(t, err)
		if len(rs) != 3 || rs[1].Pattern != "numpy" || rs[1].CreatedBy != 0 ||
			rs[1].ExpiresAt.Sub(time.Now()) < 71*time.Hour || rs[1].ExpiresAt.Sub(time.Now()) > 72*time.Hour {
			t.Fatalf("stored %+v", rs)
		}
		mails, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
		if len(mails) != 1 {
			t.Fatalf("%d emails, want the break glass's", len(mails))
		}
		b, err := os.ReadFile(mails[0])
		storetest.Must(t, err)
		if !strings.Contains(string(b), "root@example.org") || !strings.Contains(string(b), "Break glass: numpy skips the minimum release age") {
			t.Errorf("email %s", b)
		}
	})
}
