package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestRegisterDoesNotTellTakenEmails is the enumeration of registered
// addresses through the registration form: an address that has an
// account must be answered exactly as a new one (status, redirect, the
// message once the placeholders are put back, no session either way);
// the owner is told by email instead, and nothing is created.
func TestRegisterDoesNotTellTakenEmails(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		alice := s.userWithPassword("alice", "a long enough password")
		const pw = "correct horse battery"
		type answer struct {
			status   int
			location string
			page     string
			session  bool
		}
		register := func(username, email string) answer {
			b := s.browser(t)
			b.get("/account/register/")
			resp, _ := b.post("/account/register/", url.Values{"username": {username}, "email": {email},
				"password": {pw}, "password_confirm": {pw}})
			a := answer{status: resp.StatusCode, location: resp.Header.Get("Location"), session: b.cookie("session") != ""}
			if a.location != "" {
				_, page := b.get(a.location)
				page = dataCSRF.ReplaceAllString(csrfField.ReplaceAllString(page, ""), "")
				a.page = strings.NewReplacer(email, "EMAIL", username, "USERNAME").Replace(page)
			}
			return a
		}
		fresh := register("newcomer", "newcomer@example.org")
		taken := register("mallory", "Alice@Example.org")
		if fresh != taken {
			t.Fatalf("a new address is answered\n%+v\n\na registered one\n%+v", fresh, taken)
		}
		if fresh.status != http.StatusSeeOther || !strings.Contains(fresh.page, "Check your email") {
			t.Fatalf("registration answered %+v", fresh)
		}
		s.drain(t)
		if _, err := s.st.UserByUsername(context.Background(), "mallory"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an account was created for a registered address: %v", err)
		}
		if _, err := s.st.UserByUsername(context.Background(), "newcomer"); err != nil {
			t.Fatalf("the new account was not created: %v", err)
		}
		s.lastLink(t, "newcomer@example.org", "Verify", "/account/verify-email/")
		s.lastLink(t, "alice@example.org", "Someone tried to create an account", "/account/reset-password/")
		if !hasEvent(t, s.st, alice.ID, audit.RegisterEmailTaken) {
			t.Fatal("the attempt is not in the owner's security history")
		}
	})
}

// TestDisabledLoginAnswersAsWrongPassword is the confirmation of a
// password through a disabled account: its right password must be
// answered exactly as a wrong one, and the attempt recorded.
func TestDisabledLoginAnswersAsWrongPassword(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		u := s.userWithPassword("dora", "a long enough password")
		if _, err := s.acct.SetDisabled(context.Background(), nil, "dora", true, audit.Meta{IP: "admin-cli"}); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t)
		b.get("/account/login/")
		right, rightPage := b.post("/account/login/", url.Values{"username": {"dora"}, "password": {"a long enough password"}})
		wrong, wrongPage := b.post("/account/login/", url.Values{"username": {"dora"}, "password": {"a wrong password"}})
		if right.StatusCode != wrong.StatusCode || rightPage != wrongPage {
			t.Fatalf("a disabled account answers its right password %d, a wrong one %d:\n%s\n\n%s",
				right.StatusCode, wrong.StatusCode, rightPage, wrongPage)
		}
		wantStatus(t, "right password of a disabled account", right, rightPage, http.StatusUnauthorized, "username or password is wrong")
		if n := countEvents(t, s.st, u.ID, audit.LoginFailure); n != 2 {
			t.Fatalf("%d failed sign-ins recorded, want 2", n)
		}
	})
}

// TestRequestsAnswerBeforeWork: a password-reset or recovery request
// for an existing account must not do its work (the token, the request,
// the email) before answering, or the time of the answer tells that the
// account exists. With the mail held, requests for an existing and an
// unknown account are answered alike; the emails go out afterwards.
func TestRequestsAnswerBeforeWork(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, c := range []struct{ name, path, mailPage string }{
			{"password reset", "/account/reset-password/", "/account/reset-password/confirm/"},
			{"account recovery", "/account/recovery/", "/account/recovery/confirm/"},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				gate := mailtest.NewGate(nil)
				s := newTestServerWith(t, d, serverConfig{WrapMailer: func(m mail.Mailer) mail.Mailer { gate.Next = m; return gate }})
				s.userWithPassword("hal", "a long enough password")
				type answer struct {
					status   int
					location string
				}
				ask := func(who string) answer {
					b := s.browser(t)
					b.get(c.path)
					resp, _ := b.post(c.path, url.Values{"who": {who}, "reason": {"lost"}})
					return answer{resp.StatusCode, resp.Header.Get("Location")}
				}
				var got [2]answer
				gate.AnsweredFirst(t, "the answer", func() error {
					got = [2]answer{ask("hal"), ask("nobody")}
					return nil
				})
				if got[0] != got[1] || got[0].status != http.StatusSeeOther {
					t.Fatalf("an existing account is answered %+v, an unknown one %+v", got[0], got[1])
				}
				s.lastLink(t, "hal@example.org", "", c.mailPage)
			})
		}
	})
}
