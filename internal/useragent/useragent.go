// Package useragent tells people which device a User-Agent header names,
// in a few words: "Firefox 133 on Linux", "pip 24.0 on Linux", "Chrome
// on Android". The sessions page and the security history show it.
//
// A User-Agent is whatever the client sent: the functions here do bounded
// work on any input, never panic, and return short, printable, valid
// UTF-8 (which html/template then escapes as usual).
package useragent

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the work and of the answers.
const (
	// MaxInput is how much of a User-Agent is read; the rest is ignored.
	MaxInput = 1024
	// MaxSummary bounds the length of a summary, in bytes.
	MaxSummary = 64
	// maxProducts bounds the product tokens examined.
	maxProducts = 32
	// maxVersion bounds a version as shown.
	maxVersion = 16
	// maxName bounds the name of an unknown client as shown.
	maxName = 24
)

// Unknown is the summary of an empty User-Agent, or of one that names
// nothing printable.
const Unknown = "Unknown device"

// product is a product token of a User-Agent: "Firefox/133.0".
type product struct{ name, version string }

// parsed is a User-Agent split into its product tokens and the text of
// its comments ("(X11; Linux x86_64)").
type parsed struct {
	products []product
	comments string
	raw      string // the bounded input
}

// parse splits ua (at most MaxInput bytes of it) into products and
// comments. A comment may nest; an unclosed one runs to the end.
func parse(ua string) parsed {
	if len(ua) > MaxInput {
		ua = ua[:MaxInput]
	}
	p := parsed{raw: ua}
	var comments strings.Builder
	depth := 0
	for i := 0; i < len(ua); {
		c := ua[i]
		switch {
		case c == '(':
			depth++
			comments.WriteByte(' ')
			i++
		case c == ')':
			if depth > 0 {
				depth--
			}
			comments.WriteByte(';')
			i++
		case depth > 0:
			comments.WriteByte(c)
			i++
		case c == ' ' || c == '\t':
			i++
		default:
			j := i
			for j < len(ua) && ua[j] != ' ' && ua[j] != '\t' && ua[j] != '(' && ua[j] != ')' {
				j++
			}
			if len(p.products) < maxProducts {
				name, version, _ := strings.Cut(ua[i:j], "/")
				p.products = append(p.products, product{name, version})
			}
			i = j
		}
	}
	p.comments = comments.String()
	return p
}

// find returns the version of the first product named one of names.
func (p parsed) find(names ...string) (version string, ok bool) {
	for _, x := range p.products {
		for _, n := range names {
			if x.name == n {
				return x.version, true
			}
		}
	}
	return "", false
}

// browsers are tried in order: Edge, Opera and the others also call
// themselves Chrome and Safari, Chrome also calls itself Safari.
var browsers = []struct {
	name   string
	tokens []string
}{
	{"Edge", []string{"Edg", "EdgA", "EdgiOS", "Edge"}},
	{"Opera", []string{"OPR", "OPiOS"}},
	{"Samsung Internet", []string{"SamsungBrowser"}},
	{"Vivaldi", []string{"Vivaldi"}},
	{"Firefox", []string{"Firefox", "FxiOS"}},
	{"Headless Chrome", []string{"HeadlessChrome"}},
	{"Chrome", []string{"CriOS", "Chrome"}},
	{"Chromium", []string{"Chromium"}},
}

// systems are tried in order on a browser's comments: Android says
// Linux too, iOS says Mac OS X.
var systems = []struct{ marker, name string }{
	{"Android", "Android"},
	{"iPhone", "iOS"},
	{"iPod", "iOS"},
	{"iPad", "iPadOS"},
	{"CrOS", "ChromeOS"},
	{"Windows", "Windows"},
	{"Macintosh", "macOS"},
	{"Mac OS X", "macOS"},
	{"FreeBSD", "FreeBSD"},
	{"OpenBSD", "OpenBSD"},
	{"NetBSD", "NetBSD"},
	{"Linux", "Linux"},
	{"X11", "Linux"},
}

// tools are the clients of a package index and other programs, by their
// product token (the first one).
var tools = map[string]string{
	"pip":              "pip",
	"uv":               "uv",
	"twine":            "twine",
	"poetry":           "Poetry",
	"pdm":              "PDM",
	"hatch":            "Hatch",
	"rye":              "Rye",
	"pipenv":           "Pipenv",
	"pex":              "pex",
	"bandersnatch":     "bandersnatch",
	"devpi-server":     "devpi",
	"python-requests":  "Python requests",
	"python-httpx":     "Python httpx",
	"Python-urllib":    "Python urllib",
	"aiohttp":          "aiohttp",
	"curl":             "curl",
	"Wget":             "Wget",
	"Go-http-client":   "Go HTTP client",
	"okhttp":           "OkHttp",
	"Java":             "Java",
	"PostmanRuntime":   "Postman",
	"insomnia":         "Insomnia",
	"Microsoft-WebDAV": "WebDAV",
}

