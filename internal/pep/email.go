package pep

import (
	"slices"
	"strings"
	"unicode"
)

// singleAddress extracts the address from an Author-email or
// Maintainer-email value holding one address ("Name <a@b.org>" or
// "a@b.org"), as Python's email.utils.parseaddr does. A value with several
// comma-separated addresses gives no address (ok false): current Python
// (3.13, and the 3.12 security releases) parses such a value to nothing,
// so PyPI checks none of them.
func singleAddress(v string) (addr string, ok bool) {
	inQuote, depth := false, 0
	for _, r := range v {
		switch {
		case r == '"':
			inQuote = !inQuote
		case inQuote:
		case r == '<':
			depth++
		case r == '>':
			depth--
		case r == ',' && depth == 0:
			return "", false
		}
	}
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") {
		v = v[i+1 : len(v)-1]
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

// emailAtext are the characters, besides ASCII letters and digits, an
// unquoted local part may have (RFC 5322 atext).
const emailAtext = "!#$%&'*+-/=?^_`{|}~"

// emailProblem checks the syntax of an e-mail address as the
// email-validator library does for PyPI (without any deliverability
// check), and returns its message for the first problem found, or "". It
// covers the common mistakes: the @-sign, empty or dotted-wrong parts,
// characters outside those allowed, and a domain without a dot.
func emailProblem(addr string) string {
	if strings.Count(addr, "@") != 1 {
		return "The email address is not valid. It must have exactly one @-sign."
	}
	local, domain, _ := strings.Cut(addr, "@")
	switch {
	case local == "":
		return "There must be something before the @-sign."
	case domain == "":
		return "There must be something after the @-sign."
	}
	if bad := badChars(local, func(r rune) bool {
		return r < 0x80 && (isASCIIAlnum(byte(r)) || r == '.' || strings.ContainsRune(emailAtext, r)) ||
			r >= 0x80 && unicode.IsPrint(r) && !unicode.IsSpace(r)
	}); bad != "" {
		return "The email address contains invalid characters before the @-sign: " + bad + "."
	}
	switch {
	case strings.HasPrefix(local, "."):
		return "An email address cannot start with a period."
	case strings.HasSuffix(local, "."):
		return "An email address cannot have a period immediately before the @-sign."
	case strings.Contains(local, ".."):
		return "An email address cannot have two periods in a row."
	}
	if bad := badChars(domain, func(r rune) bool {
		return r < 0x80 && (isASCIIAlnum(byte(r)) || r == '.' || r == '-') || r >= 0x80 && unicode.IsLetter(r) || unicode.IsDigit(r)
	}); bad != "" {
		return "The part after the @-sign contains invalid characters: " + bad + "."
	}
	switch {
	case strings.HasPrefix(domain, "."):
		return "An email address cannot have a period immediately after the @-sign."
	case strings.HasSuffix(domain, "."):
		return "An email address cannot end with a period."
	case strings.Contains(domain, ".."):
		return "An email address cannot have two periods in a row."
	case !strings.Contains(domain, "."):
		return "The part after the @-sign is not valid. It should have a period."
	}
	return ""
}

// badChars lists, as email-validator does, the distinct characters of s
// that ok refuses, sorted and comma-separated: printable ones quoted, a
// space by its Unicode name ("SPACE"), others as Python escapes. It
// returns "" if ok accepts every character.
func badChars(s string, ok func(rune) bool) string {
	var bad []string
	for _, r := range s {
		switch {
		case ok(r):
		case r == ' ':
			bad = append(bad, "SPACE")
		default:
			bad = append(bad, PyRepr(string(r)))
		}
	}
	slices.Sort(bad)
	return strings.Join(slices.Compact(bad), ", ")
}
