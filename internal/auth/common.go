package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxPasswordBytes is the longest password accepted, in bytes: hashing is
// cheap whatever the length, but a bound keeps requests and logs sane.
const MaxPasswordBytes = 1024

// minNameInPassword is the shortest username or email local part that a
// password may not contain: shorter names ("al", "x") occur by chance in
// good passphrases, and a password equal to one is refused as too short.
const minNameInPassword = 4

// PasswordError tells a user why a password was refused and what to do
// instead. Its message is meant to be shown as it is.
type PasswordError struct {
	Msg string
}

// Error returns the message for the user.
func (e *PasswordError) Error() string { return e.Msg }

// commonPasswordsGz holds the common passwords, lower-cased and most common
// first, one a line, with '#' comment lines at the top naming the sources:
//
//   - the 30,000 "passwords" of zxcvbn's frequency lists (Dropbox, MIT
//     licence, taken from Debian's python3-zxcvbn 4.4.28-3), which come
//     from Mark Burnett's published ten-million-password corpus;
//   - John the Ripper's password.lst (Solar Designer, Openwall, 1996-2011,
//     public domain, taken from Debian's john-data 1.9.0-2).
//
// The file's header carries the full notices.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords decodes the embedded list once, on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic(fmt.Sprintf("auth: embedded common-passwords.txt.gz: %v", err))
	}
	set := make(map[string]struct{}, 32000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		panic(fmt.Sprintf("auth: embedded common-passwords.txt.gz: %v", err))
	}
	return set
})

// CheckPassword returns a *PasswordError whose message tells the user what
// to do when password is too short (fewer than MinPasswordLength
// characters), too long (more than MaxPasswordBytes bytes), one of the most
// common passwords (ignoring case), or equal to, containing or contained in
// the username or the local part of email (ignoring case; names shorter
// than four characters are only compared whole). It returns nil when the
// password is acceptable. username and email may be empty.
func CheckPassword(password, username, email string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		return &PasswordError{Msg: fmt.Sprintf(
			"Your password is too short (%d characters): choose one of at least %d characters. "+
				"A few unrelated words make a password that is long and easy to remember.",
			n, MinPasswordLength)}
	}
	if len(password) > MaxPasswordBytes {
		return &PasswordError{Msg: fmt.Sprintf(
			"Your password is too long: choose one of at most %d bytes.", MaxPasswordBytes)}
	}
	lower := strings.ToLower(password)
	if resembles(lower, username) {
		return &PasswordError{Msg: "Your password must not contain your username: choose one that has nothing to do with it."}
	}
	if at := strings.LastIndexByte(email, '@'); at >= 0 && resembles(lower, email[:at]) {
		return &PasswordError{Msg: "Your password must not contain your email address: choose one that has nothing to do with it."}
	}
	if _, ok := commonPasswords()[lower]; ok {
		return &PasswordError{Msg: "This password is one of the most common passwords, which attackers try first: " +
			"choose another one, for example a few unrelated words."}
	}
	return nil
}

// resembles reports whether the lower-cased password equals name, contains
// it (when name is long enough not to occur by chance) or is part of it.
func resembles(lower, name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return false
	}
	if lower == name || strings.Contains(name, lower) {
		return true
	}
	return utf8.RuneCountInString(name) >= minNameInPassword && strings.Contains(lower, name)
}
