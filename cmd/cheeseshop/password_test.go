package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// typist plays a person at a terminal: it answers each prompt with the
// next of its lines, and records the prompts.
type typist struct {
	lines   []string
	prompts []string
}

func (p *typist) ReadPassword(ctx context.Context, prompt string) (string, error) {
	p.prompts = append(p.prompts, prompt)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(p.lines) == 0 {
		return "", io.EOF // Ctrl-D: the person typed nothing more
	}
	line := p.lines[0]
	p.lines = p.lines[1:]
	return line, nil
}

func TestAskNewPassword(t *testing.T) {
	t.Parallel()
	const good = "salted gouda wheel"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		lines   []string
		want    string   // the password; "" when refused
		prompts int      // how many prompts were shown
		said    []string // in the messages to the person, or in the error
	}{
		{"same twice", nil, []string{good, good}, good, 2, nil},
		{"mismatch then same", nil, []string{good, good + "!", good, good}, good, 4, []string{"The two passwords differ. Try again (2 of 3)."}},
		{"too short then good", nil, []string{"brie", good, good}, good, 3, []string{"too short (4 characters)", "Try again (2 of 3)"}},
		{"the username", nil, []string{"xx-alice-xx", good, good}, good, 3, []string{"must not contain your username"}},
		{"common", nil, []string{"password123", good, good}, good, 3, []string{"most common passwords"}},
		{"empty", nil, []string{"", good, good}, good, 3, []string{"--generate-password"}},
		{"three mismatches", nil, []string{good, "a", good, "b", good, "c", good, good}, "", 6, []string{"no account created after 3 tries. The two passwords differ."}},
		{"three refusals", nil, []string{"", "short", "", good, good}, "", 3, []string{"no account created after 3 tries. The password is empty"}},
		{"end of input", nil, []string{good}, "", 2, []string{"reading the password: EOF"}},
		{"interrupted", cancelled, []string{good, good}, "", 1, []string{"context canceled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			tty := &typist{lines: slices.Clone(c.lines)}
			var out bytes.Buffer
			got, err := askNewPassword(ctx, tty, &out, "alice", "alice@example.org")
			if got != c.want {
				t.Errorf("password %q, want %q (error %v)", got, c.want, err)
			}
			if (err == nil) != (c.want != "") {
				t.Errorf("error %v with password %q", err, got)
			}
			if len(tty.prompts) != c.prompts {
				t.Errorf("%d prompts %q, want %d", len(tty.prompts), tty.prompts, c.prompts)
			}
			for i, p := range tty.prompts {
				if want := []string{"Password: ", "Repeat the password: "}; !slices.Contains(want, p) || (i == 0 && p != want[0]) {
					t.Errorf("prompt %d is %q", i, p)
				}
			}
			said := out.String()
			if err != nil {
				said += "\n" + err.Error()
			}
			for _, s := range c.said {
				if !strings.Contains(said, s) {
					t.Errorf("the person was told %q, which lacks %q", said, s)
				}
			}
		})
	}
}

// TestUserCreateOnTerminal runs `admin user create` with a terminal on
// standard input: the password typed twice is the account's, a refused one
// creates nothing, and a taken name is refused before anyone types.
func TestUserCreateOnTerminal(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		dbURL := storetest.URL(t, d)
		dataDir := t.TempDir()
		create := func(username string, tty *typist, generate bool) (stdout, stderr string, err error) {
			var out, errb bytes.Buffer
			e := &env{Globals: &Globals{Data: dataDir, Database: dbURL}, ctx: t.Context(), stdin: strings.NewReader(""),
				stdout: &out, stderr: &errb, log: slog.New(slog.DiscardHandler), terminal: tty}
			cmd := &UserCreateCmd{Username: username, Email: username + "@example.org", GeneratePassword: generate}
			err = cmd.Run(e)
			return out.String(), errb.String(), err
		}
		st := openStore(t, dbURL)
		const typed = "salted gouda wheel"

		tty := &typist{lines: []string{typed, "salted gouda whee1", typed, typed}}
		out, said, err := create("alice", tty, false)
		if err != nil || out != "created user alice\n" || !strings.Contains(said, "The two passwords differ") {
			t.Fatalf("create alice: %v, printed %q, said %q", err, out, said)
		}
		u, err := st.UserByUsername(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := auth.NewHasher(1, auth.Params{}).Verify(t.Context(), typed, u.PasswordHash); err != nil {
			t.Errorf("the typed password does not verify: %v", err)
		}

		tty = &typist{lines: []string{typed, "a", typed, "b", typed, "c"}}
		if _, _, err := create("bob", tty, false); err == nil || !strings.Contains(err.Error(), "no account created") {
			t.Errorf("three mismatches: %v", err)
		}
		if _, err := st.UserByUsername(t.Context(), "bob"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bob after three mismatches: %v, want not found", err)
		}

		tty = &typist{lines: []string{typed, typed}}
		if _, _, err := create("ALICE", tty, false); err == nil || !strings.Contains(err.Error(), `a user named "ALICE" already exists`) {
			t.Errorf("a taken name: %v", err)
		}
		if len(tty.prompts) != 0 {
			t.Errorf("a taken name was refused after the prompts %q", tty.prompts)
		}

		tty = &typist{}
		out, _, err = create("carol", tty, true)
		if err != nil || !strings.HasPrefix(out, "created user carol\npassword: ") || len(tty.prompts) != 0 {
			t.Errorf("--generate-password on a terminal: %v, printed %q, prompts %q", err, out, tty.prompts)
		}
		// Without a terminal, --generate-password leaves standard input alone.
		code, out, errs := cli(t, "correct horse battery\n", withDB(dataDir, dbURL)("admin", "user", "create",
			"--username", "dave", "--email", "dave@example.org", "--generate-password")...)
		if code != 0 || !strings.HasPrefix(out, "created user dave\npassword: ") || strings.Contains(out, "correct horse") {
			t.Errorf("--generate-password with standard input: %d %q %q", code, out, errs)
		}
	})
}
