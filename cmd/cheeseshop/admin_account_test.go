package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestAdminUserDisable(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dbURL := storetest.URL(t, d)
		args := withDB(t.TempDir(), dbURL)
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}
		st := openStore(t, dbURL)
		u, err := st.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := st.CreateSession(ctx, &store.Session{IDHash: "h1", UserID: u.ID, State: store.SessionActive, CreatedAt: now,
			LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AuthenticatedAt: now}); err != nil {
			t.Fatal(err)
		}

		code, out, errs := cli(t, "", args("admin", "user", "disable", "--username", "ALICE")...)
		if code != 0 || !strings.Contains(out, "disabled user alice") {
			t.Fatalf("disable: %d %q %q", code, out, errs)
		}
		if u, _ = st.UserByID(ctx, u.ID); !u.Disabled {
			t.Fatal("the user is not disabled")
		}
		if sess, _ := st.UserSessions(ctx, u.ID); len(sess) != 0 {
			t.Fatalf("%d sessions survive the disable", len(sess))
		}
		code, out, errs = cli(t, "", args("admin", "user", "enable", "--username", "alice")...)
		if code != 0 || out != "enabled user alice\n" {
			t.Fatalf("enable: %d %q %q", code, out, errs)
		}
		if u, _ = st.UserByID(ctx, u.ID); u.Disabled {
			t.Fatal("the user is still disabled")
		}
		ev, err := st.UserEvents(ctx, u.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, e := range ev {
			tags = append(tags, e.Tag)
		}
		if len(tags) != 2 || tags[0] != audit.AccountEnabled || tags[1] != audit.AccountDisabled {
			t.Fatalf("events: %v", tags)
		}
		if code, _, errs := cli(t, "", args("admin", "user", "disable", "--username", "nobody")...); code == 0 || !strings.Contains(errs, `no user named "nobody"`) {
			t.Fatalf("disable nobody: %d %q", code, errs)
		}
	})
}

func TestMailFrom(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://pypi.example.org":   "cheeseshop <noreply@pypi.example.org>",
		"http://pypi.example.org:80": "cheeseshop <noreply@pypi.example.org>",
		"http://127.0.0.1:8080":      "cheeseshop <noreply@localhost>",
		"http://[::1]:8080":          "cheeseshop <noreply@localhost>",
		"http://intranet":            "cheeseshop <noreply@localhost>",
	} {
		if got := mailFrom(base); got != want {
			t.Errorf("mailFrom(%q) = %q, want %q", base, got, want)
		}
	}
}
