package emaildomain_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestEmbeddedList: the embedded list is loaded whole, holds the
// well-known disposable services and none of the big real providers.
func TestEmbeddedList(t *testing.T) {
	t.Parallel()
	s := emaildomain.New(nil, emaildomain.Config{}, quiet, nil)
	if n := s.Embedded(); n < 4000 {
		t.Fatalf("embedded list: %d disposable domains, want the whole file (over 4000)", n)
	}
	ctx := context.Background()
	for _, d := range []string{"mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "sharklasers.com", "zzz.com",
		// Families of one service, the well-known ones, and the additions.
		"guerrillamail.net", "guerrillamail.org", "guerrillamail.biz", "guerrillamail.de", "guerrillamailblock.com", "grr.la",
		"pokemail.net", "spam4.me", "yopmail.fr", "yopmail.net", "cool.fr.nf", "jetable.fr.nf", "courriel.fr.nf", "moncourrier.fr.nf",
		"monemail.fr.nf", "monmail.fr.nf", "nospam.ze.tc", "nomail.xl.cx", "mega.zik.dj", "speed.1s.fr", "10minutemail.net",
		"temp-mail.org", "trashmail.com", "trashmail.de", "trashmail.net", "wegwerfmail.de", "maildrop.cc", "getnada.com",
		"dispostable.com", "mohmal.com", "throwawaymail.com", "mailnesia.com", "mailcatch.com", "mytemp.email", "discard.email",
		"emailondeck.com", "fakeinbox.com", "mintemail.com", "mailto.plus", "fexpost.com", "1secmail.com", "tempmail.plus",
		"temp-mail.io", "mail.tm", "generator.email"} {
		if v, err := s.Lookup(ctx, d); err != nil || v.Kind != store.EmailDomainDisposable || v.Operator {
			t.Errorf("Lookup(%s) = %+v, %v: want disposable", d, v, err)
		}
	}
	for _, d := range []string{"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com",
		"proton.me", "protonmail.com", "gmx.de", "web.de", "python.org", "example.org",
		"outlook.fr", "hotmail.co.uk", "live.com", "msn.com", "yahoo.co.jp", "ymail.com", "me.com", "mac.com", "pm.me",
		"protonmail.ch", "fastmail.fm", "gmx.net", "gmx.com", "gmx.at", "mail.ru", "bk.ru", "list.ru", "inbox.ru",
		"yandex.ru", "yandex.com", "yandex.by", "ya.ru", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net",
		"sina.com", "aliyun.com", "naver.com", "daum.net", "hanmail.net", "aol.com", "zoho.com", "tutanota.com",
		"tuta.io", "hey.com", "posteo.de", "mailbox.org", "t-online.de", "orange.fr", "free.fr", "laposte.net",
		"libero.it", "wp.pl", "o2.pl", "seznam.cz", "rediffmail.com", "comcast.net", "att.net", "btinternet.com",
		"uol.com.br", "mail.com", "ukr.net", "rambler.ru", "duck.com", "mozmail.com", "privaterelay.appleid.com",
		"mit.edu", "cs.stanford.edu", "ox.ac.uk", "ethz.ch", "u-tokyo.ac.jp", "google.com", "users.noreply.github.com"} {
		if v, err := s.Lookup(ctx, d); err != nil || v.Refused() {
			t.Errorf("Lookup(%s) = %+v, %v: a real provider is refused", d, v, err)
		}
	}
	// The project's allowlist wins over its blocklist (both name
	// xmail.com: the files come from different commits).
	for _, d := range []string{"xmail.com", "fastmail.com", "sub.fastmail.com"} {
		if v, err := s.Lookup(ctx, d); err != nil || v.Kind != store.EmailDomainAllowed {
			t.Errorf("Lookup(%s) = %+v, %v: want allowed by the embedded allowlist", d, v, err)
		}
	}
}

// TestEmbeddedEntriesNormalized: every embedded domain is already in the
// form lookups compare (else it could never match).
func TestEmbeddedEntriesNormalized(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"data/disposable_email_blocklist.conf", "data/allowlist.conf", "data/additions.conf"} {
		for i, line := range strings.Split(strings.TrimSuffix(readFile(t, name), "\n"), "\n") {
			if strings.HasPrefix(line, "#") {
				continue
			}
			if d, err := emaildomain.Normalize(line); err != nil || d != line {
				t.Errorf("%s:%d: %q normalises to %q, %v", name, i+1, line, d, err)
			}
		}
	}
}

