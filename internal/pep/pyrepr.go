package pep

import (
	"fmt"
	"strings"
	"unicode"
)

// PyRepr returns s as Python's repr() writes a str: in single quotes, or
// in double quotes when s holds a single quote and no double quote, with
// backslashes, the quote and non-printable characters escaped. PyPI's
// messages quote values this way ("'Foo :: Bar' is not a valid
// classifier."), so messages built with it match PyPI's byte for byte.
func PyRepr(s string) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar, r >= ' ' && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// PyList returns strs as Python's repr() writes a list of str:
// "['A', 'B']".
func PyList(strs []string) string {
	quoted := make([]string, len(strs))
	for i, s := range strs {
		quoted[i] = PyRepr(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
