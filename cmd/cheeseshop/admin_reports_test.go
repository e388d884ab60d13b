package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
	"cheeseshop/internal/report"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/web"
)

func TestAdminReports(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dataDir, dbURL := t.TempDir(), storetest.URL(t, d)
		args := func(a ...string) []string {
			return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
		}
		if code, _, errs := cli(t, "", args("migrate")...); code != 0 {
			t.Fatalf("migrate: %s", errs)
		}
		st, err := store.Open(ctx, dbURL)
		storetest.Must(t, err)
		defer st.Close()
		u := &store.User{Username: "alice", Email: "alice@example.org", PasswordHash: "x", CreatedAt: time.Now()}
		storetest.Must(t, st.CreateUser(ctx, u))
		p := &store.Project{Name: "Demo", NormalizedName: "demo", UltraName: "dem0", CreatedAt: time.Now()}
		storetest.Must(t, st.CreateProject(ctx, p))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		rep := report.New(st, index.New(st, nil, index.Config{}, log), report.Config{}, log, nil)
		if _, err := rep.Report(ctx, u, audit.Meta{IP: "192.0.2.1"}, "demo", report.KindMalware, "evil\tsetup.py\n\x1b? no: <b>"); err == nil {
			t.Fatal("a report with an escape character was accepted")
		}
		_, err = rep.Report(ctx, u, audit.Meta{IP: "192.0.2.1"}, "demo", report.KindMalware, "evil\tsetup.py\nsee <b>")
		storetest.Must(t, err)

		code, out, errs := cli(t, "", args("admin", "reports", "list")...)
		if code != 0 || !strings.Contains(out, "PROJECT") || !strings.Contains(out, "demo") || !strings.Contains(out, "alice") ||
			!strings.Contains(out, `"evil\tsetup.py\nsee <b>"`) || strings.Count(out, "\n") != 2 {
			t.Errorf("list: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "reports", "dismiss", "DEMO")...)
		if code != 0 || out != "dismissed 1 open report of DEMO\n" {
			t.Errorf("dismiss: %d %q %q", code, out, errs)
		}
		if code, _, errs := cli(t, "", args("admin", "reports", "dismiss", "demo")...); code == 0 || !strings.Contains(errs, "no open report") {
			t.Errorf("dismiss again: %d %q", code, errs)
		}
		if code, out, _ := cli(t, "", args("admin", "reports", "list")...); code != 0 || strings.Count(out, "\n") != 1 {
			t.Errorf("list after dismissal: %q", out)
		}
		evs, err := st.ProjectEvents(ctx, p.ID, 10)
		storetest.Must(t, err)
		if len(evs) != 2 || evs[0].Tag != audit.ReportsDismissed || evs[1].Tag != audit.ProjectReported {
			t.Errorf("events: %+v", evs)
		}
	})
}

func TestServeReportFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args      []string
		reporters int
		age       time.Duration
		bad       bool
	}{
		{nil, 0, 720 * time.Hour, false},
		{[]string{"--report-quarantine-reporters", "5", "--report-min-account-age", "2160h"}, 5, 2160 * time.Hour, false},
		{[]string{"--report-quarantine-reporters=-1"}, 0, 0, true},
	} {
		c, err := parseServe(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.appConfig("http://localhost:8080", []byte(strings.Repeat("k", 32)), web.DefaultLimits(), false)
		if tc.bad {
			if err == nil {
				t.Errorf("%v accepted", tc.args)
			}
			continue
		}
		if err != nil || cfg.ReportQuarantineReporters != tc.reporters || cfg.ReportMinAccountAge != tc.age {
			t.Errorf("%v: %d %s %v", tc.args, cfg.ReportQuarantineReporters, cfg.ReportMinAccountAge, err)
		}
	}
}
