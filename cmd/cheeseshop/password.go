package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"cheeseshop/internal/auth"
)

// passwordTries is how often a person at a terminal may try to choose a
// password before the command gives up.
const passwordTries = 3

// passwordTerminal is the terminal a person types a password on. The
// commands ask it through this interface, so that tests can play the
// person.
type passwordTerminal interface {
	// ReadPassword shows prompt and reads one line without echoing it.
	// It returns ctx's error as soon as ctx is done (Ctrl-C).
	ReadPassword(ctx context.Context, prompt string) (string, error)
}

// stdinTerminal returns the terminal that stdin is, writing its prompts to
// out, or nil when stdin is not a terminal (a pipe, a file, /dev/null).
func stdinTerminal(stdin io.Reader, out io.Writer) passwordTerminal {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return ttyTerminal{fd: int(f.Fd()), out: out}
}

// ttyTerminal is a real terminal, read with its echo turned off.
type ttyTerminal struct {
	fd  int
	out io.Writer
}

// ReadPassword implements passwordTerminal. The read goes on in the
// background when ctx ends first: the terminal's state is restored at once
// and the command exits soon after.
func (t ttyTerminal) ReadPassword(ctx context.Context, prompt string) (string, error) {
	state, err := term.GetState(t.fd)
	if err != nil {
		return "", fmt.Errorf("reading the terminal's state: %w", err)
	}
	fmt.Fprint(t.out, prompt)
	type line struct {
		b   []byte
		err error
	}
	read := make(chan line, 1)
	go func() {
		b, err := term.ReadPassword(t.fd)
		read <- line{b, err}
	}()
	select {
	case l := <-read:
		fmt.Fprintln(t.out) // the Enter the terminal did not echo
		return string(l.b), l.err
	case <-ctx.Done():
		term.Restore(t.fd, state)
		fmt.Fprintln(t.out)
		return "", ctx.Err()
	}
}

// askNewPassword asks the person at tty for the password of a new account
// twice, and accepts it when both agree and auth.CheckPassword (the rules
// of registration) accepts it; otherwise it says why on out and asks again,
// passwordTries times in all.
func askNewPassword(ctx context.Context, tty passwordTerminal, out io.Writer, username, email string) (string, error) {
	var why string
	for try := 1; try <= passwordTries; try++ {
		if try > 1 {
			fmt.Fprintf(out, "%s Try again (%d of %d).\n", why, try, passwordTries)
		}
		password, err := tty.ReadPassword(ctx, "Password: ")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if password == "" {
			why = "The password is empty: type one, or run the command again with --generate-password."
			continue
		}
		if err := auth.CheckPassword(password, username, email); err != nil {
			why = err.Error() // a *auth.PasswordError, worded for people
			continue
		}
		again, err := tty.ReadPassword(ctx, "Repeat the password: ")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if again == password {
			return password, nil
		}
		why = "The two passwords differ."
	}
	return "", fmt.Errorf("no account created after %d tries. %s", passwordTries, why)
}
