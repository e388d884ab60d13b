package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the networks of the reverse proxies and load
// balancers in front of the server. A request whose connection comes from
// one of them is attributed to the client the proxy names in
// X-Forwarded-For; every other request to its connection's peer. Without
// trusted proxies, every client behind a proxy shares the proxy's address,
// and so its rate limits, caps and download counting.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads addresses and CIDR networks ("10.0.0.0/8",
// "192.0.2.7", "2001:db8::/32"), as given to --trusted-proxies.
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR network (such as 10.0.0.0/8)", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Contains reports whether ip is one of the proxies.
func (t TrustedProxies) Contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range t {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// maxForwardHops bounds how many X-Forwarded-For entries are read, from the
// right, so that a long header costs little.
const maxForwardHops = 16

// Client returns the address of the client of a request whose connection
// comes from peer, given its X-Forwarded-For headers: when peer is a
// trusted proxy, the right-most forwarded address that is not itself a
// trusted proxy (a client can prepend whatever it likes to the header;
// only what the trusted proxies appended counts); else peer. ok is false
// when peer is trusted but names no valid client, which then stays peer.
func (t TrustedProxies) Client(peer netip.Addr, forwarded []string) (client netip.Addr, ok bool) {
	if len(t) == 0 || !t.Contains(peer) {
		return peer, true
	}
	hops := 0
	for i := len(forwarded) - 1; i >= 0; i-- {
		rest := forwarded[i]
		for rest != "" && hops < maxForwardHops {
			var part string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				rest, part = rest[:j], rest[j+1:]
			} else {
				rest, part = "", rest
			}
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			hops++
			a, err := parseForwardedAddr(part)
			if err != nil {
				return peer, false
			}
			if !t.Contains(a) {
				return a, true
			}
		}
	}
	return peer, false
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseForwardedAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr().Unmap().WithZone(""), nil
}

// realClient attributes requests that come through a trusted proxy to the
// client the proxy names: their RemoteAddr becomes that client's address
// (port 0), so that the audit log, rate limits, upload caps and download
// counting all see the same client. Requests from anyone else keep their
// peer, whatever X-Forwarded-For they send.
func (s *Server) realClient(next http.Handler) http.Handler {
	if len(s.opts.TrustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		peer := ap.Addr().Unmap()
		if !s.opts.TrustedProxies.Contains(peer) {
			next.ServeHTTP(w, r)
			return
		}
		client, ok := s.opts.TrustedProxies.Client(peer, r.Header.Values("X-Forwarded-For"))
		if !ok {
			s.log.WarnContext(r.Context(), "a trusted proxy sent no usable X-Forwarded-For: the request counts as the proxy's",
				"proxy", peer.String(), "x_forwarded_for", truncateForLog(strings.Join(r.Header.Values("X-Forwarded-For"), ", ")))
		}
		r = r.WithContext(r.Context()) // a shallow copy: the caller's request is left as it was
		r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		next.ServeHTTP(w, r)
	})
}

// truncateForLog bounds client input written to the log.
func truncateForLog(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
