package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestAdminPublishers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := func(a ...string) []string {
			return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
		}
		if code, _, errs := cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...); code != 0 {
			t.Fatalf("user create: %s", errs)
		}
		st, err := store.Open(ctx, dbURL)
		storetest.Must(t, err)
		defer st.Close()
		u, err := st.UserByUsername(ctx, "alice")
		storetest.Must(t, err)
		now := time.Now()
		p := &store.Project{Name: "Demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: now}
		storetest.Must(t, st.CreateProject(ctx, p))
		storetest.Must(t, st.AddRole(ctx, p.ID, u.ID, store.RoleOwner, now))
		pub := &store.Publisher{Kind: store.PublisherGitHub, Issuer: "github", Lookup: "octo/demo", Identity: "octo/demo|4242|release.yml|",
			RepositoryOwner: "octo", RepositoryOwnerID: "4242", RepositoryName: "demo", WorkflowFilename: "release.yml", AddedBy: u.ID, CreatedAt: now}
		storetest.Must(t, st.AddPublisher(ctx, pub))
		storetest.Must(t, st.LinkPublisher(ctx, pub.ID, p.ID, now))
		pending := &store.Publisher{Kind: store.PublisherGoogle, Issuer: "google", Lookup: "ci@example.org", Identity: "ci@example.org|",
			Email: "ci@example.org", PendingName: "Later", PendingNormalized: "later", AddedBy: u.ID, CreatedAt: now}
		storetest.Must(t, st.AddPublisher(ctx, pending))
		id := strconv.FormatInt(pub.ID, 10)

		code, out, errs := cli(t, "", args("admin", "publishers", "list")...)
		if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, `"GitHub octo/demo, workflow release.yml"`) ||
			!strings.Contains(out, "(pending) Later") || !strings.Contains(out, "alice") {
			t.Fatalf("list: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "publishers", "list", "DEMO")...)
		if code != 0 || !strings.Contains(out, "octo/demo") || strings.Contains(out, "Later") {
			t.Errorf("list DEMO: %d %q %q", code, out, errs)
		}
		if code, _, errs := cli(t, "", args("admin", "publishers", "list", "nope")...); code == 0 || !strings.Contains(errs, "No project named 'nope'") {
			t.Errorf("list of an unknown project: %d %q", code, errs)
		}

		code, out, errs = cli(t, "", args("admin", "publishers", "remove", id)...)
		if code != 0 || !strings.Contains(out, "removed trusted publisher "+id) || !strings.Contains(out, "from Demo") {
			t.Fatalf("remove: %d %q %q", code, out, errs)
		}
		if pubs, err := st.ProjectPublishers(ctx, p.ID); err != nil || len(pubs) != 0 {
			t.Errorf("Demo's publishers after the removal: %d (%v)", len(pubs), err)
		}
		evs, err := st.ProjectEvents(ctx, p.ID, 10)
		storetest.Must(t, err)
		if len(evs) != 1 || evs[0].Tag != audit.PublisherRemoved || evs[0].ActorID != 0 || evs[0].UserAgent != "cheeseshop admin" {
			t.Errorf("events: %+v", evs)
		}
		if code, _, errs := cli(t, "", args("admin", "publishers", "remove", id)...); code == 0 || !strings.Contains(errs, "No trusted publisher number "+id) {
			t.Errorf("remove twice: %d %q", code, errs)
		}
		code, out, errs = cli(t, "", args("admin", "publishers", "remove", strconv.FormatInt(pending.ID, 10))...)
		if code != 0 || !strings.Contains(out, "pending for Later") {
			t.Errorf("remove the pending one: %d %q %q", code, out, errs)
		}
	})
}
