package downloads

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strings"

	"cheeseshop/internal/ratelimit"
)

// Policy says which downloads count, so that inflating a project's
// downloads (to make it critical, or to push it up the popular lists)
// costs an attacker client addresses rather than just requests. The zero
// Policy counts every download, as cheeseshop did before it had one.
type Policy struct {
	// PerAddress is the most downloads counted per client address,
	// project and UTC day (0: no limit). An IPv6 address stands for its
	// /64, which one client usually holds whole.
	PerAddress int
	// Agents says whose user agents count.
	Agents Agents
	// MaxAddresses bounds the memory of a Counter: the most (address,
	// project) pairs it remembers per day (0: DefaultMaxAddresses). Past
	// it, downloads from pairs it does not remember are not counted, so a
	// flood of addresses cannot buy more than MaxAddresses × PerAddress
	// counts a day from one server.
	MaxAddresses int
}

// DefaultMaxAddresses is the default of Policy.MaxAddresses: about 36 MiB
// of memory when full (a Go map of 2^20 uint64 keys and uint32 values).
const DefaultMaxAddresses = 1 << 20

// Agents selects downloads by the client's User-Agent.
type Agents int

// The selections.
const (
	// AllAgents counts every user agent.
	AllAgents Agents = iota
	// NotBots counts every user agent but those of crawlers and bots
	// (a "bot", "crawl", "spider" or "slurp" in the name, and a few
	// known ones that say none of these).
	NotBots
	// Installers counts only the user agents of Python installers (pip,
	// uv, Poetry, PDM, pex, conda, setuptools...) and of caching
	// proxies of indexes (Artifactory, Nexus, devpi). Browsers, crawlers,
	// curl, wget, generic HTTP libraries, and full mirrors (bandersnatch,
	// which copies every file whether anybody uses it or not) do not count.
	Installers
)

// agentNames are the names of the selections, for flags.
var agentNames = [...]string{AllAgents: "all", NotBots: "not-bots", Installers: "installers"}

func (a Agents) String() string {
	if a < 0 || int(a) >= len(agentNames) {
		return fmt.Sprintf("Agents(%d)", int(a))
	}
	return agentNames[a]
}

// ParseAgents returns the selection named s: "installers", "not-bots" or
// "all".
func ParseAgents(s string) (Agents, error) {
	for i, n := range agentNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Agents(i), nil
		}
	}
	return 0, fmt.Errorf("unknown selection of user agents %q: use installers, not-bots or all", s)
}

// installers are the first product names (before the "/") of the user
// agents that Installers counts, lower-case. pip's is "pip/24.0 {json}",
// uv's "uv/0.4.18 {json}", Poetry's "poetry/1.8.3", PDM's "pdm/2.19.1".
var installers = [...]string{
	"pip", "uv", "poetry", "pdm", "pipenv", "pex", "conda", "setuptools", "distribute", "hatch", "rye", "pixi",
	"rattler", "bazel", "artifactory", "nexus", "devpi-server", "devpi",
}

// installerMaxLen is the length of the longest name in installers.
const installerMaxLen = len("devpi-server")

// bots are lower-case fragments of the user agents of crawlers that
// NotBots does not count (and that Installers, which counts few, does not
// either).
var bots = [...]string{"bot", "crawl", "spider", "slurp", "facebookexternalhit", "bingpreview", "mediapartners", "archive.org"}

// UserAgentKind is what a User-Agent says of its client, as far as
// Agents cares.
type UserAgentKind uint8

// The kinds.
const (
	// NoUserAgent: the log line has no user agent field (nginx's
	// "common" format, a JSON line without "user_agent"). Every selection
	// counts it, as before there was one.
	NoUserAgent UserAgentKind = iota
	// InstallerAgent: an installer or a caching proxy (installers).
	InstallerAgent
	// BotAgent: a crawler or a bot (bots).
	BotAgent
	// OtherAgent: anything else, an empty user agent included (browsers,
	// curl, HTTP libraries, full mirrors).
	OtherAgent
)

// KindOf returns the kind of a user agent. It does not allocate.
func KindOf[T string | []byte](ua T) UserAgentKind {
	switch {
	case isInstaller(ua):
		return InstallerAgent
	case isBot(ua):
		return BotAgent
	}
	return OtherAgent
}

// Counts reports whether a download by a client with this user agent
// counts. It does not allocate.
func (a Agents) Counts(ua string) bool { return a.CountsKind(KindOf(ua)) }

// CountsKind reports whether a download by a client of this kind counts.
func (a Agents) CountsKind(k UserAgentKind) bool {
	switch {
	case k == NoUserAgent:
		return true
	case a == NotBots:
		return k != BotAgent
	case a == Installers:
		return k == InstallerAgent
	}
	return true
}

// isInstaller reports whether the user agent's first product is an
// installer's.
func isInstaller[T string | []byte](ua T) bool {
	// The name ends at the first '/' or ' ', within the length of the
	// longest installer name (user agents can be long).
	end := 0
	for end < len(ua) && end <= installerMaxLen && ua[end] != '/' && ua[end] != ' ' {
		end++
	}
	if end > installerMaxLen {
		return false
	}
	for _, n := range installers {
		if len(n) == end && hasPrefixFold(ua, n) {
			return true
		}
	}
	return false
}

// isBot reports whether the user agent names a crawler or a bot.
func isBot[T string | []byte](ua T) bool {
	for _, b := range bots {
		for i := 0; i+len(b) <= len(ua); i++ {
			if hasPrefixFold(ua[i:], b) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with prefix (lower-case ASCII),
// in any case, without allocating.
func hasPrefixFold[T string | []byte](s T, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
	}
	return true
}

// clientKey is a client address as the per-address limit sees it: an
// IPv4 address, the /64 of an IPv6 address, or, when the log holds
// something else (a host name), that text.
type clientKey struct {
	ip   [16]byte
	text string
}

// hash returns a hash of the client and a project under seed, without
// allocating.
func (k clientKey) hash(seed maphash.Seed, project int64) uint64 {
	if k.text != "" {
		return maphash.String(seed, k.text) ^ uint64(project)*0x9e3779b97f4a7c15
	}
	var b [24]byte
	copy(b[:16], k.ip[:])
	binary.LittleEndian.PutUint64(b[16:], uint64(project))
	return maphash.Bytes(seed, b[:])
}

// clientOf returns the key of a client address ("" or "-": none). It
// takes an address with or without a port.
func clientOf(addr string) (clientKey, bool) {
	addr = strings.TrimSpace(addr)
	if addr == "" || addr == "-" {
		return clientKey{}, false
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(addr)
		if err2 != nil {
			return clientKey{text: addr}, true
		}
		ip = ap.Addr()
	}
	return clientKey{ip: ratelimit.ClientNetwork(ip).As16()}, true
}
