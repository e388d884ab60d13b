package main

import (
	"path/filepath"

	"cheeseshop/internal/mail"
)

// mailer returns the mailer of a command: smtpURL's server when it is
// set, otherwise the outbox folder of the data directory; from is the
// sender, mailFrom(base) when empty.
func (e *env) mailer(smtpURL, from, base string) (mail.Mailer, error) {
	if from == "" {
		from = mailFrom(base)
	}
	return mail.New(smtpURL, filepath.Join(e.Data, "outbox"), from)
}
