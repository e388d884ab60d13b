package main

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// cli runs the command line in-process.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// withDB returns a function that appends the flags naming dataDir and the
// database at dbURL to a command line.
func withDB(dataDir, dbURL string) func(a ...string) []string {
	return func(a ...string) []string {
		return append(append([]string{}, a...), "--data", dataDir, "--database", dbURL)
	}
}

// openStore opens the database at dbURL beside the commands under test,
// closed when the test ends.
func openStore(t *testing.T, dbURL string) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dataDir := t.TempDir()
		dbURL := storetest.URL(t, d)
		args := withDB(dataDir, dbURL)

		code, out, errs := cli(t, "", args("migrate")...)
		if code != 0 || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "correct horse battery\n", args("admin", "user", "create", "--username", "alice", "--email", "alice@example.org")...)
		if code != 0 || out != "created user alice\n" {
			t.Fatalf("user create with a password on stdin: %d %q %q", code, out, errs)
		}
		code, out, _ = cli(t, "", args("admin", "user", "create", "--username", "bob", "--email", "bob@example.org", "--admin")...)
		if code != 0 || !strings.Contains(out, "password: ") {
			t.Fatalf("user create without a password must generate one: %d %q", code, out)
		}
		for _, c := range []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{"duplicate user", "correct horse battery\n", []string{"admin", "user", "create", "--username", "ALICE", "--email", "a@example.org"}, `a user named "ALICE" already exists`},
			{"duplicate email", "correct horse battery\n", []string{"admin", "user", "create", "--username", "alice2", "--email", "alice@example.org"}, `the address alice@example.org is already the email of another user`},
			{"short password", "short\n", []string{"admin", "user", "create", "--username", "carol", "--email", "c@example.org"}, "too short"},
			{"bad username", "", []string{"admin", "user", "create", "--username", "x-", "--email", "c@example.org"}, "invalid username"},
			{"bad email", "", []string{"admin", "user", "create", "--username", "carol", "--email", "nope"}, "invalid email"},
			{"quoted email", "", []string{"admin", "user", "create", "--username", "carol", "--email", `"c@mailinator.com"@example.org`}, "invalid email"},
			{"percent hack", "", []string{"admin", "user", "create", "--username", "carol", "--email", "c%mailinator.com@example.org"}, "invalid email"},
			{"token for nobody", "", []string{"admin", "token", "create", "--username", "nobody"}, `No user named "nobody"`},
			{"token for a missing project", "", []string{"admin", "token", "create", "--username", "alice", "--project", "ghost"}, `No project named 'ghost'`},
			{"bad name", "", []string{"admin", "name", "prohibit", "bad!"}, "invalid project name"},
		} {
			code, out, errs := cli(t, c.stdin, args(c.args...)...)
			if code == 0 || !strings.Contains(errs, c.want) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want failure with %q", c.name, code, out, errs, c.want)
			}
		}
		code, out, errs = cli(t, "", args("admin", "token", "create", "--username", "alice", "--expires", "24h")...)
		if code != 0 || !strings.HasPrefix(out, "cheeseshop-") || strings.Count(out, "\n") != 1 {
			t.Fatalf("token create must print only the token: %d %q %q", code, out, errs)
		}
		code, out, errs = cli(t, "", args("admin", "token", "create", "--username", "alice", "--manage", "--name", "ops")...)
		if code != 0 || !strings.HasPrefix(out, "cheeseshop-") {
			t.Fatalf("token create --manage: %d %q %q", code, out, errs)
		}
		// Every token made on the command line is emailed to its user.
		msgs, err := mail.ReadOutbox(filepath.Join(dataDir, "outbox"))
		storetest.Must(t, err)
		var notices []string
		for _, m := range msgs {
			if strings.Contains(m.To, "alice@example.org") && strings.HasPrefix(m.Subject, "API token created") {
				notices = append(notices, m.Text)
			}
		}
		if len(notices) != 2 || !strings.Contains(notices[0]+notices[1], "upload only") || !strings.Contains(notices[0]+notices[1], "upload and manage") ||
			!strings.Contains(notices[0], "by an administrator") {
			t.Fatalf("token notices to alice: %q", notices)
		}
		code, out, errs = cli(t, "", args("admin", "blobs", "gc")...)
		if code != 0 || out != "blobs: 0 seen, 0 removed (0 bytes), 0 in use, 0 newer than 24h\n" {
			t.Fatalf("blobs gc: %d %q %q", code, out, errs)
		}
		if code, _, errs = cli(t, "", args("admin", "blobs", "gc", "--grace", "1s")...); code == 0 || !strings.Contains(errs, "at least 1m") {
			t.Fatalf("blobs gc with a tiny grace period: %d %q", code, errs)
		}
		code, out, _ = cli(t, "", args("admin", "name", "prohibit", "Evil_Pkg", "--reason", "test")...)
		if code != 0 || out != "prohibited evil-pkg\n" {
			t.Fatalf("prohibit: %d %q", code, out)
		}
		// The prohibition covers the name's look-alikes too.
		st := openStore(t, dbURL)
		for _, lookalike := range []string{"evil-pkg", "ev1l.pkg", "EVILPKG", "evi1_pkg"} {
			if bad, err := st.IsProhibited(t.Context(), pep.UltraNormalizeName(lookalike)); err != nil || !bad {
				t.Errorf("%s is not prohibited after prohibiting Evil_Pkg (%v)", lookalike, err)
			}
		}
	})
}

// TestEnvironment: every flag can come from CHEESESHOP_<FLAG>.
func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CHEESESHOP_DATA", dir)
	code, _, errs := cli(t, "", "migrate")
	if code != 0 {
		t.Fatalf("migrate: %s", errs)
	}
	st, err := store.Open(t.Context(), "sqlite://"+dir+"/cheeseshop.db")
	if err != nil {
		t.Fatalf("CHEESESHOP_DATA was not used: %v", err)
	}
	st.Close()
	t.Setenv("CHEESESHOP_DATABASE", "mysql://nope")
	if code, _, errs := cli(t, "", "migrate"); code == 0 || !strings.Contains(errs, "unsupported database URL") {
		t.Fatalf("bad CHEESESHOP_DATABASE: %d %q", code, errs)
	}
}

func TestByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"100MiB": 100 << 20, "10GiB": 10 << 30, "1024": 1024, "5 MB": 5e6, "1kib": 1024, "0": 0} {
		var b byteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || int64(b) != want {
			t.Errorf("byteSize(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "MiB", "1.5GiB", "99999999999TiB"} {
		var b byteSize
		if err := b.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("byteSize(%q) accepted", bad)
		}
	}
}

// TestVersion: `cheeseshop version` names the binary and its Go version,
// which a bug or vulnerability report gives.
func TestVersion(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"version"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "cheeseshop ") || !strings.Contains(out.String(), runtime.Version()) {
		t.Errorf("version: %q", out.String())
	}
}