// pythonSystems are the "system" names in the JSON that pip and uv append
// to their User-Agent.
var pythonSystems = map[string]string{
	"Linux":   "Linux",
	"Windows": "Windows",
	"Darwin":  "macOS",
	"FreeBSD": "FreeBSD",
	"OpenBSD": "OpenBSD",
	"NetBSD":  "NetBSD",
}

// Summary names the client and system of a User-Agent in a few words:
// "Firefox 133 on Linux", "Safari 17 on iOS", "pip 24.0 on Linux",
// "curl 8.5.0"; an unknown client by its first product token, sanitised;
// Unknown when nothing is left. The answer is at most MaxSummary bytes of
// printable UTF-8.
func Summary(ua string) string {
	p := parse(ua)
	if len(p.products) == 0 {
		return Unknown
	}
	if name, ok := tools[p.products[0].name]; ok {
		s := join(name, version(p.products[0].version, false))
		if sys := pythonSystem(p.raw); sys != "" {
			s += " on " + sys
		}
		return bound(s)
	}
	var s string
	for _, b := range browsers {
		if v, ok := p.find(b.tokens...); ok {
			s = join(b.name, version(v, true))
			break
		}
	}
	if s == "" {
		if v, ok := p.find("Safari"); ok {
			if vv, ok := p.find("Version"); ok {
				v = vv
			} else {
				v = "" // Safari/605.1.15 is WebKit's build, not Safari's version
			}
			s = join("Safari", version(v, true))
		}
	}
	if s == "" && p.products[0].name != "Mozilla" {
		name := clean(p.products[0].name, maxName)
		if name == "" {
			return Unknown
		}
		s = join(name, version(p.products[0].version, false))
	}
	if sys := system(p.comments); sys != "" {
		if s == "" {
			return "Browser on " + sys
		}
		s += " on " + sys
	}
	if s == "" {
		return Unknown
	}
	return bound(s)
}

// system names the operating system a browser's comments name, or "".
func system(comments string) string {
	for _, x := range systems {
		if strings.Contains(comments, x.marker) {
			return x.name
		}
	}
	return ""
}

// pythonSystem reads the system's name from the JSON that pip and uv
// append to their User-Agent (…"system":{"name":"Linux",…), or "".
func pythonSystem(raw string) string {
	const key = `"system":{"name":"`
	_, rest, ok := strings.Cut(raw, key)
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, `"`)
	if !ok {
		return ""
	}
	return pythonSystems[name]
}

// version keeps what reads as a version: digits, letters, dots and a few
// separators, bounded; major keeps only the part before the first dot
// (browsers' minor versions say little, and Chrome's are zeros).
func version(v string, major bool) string {
	if major {
		v, _, _ = strings.Cut(v, ".")
	}
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < maxVersion; i++ {
		c := v[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '+' || c == '_' {
			b.WriteByte(c)
			continue
		}
		break
	}
	if b.Len() == 0 || b.String()[0] < '0' || b.String()[0] > '9' {
		return ""
	}
	return b.String()
}

// clean keeps the letters, digits and a few separators of an unknown
// client's name, bounded to n bytes.
func clean(name string, n int) string {
	var b strings.Builder
	for i := 0; i < len(name) && b.Len() < n; i++ {
		c := name[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func join(name, version string) string {
	if version == "" {
		return name
	}
	return name + " " + version
}

// bound cuts s to MaxSummary bytes (it is ASCII by construction).
func bound(s string) string {
	if len(s) > MaxSummary {
		return s[:MaxSummary]
	}
	return s
}

// Printable returns s without its control and format characters, line
// and paragraph separators (line breaks, bidirectional overrides and the
// like) and invalid UTF-8, cut to at most n bytes, with "…" when it was
// cut: a client's User-Agent or address as it may be shown raw (a title
// attribute, an email). At most 8n+64 bytes of s are read.
func Printable(s string, n int) string {
	if n <= 0 {
		return ""
	}
	const ellipsis = "…"
	cut := false
	if limit := 8*n + 64; len(s) > limit {
		s, cut = s[:limit], true
	}
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			continue
		}
		if len(b)+utf8.RuneLen(r) > n {
			cut = true
			break
		}
		b = utf8.AppendRune(b, r)
	}
	if !cut || n < len(ellipsis) {
		return string(b)
	}
	for len(b)+len(ellipsis) > n {
		_, size := utf8.DecodeLastRune(b)
		b = b[:len(b)-size]
	}
	return string(b) + ellipsis
}
