package web

import (
	"context"
	"html"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// mailDNS is a DNS where only example.org receives mail.
type mailDNS struct{}

func (mailDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if name == "example.org." || name == "gmail.com." {
		return []*net.MX{{Host: "mx.example.org.", Pref: 10}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (mailDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// TestEmailDomainPages: the registration form and the email change of the
// account page refuse disposable, prohibited and (with the DNS check on)
// dead domains, beside the field, with what to do; nothing is created or
// changed.
func TestEmailDomainPages(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServerWith(t, d, serverConfig{EmailResolver: mailDNS{}})
		ctx := context.Background()
		storetest.Must(t, s.st.PutEmailDomain(ctx, store.EmailDomain{Domain: "corp.example", Kind: store.EmailDomainProhibited,
			Reason: "use your work address", CreatedAt: time.Now()}))
		u := s.userWithPassword("grace", "a long enough password")
		const pw = "correct horse battery"
		cases := []struct{ email, says string }{
			{"dan@mailinator.com", "Addresses at mailinator.com are disposable; use an address you will keep: " +
				"we send security notices and account-recovery links there."},
			{"dan@eu.corp.example", "This server does not accept addresses at eu.corp.example (use your work address). Use another address."},
			{"dan@gone.example", "The domain gone.example cannot receive email (no mail server). Check the address."},
		}
		b := s.browser(t)
		for _, c := range cases {
			b.get("/account/register/")
			resp, body := b.post("/account/register/", url.Values{"username": {"dan"}, "email": {c.email}, "password": {pw}, "password_confirm": {pw}})
			wantStatus(t, "register "+c.email, resp, body, http.StatusBadRequest, html.EscapeString(c.says))
		}
		s.drain(t)
		if _, err := s.st.UserByUsername(ctx, "dan"); err == nil {
			t.Fatal("a refused registration created its account")
		}

		g := s.browser(t)
		g.login("grace", "a long enough password")
		g.get("/manage/account/")
		for _, c := range cases {
			email := strings.Replace(c.email, "dan@", "grace@", 1)
			resp, body := g.post("/manage/account/email/", url.Values{"email": {email}, "password": {"a long enough password"}})
			wantStatus(t, "change to "+email, resp, body, http.StatusBadRequest, html.EscapeString(strings.Replace(c.says, "dan@", "grace@", 1)))
			if got, _ := s.st.UserByID(ctx, u.ID); got.Email != "grace@example.org" {
				t.Fatalf("the refused address %s was set", email)
			}
		}
		// A good domain still goes through.
		b.get("/account/register/")
		resp, body := b.post("/account/register/", url.Values{"username": {"dan"}, "email": {"dan@example.org"}, "password": {pw}, "password_confirm": {pw}})
		wantStatus(t, "register at a good domain", resp, body, http.StatusSeeOther)
	})
}
