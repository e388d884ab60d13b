package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestAdminProjectQuarantine(t *testing.T) {
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
		p := &store.Project{Name: "Demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: time.Now()}
		storetest.Must(t, st.CreateProject(ctx, p))
		storetest.Must(t, st.AddRole(ctx, p.ID, u.ID, store.RoleOwner, time.Now()))
		storetest.Must(t, st.SetProjectStatus(ctx, p.ID, store.StatusDeprecated, "use gouda", "", "", time.Now()))

		status := func() (string, string) {
			t.Helper()
			p, err := st.ProjectByName(ctx, "demo")
			storetest.Must(t, err)
			return p.Status, p.StatusReason
		}
		if code, _, errs := cli(t, "", args("admin", "project", "quarantine", "demo")...); code == 0 || !strings.Contains(errs, "--reason") {
			t.Errorf("quarantine without --reason: %d %q", code, errs)
		}
		code, out, errs := cli(t, "", args("admin", "project", "quarantine", "DEMO", "--reason", "malware in setup.py")...)
		if code != 0 || !strings.Contains(out, "quarantined DEMO") {
			t.Fatalf("quarantine: %d %q %q", code, out, errs)
		}
		if s, r := status(); s != store.StatusQuarantined || r != "malware in setup.py" {
			t.Errorf("after quarantine: %s %q", s, r)
		}
		if code, _, errs := cli(t, "", args("admin", "project", "quarantine", "demo", "--reason", "again")...); code == 0 || !strings.Contains(errs, "already quarantined") {
			t.Errorf("quarantine twice: %d %q", code, errs)
		}
		if code, _, errs := cli(t, "", args("admin", "project", "quarantine", "no/pe", "--reason", "x")...); code == 0 || !strings.Contains(errs, "No project named 'no/pe'") {
			t.Errorf("quarantine of an invalid name: %d %q", code, errs)
		}
		// A name with no local project is a proxied one's: blocked in
		// advance (the servers with --upstream follow the row), and released.
		code, out, errs = cli(t, "", args("admin", "project", "quarantine", "Nope", "--reason", "typosquat of demo")...)
		if code != 0 || !strings.Contains(out, "no local project has that name") {
			t.Fatalf("quarantine of a proxied name: %d %q %q", code, out, errs)
		}
		if row, err := st.UpstreamProjectByName(ctx, "nope"); err != nil || row.LocalStatus != store.UpstreamQuarantined || row.LocalStatusReason != "typosquat of demo" {
			t.Errorf("proxied name's row after quarantine: %+v, %v", row, err)
		}
		if code, out, errs := cli(t, "", args("admin", "project", "release", "nope")...); code != 0 || !strings.Contains(out, "upstream's project of that name is served again") {
			t.Errorf("release of a proxied name: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "project", "release", "demo")...)
		if code != 0 || !strings.Contains(out, "released demo") {
			t.Fatalf("release: %d %q %q", code, out, errs)
		}
		if s, r := status(); s != store.StatusDeprecated || r != "use gouda" {
			t.Errorf("after release: %s %q, want the deprecation back", s, r)
		}

		evs, err := st.ProjectEvents(ctx, p.ID, 10)
		storetest.Must(t, err)
		if len(evs) != 2 || evs[0].Tag != audit.ProjectReleased || evs[1].Tag != audit.ProjectQuarantined || evs[1].ActorID != 0 {
			t.Errorf("events: %+v", evs)
		}
		mails, _ := filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
		var subjects []string
		for _, m := range mails {
			b, err := os.ReadFile(m)
			storetest.Must(t, err)
			if !strings.Contains(string(b), "alice@example.org") {
				t.Errorf("an email not to the Owner: %s", b)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					subjects = append(subjects, strings.TrimSpace(s))
				}
			}
		}
		if strings.Join(subjects, "|") != "Demo is quarantined|Demo is released from quarantine" &&
			strings.Join(subjects, "|") != "Demo is released from quarantine|Demo is quarantined" {
			t.Errorf("emails: %q", subjects)
		}
	})
}

func TestAdminProjectVisibility(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := func(a ...string) []string {
			return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
		}
		st, err := store.Open(ctx, dbURL)
		storetest.Must(t, err)
		defer st.Close()
		storetest.Must(t, st.Migrate(ctx))
		p := &store.Project{Name: "Demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: time.Now()}
		storetest.Must(t, st.CreateProject(ctx, p))
		visibility := func() string {
			t.Helper()
			p, err := st.ProjectByName(ctx, "demo")
			storetest.Must(t, err)
			return p.Visibility
		}
		code, out, errs := cli(t, "", args("admin", "project", "visibility", "DEMO", "private")...)
		if code != 0 || !strings.Contains(out, "DEMO is private") || visibility() != store.VisibilityPrivate {
			t.Fatalf("private: %d %q %q, %s", code, out, errs, visibility())
		}
		if code, _, errs := cli(t, "", args("admin", "project", "visibility", "demo", "secret")...); code == 0 || !strings.Contains(errs, "must be one of") {
			t.Errorf("visibility secret: %d %q", code, errs)
		}
		if code, _, errs := cli(t, "", args("admin", "project", "visibility", "nope", "public")...); code == 0 || !strings.Contains(errs, "No project named 'nope'") {
			t.Errorf("visibility of an unknown project: %d %q", code, errs)
		}
		if code, _, errs := cli(t, "", args("admin", "project", "visibility", "demo", "public")...); code != 0 || visibility() != store.VisibilityPublic {
			t.Errorf("public: %d %q, %s", code, errs, visibility())
		}
		evs, err := st.ProjectEvents(ctx, p.ID, 10)
		storetest.Must(t, err)
		var tags []string
		for _, e := range evs {
			tags = append(tags, e.Tag)
		}
		if !slices.Contains(tags, audit.ProjectPrivate) || !slices.Contains(tags, audit.ProjectPublic) {
			t.Errorf("events: %v", tags)
		}
	})
}
