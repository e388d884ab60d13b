package main

import (
	"compress/gzip"
	"context"
	"os"
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

// TestAdminNamesCheck runs the detector on a small TSV, with names as
// arguments and on standard input, plain and gzip.
func TestAdminNamesCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tsv := "name\tversion\tmonth\trank_among_15000_most_downloaded\n" +
		"requests\t2.32\t2024-05\t1\nnumpy\t2.0\t2024-06\t2\npython-dateutil\t2.9\t2024-03\t3\n" +
		"colorama\t0.4\t2022-10\t4\nreqeusts\t0.1\t2017-01\t9000\nsomething-else\t1.0\t2020-01\t\n"
	plain := filepath.Join(dir, "top.tsv")
	if err := os.WriteFile(plain, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "top.tsv.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(tsv))
	zw.Close()
	f.Close()

	want := "co1orama\tcolorama\thomoglyph\nPython-Requests\trequests\taffix\nnum_py\tnumpy\tseparator\ndateutil-python\tpython-dateutil\treordered\n"
	stdin := "co1orama\nflask\n\n  Python-Requests  \nnum_py\nrequests\nreqeusts\ndateutil-python\n"
	for _, file := range []string{plain, gz} {
		code, out, errs := cli(t, stdin, "admin", "names", "check", "--protected", file)
		if code != 0 || out != want {
			t.Errorf("%s, names on stdin: %d %q %q; want %q", file, code, out, errs, want)
		}
	}
	// reqeusts is protected (rank 9000) though --top 4 makes it no target.
	code, out, errs := cli(t, "", "admin", "names", "check", "--protected", plain, "--top", "4", "reqeusts", "requests-lib", "flask")
	if code != 0 || out != "requests-lib\trequests\taffix\n" {
		t.Errorf("names as arguments: %d %q %q", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "names", "check", "--protected", filepath.Join(dir, "missing.tsv"), "x"}, "missing.tsv"},
		{[]string{"admin", "names", "check", "--protected", plain, "--top=-1", "x"}, "--top must be 0 or more"},
	} {
		if code, _, errs := cli(t, "", c.args...); code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q; want an error with %q", c.args, code, errs, c.want)
		}
	}
	bad := filepath.Join(dir, "bad.tsv")
	os.WriteFile(bad, []byte("project\nrequests\n"), 0o644)
	if code, _, errs := cli(t, "", "admin", "names", "check", "--protected", bad, "x"); code == 0 || !strings.Contains(errs, `no "name" column`) {
		t.Errorf("bad TSV: %d %q", code, errs)
	}
}

// TestAdminNamesProtect imports protected names into the index, and
// checks names against the index's own protected names, as serve does.
func TestAdminNamesProtect(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dbURL := storetest.URL(t, d)
		args := withDB(t.TempDir(), dbURL)
		file := filepath.Join(t.TempDir(), "top.tsv")
		storetest.Must(t, os.WriteFile(file, []byte("name\trank\nrequests\t1\nnot a name\t2\n"), 0o644))
		if code, _, errs := cli(t, "", args("admin", "names", "protect", file)...); code == 0 || !strings.Contains(errs, `line 3: invalid project name "not a name"`) {
			t.Fatalf("a bad file: %d %q", code, errs)
		}
		tsv := "name\trank\nrequests\t1\nNumPy\t2\ncolorama\t4\nflask\t9\n"
		storetest.Must(t, os.WriteFile(file, []byte(tsv), 0o644))
		code, out, errs := cli(t, "", args("admin", "names", "protect", file, "--top", "4")...)
		if code != 0 || !strings.Contains(out, "protected 3 names (of 3 read)") {
			t.Fatalf("protect: %d %q %q", code, out, errs)
		}
		st := openStore(t, dbURL)
		got, err := st.ProtectedNames(t.Context())
		storetest.Must(t, err)
		if len(got) != 3 || got[0].Name != "requests" || got[1].Name != "numpy" || got[1].Rank != 2 || got[2].Name != "colorama" {
			t.Fatalf("stored protected names: %+v", got)
		}
		code, out, errs = cli(t, "reqeusts\nflsk\nnumpy\nco1orama\n", args("admin", "names", "check")...)
		if code != 0 || out != "reqeusts\trequests\tswapped\nco1orama\tcolorama\thomoglyph\n" {
			t.Fatalf("check against the index's names: %d %q %q", code, out, errs)
		}
		// A second import replaces the first.
		storetest.Must(t, os.WriteFile(file, []byte("name\trank\nflask\t1\n"), 0o644))
		if code, out, errs := cli(t, "", args("admin", "names", "protect", file)...); code != 0 || !strings.Contains(out, "protected 1 names") {
			t.Fatalf("second protect: %d %q %q", code, out, errs)
		}
		if code, out, _ := cli(t, "reqeusts\nflsk\n", args("admin", "names", "check")...); code != 0 || out != "flsk\tflask\tomitted\n" {
			t.Fatalf("after the second import: %q", out)
		}
	})
}