// TestEmbeddedAdditions: the hand-made additions say something the
// project's files do not (an addition the project lists now, or allows,
// must go).
func TestEmbeddedAdditions(t *testing.T) {
	t.Parallel()
	upstream := map[string]string{}
	for _, name := range []string{"data/disposable_email_blocklist.conf", "data/allowlist.conf"} {
		for line := range strings.Lines(readFile(t, name)) {
			upstream[strings.TrimSpace(line)] = name
		}
	}
	for line := range strings.Lines(readFile(t, "data/additions.conf")) {
		if d := strings.TrimSpace(line); d != "" && d[0] != '#' && upstream[d] != "" {
			t.Errorf("additions.conf: %s is in %s: remove it from the additions", d, upstream[d])
		}
	}
}

// TestNormalize: case, trailing dot, IDN, and what is not a host name.
func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"example.org", "example.org"},
		{"EXAMPLE.Org", "example.org"},
		{"example.org.", "example.org"},
		{"Bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{"x.mailinator\u3002com", "x.mailinator.com"}, // an ideographic full stop
		{"ｍａｉｌｉｎａｔｏｒ.com", "mailinator.com"},          // full-width letters
		{"org", "org"},
		{"a-b.c-d.example", "a-b.c-d.example"},
		{strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example"},
		// Refused:
		{"", ""}, {".", ""}, {"example.org..", ""}, {".example.org", ""}, {"a..b", ""},
		{"exa mple.org", ""}, {"a_b.org", ""}, {"-a.org", ""}, {"a-.org", ""},
		{"[192.0.2.1]", ""}, {"192.0.2.1", ""}, {"example.123", ""},
		{strings.Repeat("a", 64) + ".example", ""},
		{strings.Repeat("abcdefghi.", 26) + "org", ""}, // 263 characters
		{"user@example.org", ""}, {"example.org/x", ""}, {"\x00.org", ""},
	} {
		got, err := emaildomain.Normalize(c.in)
		if c.want == "" {
			if err == nil || !errors.Is(err, emaildomain.ErrInvalid) {
				t.Errorf("Normalize(%q) = %q, %v: want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v: want %q", c.in, got, err, c.want)
		}
	}
}

// TestCheck: what an address's domain gets, through the embedded list and
// the operators' rules, on both databases.
func TestCheck(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := emaildomain.New(st, emaildomain.Config{}, quiet, nil)
		m := audit.Meta{UserAgent: "test"}
		for _, r := range []struct{ domain, kind, reason string }{
			{"corp.example", store.EmailDomainProhibited, "use your work address at corp.test"},
			{"noreason.example", store.EmailDomainProhibited, ""},
			{"throwaway.example", store.EmailDomainDisposable, ""},
			{"good.throwaway.example", store.EmailDomainAllowed, ""},
			{"keep.mailinator.com", store.EmailDomainAllowed, "our partner"},
			{"yopmail.com", store.EmailDomainAllowed, ""},
			{"bad.fastmail.com", store.EmailDomainProhibited, "compromised"},
		} {
			var err error
			if r.kind == store.EmailDomainAllowed {
				_, err = s.Allow(ctx, nil, m, r.domain, r.reason)
			} else {
				_, err = s.Block(ctx, nil, m, r.domain, r.kind, r.reason)
			}
			storetest.Must(t, err)
		}
		const disposable = "disposable; use an address you will keep: we send security notices and account-recovery links there."
		for _, c := range []struct {
			address string
			cause   error  // nil: accepted
			message string // the refusal's message
		}{
			{"alice@gmail.com", nil, ""},
			{"alice@example.org", nil, ""},
			{"bob@mailinator.com", emaildomain.ErrDisposable, "Addresses at mailinator.com are " + disposable},
			{"bob@MailInator.COM", emaildomain.ErrDisposable, "Addresses at mailinator.com are " + disposable},
			{"bob@mailinator.com.", emaildomain.ErrDisposable, "Addresses at mailinator.com are " + disposable},
			{"bob@x.mailinator.com", emaildomain.ErrDisposable, "Addresses at x.mailinator.com are " + disposable},
			{"bob@a.b.c.mailinator.com", emaildomain.ErrDisposable, "Addresses at a.b.c.mailinator.com are " + disposable},
			{"bob@notmailinator.com", emaildomain.ErrDisposable, ""}, // listed itself
			{"bob@mailinator.com.example", nil, ""},                  // not a subdomain
			{"bob@xmailinator.com", nil, ""},
			// IDN: the punycode of a listed domain, spelt in Unicode.
			{"bob@ｍａｉｌｉｎａｔｏｒ.com", emaildomain.ErrDisposable, ""},
			{"bob@xn--9kq967o.com", emaildomain.ErrDisposable, ""},
			// The domain the check sees must be the one mail goes to: no
			// spelling that a mapping turns into another domain.
			{"bob@ex\u200bample.org", emaildomain.ErrInvalid, "Write the domain of this address as example.org: as it is written " +
				"(invisible or look-alike characters, another width or case), mail servers may read it as another domain."},
			{"bob@ex\u00adample.org", emaildomain.ErrInvalid, ""},
			{"bob@ｅxample.org", emaildomain.ErrInvalid, ""},
			{"bob@example。org", emaildomain.ErrInvalid, ""},
			{"bob@ﬁle.example", emaildomain.ErrInvalid, ""},
			{"bob@ℂorp.example", emaildomain.ErrProhibited, ""}, // the lists first
			{"bob@MÜNCHEN.de", emaildomain.ErrInvalid, ""},
			{"bob@mu\u0308nchen.de", emaildomain.ErrInvalid, ""}, // not NFC
			{"bob@münchen.de", nil, ""},
			{"bob@xn--mnchen-3ya.de", nil, ""},
			{"bob@XN--MNCHEN-3YA.DE", nil, ""},
			{"bob@faß.de", emaildomain.ErrInvalid, "Write the domain of this address as xn--fa-hia.de: as it is written " +
				"(invisible or look-alike characters, another width or case), mail servers may read it as another domain."},
			{"bob@xn--fa-hia.de", nil, ""},
			{"bob@ς.example", emaildomain.ErrInvalid, ""},
			{"bob@mаilinator.com", nil, ""}, // Cyrillic а: another domain, mail goes to it
			{"dave@ex\u200bample.org.", emaildomain.ErrInvalid, ""},
			{"dave@good.throwaway\u200b.example", emaildomain.ErrInvalid, ""}, // allowed, but not as written
			// Nor a local part that routes elsewhere (account.EmailProblem
			// refuses these first; Check holds on its own).
			{"a%mailinator.com@example.org", emaildomain.ErrInvalid, "Use a plain address: the part before the @ may not hold %, !, " +
				"quotes, comments, spaces or invisible characters (some mail servers send such addresses to another domain)."},
			{"mailinator.com!a@example.org", emaildomain.ErrInvalid, ""},
			{`"a@mailinator.com"@example.org`, emaildomain.ErrInvalid, ""},
			{"(a@mailinator.com)b@example.org", emaildomain.ErrInvalid, ""},
			{"a\u200b@example.org", emaildomain.ErrInvalid, ""},
			{"a b@example.org", emaildomain.ErrInvalid, ""},
			{"a\r\nBcc: x@example.org", emaildomain.ErrInvalid, ""},
			{"first.last+tag@example.org", nil, ""},
			{"josé@example.org", nil, ""},
			// Operators' rules.
			{"carol@corp.example", emaildomain.ErrProhibited,
				"This server does not accept addresses at corp.example (use your work address at corp.test). Use another address."},
			{"carol@eu.Corp.Example", emaildomain.ErrProhibited, ""},
			{"carol@noreason.example", emaildomain.ErrProhibited, "This server does not accept addresses at noreason.example. Use another address."},
			{"dave@throwaway.example", emaildomain.ErrDisposable, "Addresses at throwaway.example are " + disposable},
			{"dave@x.throwaway.example", emaildomain.ErrDisposable, ""},
			{"dave@good.throwaway.example", nil, ""},   // allowed: itself
			{"dave@x.good.throwaway.example", nil, ""}, // and its subdomains
			{"dave@keep.mailinator.com", nil, ""},      // out of the embedded list
			{"dave@x.keep.mailinator.com", nil, ""},
			{"dave@other.mailinator.com", emaildomain.ErrDisposable, ""}, // only itself
			{"dave@yopmail.com", nil, ""},
			{"dave@fastmail.com", nil, ""},
			{"dave@bad.fastmail.com", emaildomain.ErrProhibited, ""}, // over the embedded allowlist
			// No valid domain.
			{"erin@", emaildomain.ErrInvalid, "This address has no valid domain: check it (an address looks like name@example.org)."},
			{"erin", emaildomain.ErrInvalid, ""},
			{"erin@[192.0.2.1]", emaildomain.ErrInvalid, ""},
			{"erin@a_b.example", emaildomain.ErrInvalid, ""},
			{"erin@localhost", emaildomain.ErrInvalid, ""},
			{"erin@org.", emaildomain.ErrInvalid, ""},
		} {
			err := s.Check(ctx, c.address)
			if c.cause == nil {
				if err != nil {
					t.Errorf("Check(%q) = %v, want accepted", c.address, err)
				}
				continue
			}
			pe, ok := problem.As(err)
			if !ok || pe.Kind != problem.Invalid || !errors.Is(err, c.cause) {
				t.Errorf("Check(%q) = %v, want a refusal for %v", c.address, err, c.cause)
				continue
			}
			if c.message != "" && pe.Message != c.message {
				t.Errorf("Check(%q) says %q, want %q", c.address, pe.Message, c.message)
			}
		}
	})
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
