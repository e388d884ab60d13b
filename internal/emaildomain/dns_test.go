package emaildomain_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// FakeResolver answers the DNS check from a table: per fully qualified
// name, its MX records, its addresses, or an error for either; a name
// absent from the table does not exist (NXDOMAIN).
type fakeResolver struct {
	mu      sync.Mutex
	zones   map[string]fakeZone
	queries []string
}

type fakeZone struct {
	mx            []*net.MX
	mxErr         error
	addrs         []netip.Addr
	addrErr       error
	hang          bool // both lookups wait for the context's end
	mxEmptyNoData bool // the MX lookup answers nothing, and no error
}

func (r *fakeResolver) zone(ctx context.Context, kind, name string) (fakeZone, error) {
	r.mu.Lock()
	r.queries = append(r.queries, kind+" "+name)
	z, ok := r.zones[name]
	r.mu.Unlock()
	if !ok {
		return z, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	if z.hang {
		<-ctx.Done()
		return z, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	return z, nil
}

func (r *fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	z, err := r.zone(ctx, "MX", name)
	switch {
	case err != nil:
		return nil, err
	case z.mxErr != nil:
		return nil, z.mxErr
	case len(z.mx) == 0 && !z.mxEmptyNoData:
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return z.mx, nil
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	z, err := r.zone(ctx, "IP", host)
	switch {
	case err != nil:
		return nil, err
	case z.addrErr != nil:
		return nil, z.addrErr
	case len(z.addrs) == 0:
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return z.addrs, nil
}

// TestDNSCheck: the domains that cannot receive mail are refused; a DNS
// that fails or does not answer in time lets the address through, logged.
func TestDNSCheck(t *testing.T) {
	t.Parallel()
	servFail := &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}
	res := &fakeResolver{zones: map[string]fakeZone{
		"mx.example.":            {mx: []*net.MX{{Host: "mail.mx.example.", Pref: 10}}},
		"nullmx.example.":        {mx: []*net.MX{{Host: ".", Pref: 0}}, addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		"twomx.example.":         {mx: []*net.MX{{Host: ".", Pref: 0}, {Host: "mail.twomx.example.", Pref: 10}}},
		"aonly.example.":         {addrs: []netip.Addr{netip.MustParseAddr("192.0.2.2")}},
		"aaaaonly.example.":      {addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		"norecords.example.":     {},
		"nodata.example.":        {mxEmptyNoData: true},
		"slow.example.":          {hang: true},
		"servfail.example.":      {mxErr: servFail},
		"afail.example.":         {addrErr: servFail},
		"xn--bcher-kva.example.": {mx: []*net.MX{{Host: "mail.example.", Pref: 5}}},
		"gmail.com.":             {mx: []*net.MX{{Host: "gmail-smtp-in.l.google.com.", Pref: 5}}},
	}}
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	s := emaildomain.New(nil, emaildomain.Config{CheckDNS: true, Resolver: res, DNSTimeout: 50 * time.Millisecond}, log, nil)
	ctx := context.Background()
	for _, c := range []struct {
		address string
		dead    bool
	}{
		{"a@mx.example", false},
		{"a@MX.Example.", false},
		{"a@sub.mx.example", true}, // not in the table: NXDOMAIN
		{"a@nxdomain.example", true},
		{"a@nullmx.example", true}, // RFC 7505, whatever its addresses
		{"a@twomx.example", false}, // a "." among real MX is not a null MX
		{"a@aonly.example", false}, // the implicit MX
		{"a@aaaaonly.example", false},
		{"a@norecords.example", true},
		{"a@nodata.example", true},
		{"a@slow.example", false}, // timeout: fail open
		{"a@servfail.example", false},
		{"a@afail.example", false},
		{"a@bücher.example", false}, // asked in punycode
		{"a@mailinator.com", false}, // refused by the list, before any DNS
	} {
		start := time.Now()
		err := s.Check(ctx, c.address)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("Check(%q) took %s", c.address, took)
		}
		if c.address == "a@mailinator.com" {
			if !errors.Is(err, emaildomain.ErrDisposable) {
				t.Errorf("Check(%q) = %v", c.address, err)
			}
			continue
		}
		if !c.dead {
			if err != nil {
				t.Errorf("Check(%q) = %v, want accepted", c.address, err)
			}
			continue
		}
		pe, ok := problem.As(err)
		domain := strings.ToLower(strings.TrimSuffix(c.address[2:], "."))
		if !ok || !errors.Is(err, emaildomain.ErrNoMail) ||
			pe.Message != "The domain "+domain+" cannot receive email (no mail server). Check the address." {
			t.Errorf("Check(%q) = %v, want a refusal for a domain without mail", c.address, err)
		}
	}
	for _, q := range res.queries {
		if q == "MX gmail.com." {
			continue // the canary
		}
		if strings.Contains(q, "mailinator") {
			t.Errorf("a domain the list refuses was asked to the DNS: %s", q)
		}
		if !strings.HasSuffix(q, ".") {
			t.Errorf("query %q is not fully qualified (the search list would apply)", q)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, d := range []string{"slow.example", "servfail.example", "afail.example"} {
		if !strings.Contains(logs.String(), "domain="+d) {
			t.Errorf("no log of the DNS failure for %s:\n%s", d, logs.String())
		}
	}
}

// TestDNSCheckOff: without CheckDNS, nothing is asked; with it, a domain
// an operator allows is not asked either.
func TestDNSCheckOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	res := &fakeResolver{zones: map[string]fakeZone{}}
	if err := emaildomain.New(nil, emaildomain.Config{Resolver: res}, quiet, nil).Check(ctx, "a@nxdomain.example"); err != nil ||
		len(res.queries) != 0 {
		t.Fatalf("DNS off: %v, asked %q", err, res.queries)
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		res := &fakeResolver{zones: map[string]fakeZone{"gmail.com.": {mx: []*net.MX{{Host: "gmail-smtp-in.l.google.com.", Pref: 5}}}}}
		s := emaildomain.New(st, emaildomain.Config{CheckDNS: true, Resolver: res}, quiet, nil)
		if _, err := s.Allow(ctx, nil, audit.Meta{}, "intranet.example", "split DNS"); err != nil {
			t.Fatal(err)
		}
		if err := s.Check(ctx, "a@host.intranet.example"); err != nil {
			t.Fatalf("allowed by an operator: %v", err)
		}
		if err := s.Check(ctx, "a@elsewhere.example"); !errors.Is(err, emaildomain.ErrNoMail) {
			t.Fatalf("not allowed: %v", err)
		}
		if strings.Join(res.queries, ",") != "MX elsewhere.example.,IP elsewhere.example.,MX gmail.com." {
			t.Errorf("DNS queries %q: want only the domain no operator allows", res.queries)
		}
	})
}

// TestDNSCheckLyingResolver: a resolver that says no name exists (this
// machine's sandbox, a captive network) finds none of the canaries, and
// the check lets every address through, logged, rather than refuse all;
// the verdict is kept a minute, then asked again.
func TestDNSCheckLyingResolver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	res := &fakeResolver{zones: map[string]fakeZone{}}
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := emaildomain.New(nil, emaildomain.Config{CheckDNS: true, Resolver: res}, log, func() time.Time { return now })
	for _, a := range []string{"a@gmail.com", "b@example.net"} {
		if err := s.Check(ctx, a); err != nil {
			t.Errorf("Check(%q) with a resolver that finds nothing: %v, want accepted", a, err)
		}
	}
	if n := strings.Count(strings.Join(res.queries, ","), "MX yahoo.com."); n != 1 {
		t.Errorf("the canaries were asked %d times in a minute, want once: %q", n, res.queries)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), "DNS check skipped") {
		t.Errorf("no log of the skipped check:\n%s", logs.String())
	}
	logMu.Unlock()
	// The network comes back: after a minute the canaries are asked again,
	// and a dead domain is refused.
	res.mu.Lock()
	res.zones["gmail.com."] = fakeZone{mx: []*net.MX{{Host: "gmail-smtp-in.l.google.com.", Pref: 5}}}
	res.mu.Unlock()
	now = now.Add(2 * time.Minute)
	if err := s.Check(ctx, "b@example.net"); !errors.Is(err, emaildomain.ErrNoMail) {
		t.Errorf("with a resolver that finds the canaries: %v, want ErrNoMail", err)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
