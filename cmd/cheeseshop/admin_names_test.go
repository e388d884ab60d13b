package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestAdminLookalikeAndNames: the review queue on the command line (list,
// approve, reject with its emails), and names prohibited, listed and
// lifted, each with its event.
func TestAdminLookalikeAndNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dbURL := storetest.URL(t, d)
		dataDir := t.TempDir()
		db := []string{"--data", dataDir, "--database", dbURL}
		args := func(a ...string) []string { return append(append([]string{}, a...), db...) }
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}
		st, err := store.Open(ctx, dbURL)
		storetest.Must(t, err)
		defer st.Close()
		alice, err := st.UserByUsername(ctx, "alice")
		storetest.Must(t, err)
		now := time.Now().UTC()
		for i, name := range []string{"reqests", "flasck"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: now}
			storetest.Must(t, st.CreateProject(ctx, p))
			storetest.Must(t, st.AddNameReview(ctx, &store.NameReview{ProjectID: p.ID, Target: []string{"requests", "flask"}[i],
				TargetRank: int64(i + 1), Kind: "omission", Held: i == 0, UploaderID: alice.ID, CreatedAt: now}))
		}

		code, out, errs := cli(t, "", args("admin", "lookalike", "list")...)
		if code != 0 || !strings.Contains(out, "reqests  held     requests   1     omission  alice") ||
			!strings.Contains(out, "flasck   flagged  flask      2") {
			t.Fatalf("list: %d %q %q", code, out, errs)
		}
		if code, out, errs = cli(t, "", args("admin", "lookalike", "approve", "Reqests")...); code != 0 || out != "approved reqests: published\n" {
			t.Fatalf("approve: %d %q %q", code, out, errs)
		}
		if held, err := st.IsHeld(ctx, 1); err != nil || held {
			t.Fatalf("still held: %v", err)
		}
		if code, _, errs = cli(t, "", args("admin", "lookalike", "approve", "reqests")...); code == 0 || !strings.Contains(errs, "not waiting for a review") {
			t.Fatalf("approved twice: %d %q", code, errs)
		}
		if code, out, errs = cli(t, "", args("admin", "lookalike", "reject", "flasck")...); code != 0 || out != "rejected flasck: deleted, its name prohibited\n" {
			t.Fatalf("reject: %d %q %q", code, out, errs)
		}
		msgs, err := mail.ReadOutbox(filepath.Join(dataDir, "outbox"))
		storetest.Must(t, err)
		var subjects []string
		for _, m := range msgs {
			subjects = append(subjects, m.Subject)
		}
		if strings.Join(subjects, "|") != "reqests is approved and published|flasck was deleted as a look-alike of flask" {
			t.Fatalf("emails %q", subjects)
		}

		if code, out, errs = cli(t, "", args("admin", "names", "prohibit", "Evil_Pkg", "--reason", "malware")...); code != 0 || out != "prohibited evil-pkg\n" {
			t.Fatalf("prohibit: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "names", "prohibited")...)
		if code != 0 || !strings.Contains(out, "evil-pkg") || !strings.Contains(out, "malware") || !strings.Contains(out, "flasck") ||
			!strings.Contains(out, "look-alike of flask") {
			t.Fatalf("prohibited: %d %q %q", code, out, errs)
		}
		if code, out, errs = cli(t, "", args("admin", "names", "lift", "flasck", "EVIL-pkg")...); code != 0 || out != "lifted flasck\nlifted evil-pkg\n" {
			t.Fatalf("lift: %d %q %q", code, out, errs)
		}
		if code, _, errs = cli(t, "", args("admin", "names", "lift", "flasck")...); code == 0 || !strings.Contains(errs, "is not prohibited") {
			t.Fatalf("lifted twice: %d %q", code, errs)
		}
		if bad, err := st.IsProhibited(ctx, "f1asck"); err != nil || bad {
			t.Fatalf("flasck still prohibited: %v", err)
		}
		evs, err := st.UserEvents(ctx, alice.ID, 10)
		storetest.Must(t, err)
		var tags []string
		for _, e := range evs {
			tags = append(tags, e.Tag)
		}
		if !strings.Contains(strings.Join(tags, " "), audit.LookalikeApproved) || !strings.Contains(strings.Join(tags, " "), audit.LookalikeRejected) {
			t.Fatalf("events %v", tags)
		}
	})
}
