package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	"cheeseshop/internal/account"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestTrustedProxiesClient(t *testing.T) {
	tp, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name      string
		peer      string
		forwarded []string
		want      string
		ok        bool
	}{
		{"untrusted peer, header ignored", "198.51.100.9", []string{"203.0.113.1"}, "198.51.100.9", true},
		{"untrusted peer, no header", "198.51.100.9", nil, "198.51.100.9", true},
		{"trusted peer names the client", "10.1.2.3", []string{"203.0.113.1"}, "203.0.113.1", true},
		{"a client's own prefix is not believed", "10.1.2.3", []string{"1.1.1.1, 203.0.113.1"}, "203.0.113.1", true},
		{"chain of trusted proxies", "10.1.2.3", []string{"203.0.113.1, 192.0.2.7, 10.9.9.9"}, "203.0.113.1", true},
		{"several headers read as one list", "10.1.2.3", []string{"1.1.1.1", "203.0.113.1, 10.0.0.1"}, "203.0.113.1", true},
		{"address with a port", "10.1.2.3", []string{"203.0.113.1:4711"}, "203.0.113.1", true},
		{"IPv6 with a port", "2001:db8:1::5", []string{"[2001:db8:2::1]:4711"}, "2001:db8:2::1", true},
		{"IPv4-mapped peer", "::ffff:10.1.2.3", []string{"203.0.113.1"}, "203.0.113.1", true},
		{"garbage stops the walk", "10.1.2.3", []string{"203.0.113.1, <script>"}, "10.1.2.3", false},
		{"only proxies", "10.1.2.3", []string{"10.0.0.2, 192.0.2.7"}, "10.1.2.3", false},
		{"empty header", "10.1.2.3", []string{""}, "10.1.2.3", false},
		{"no header", "10.1.2.3", nil, "10.1.2.3", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tp.Client(a(tc.peer).Unmap(), tc.forwarded)
			if got != a(tc.want) || ok != tc.ok {
				t.Errorf("Client(%s, %q) = %s, %v; want %s, %v", tc.peer, tc.forwarded, got, ok, tc.want, tc.ok)
			}
		})
	}
	// Only so many hops are read: a long header cannot cost much.
	long := "203.0.113.1"
	for range 1000 {
		long += ", 10.0.0.1"
	}
	if got, ok := tp.Client(a("10.1.2.3"), []string{long}); ok || got != a("10.1.2.3") {
		t.Errorf("a header of 1000 proxies: %s, %v; want the peer", got, ok)
	}
	for _, bad := range []string{"proxy.internal", "10.0.0.0/33", "::1/129"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", bad)
		}
	}
}

func FuzzTrustedProxiesClient(f *testing.F) {
	for _, s := range []string{"203.0.113.1", "1.1.1.1, 203.0.113.1, 10.0.0.1", "[2001:db8::1]:80", ",,,", "10.0.0.1 ,  ,x", "::ffff:1.2.3.4%eth0"} {
		f.Add(s)
	}
	tp, _ := ParseTrustedProxies([]string{"10.0.0.0/8", "::1"})
	peer := netip.MustParseAddr("10.0.0.9")
	f.Fuzz(func(t *testing.T, header string) {
		got, ok := tp.Client(peer, []string{header})
		if !ok && got != peer {
			t.Fatalf("not ok, but %s instead of the peer", got)
		}
		if ok && (tp.Contains(got) || !got.IsValid() || got.Zone() != "") {
			t.Fatalf("client %s is a proxy, invalid or zoned", got)
		}
	})
}

// forwardedFor is a proxy in front of the test server: it names the client
// in X-Forwarded-For.
type forwardedFor struct {
	client *string
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", *f.client)
	return http.DefaultTransport.RoundTrip(r)
}

// proxiedBrowser is a browser behind a forwardedFor proxy that names
// *client, which the test may change between requests.
func (s *testServer) proxiedBrowser(t testing.TB, client *string) *browser {
	b := s.browser(t)
	b.client.Transport = forwardedFor{client}
	return b
}

// TestTrustedProxies: behind a trusted proxy, the per-address login limit
// and the security log see each client; without one, X-Forwarded-For is
// whatever a client makes up, and is ignored.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, trusted := range []bool{true, false} {
			t.Run("trusted="+strconv.FormatBool(trusted), func(t *testing.T) {
				t.Parallel()
				cfg := serverConfig{}
				if trusted {
					cfg.Options = func(o *Options) { o.TrustedProxies = TrustedProxies{netip.MustParsePrefix("127.0.0.0/8")} }
				}
				s := newTestServerWith(t, d, cfg)
				u := s.userWithPassword("victim", "a long enough password")
				client := "198.51.100.1"
				b := s.proxiedBrowser(t, &client)
				b.get("/account/login/")
				limit := account.LoginLimit.Max
				for i := range limit {
					resp, _ := b.post("/account/login/", url.Values{"username": {"nobody" + strconv.Itoa(i)}, "password": {"wrong password"}})
					if resp.StatusCode != http.StatusUnauthorized {
						t.Fatalf("wrong login %d: %d, want 401", i, resp.StatusCode)
					}
				}
				resp, _ := b.post("/account/login/", url.Values{"username": {"nobody-else"}, "password": {"wrong password"}})
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("client 1 past its limit: %d, want 429", resp.StatusCode)
				}
				// Another client behind the proxy (or a made-up header).
				client = "198.51.100.2"
				resp, _ = b.post("/account/login/", url.Values{"username": {"victim"}, "password": {"wrong password"}})
				want := http.StatusTooManyRequests
				if trusted {
					want = http.StatusUnauthorized
				}
				if resp.StatusCode != want {
					t.Fatalf("client 2: %d, want %d", resp.StatusCode, want)
				}
				if !trusted {
					return
				}
				ev, err := s.st.UserEvents(context.Background(), u.ID, 10)
				storetest.Must(t, err)
				var ips []string
				for _, e := range ev {
					if e.Tag == audit.LoginFailure {
						ips = append(ips, e.IP)
					}
				}
				if len(ips) != 1 || ips[0] != client {
					t.Errorf("the failed login was recorded from %v, want [%s]", ips, client)
				}
			})
		}
	})
}
