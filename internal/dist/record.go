package dist

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxRecordField is the longest field Python's csv module reads (its
// field_size_limit): a longer one makes the RECORD unreadable.
const maxRecordField = 131072

// memberDigest is what the wheel check measures of a file member.
type memberDigest struct {
	sha256 [sha256.Size]byte
	size   int64
	listed bool // named by a RECORD row
}

// recordRow is a parsed RECORD row: a path and, when given, its hash and
// size as written.
type recordRow struct {
	path, hash, size string
}

// parseRecord parses a wheel's RECORD as PyPI does: UTF-8 text split into
// lines like Python's str.splitlines, each line read as a CSV row of
// Python's default (excel) dialect, and the path's backslashes turned
// into slashes. Blank lines are skipped. It reports ok=false for a RECORD
// PyPI cannot read (invalid UTF-8, a field over 128 KiB), which PyPI
// refuses as missing. yield is called for each row in order and stops the
// parse when it returns false.
func parseRecord(data []byte, yield func(recordRow) bool) (ok bool) {
	if !utf8.Valid(data) {
		return false
	}
	s := string(data)
	for len(s) > 0 {
		line, rest := cutLine(s)
		s = rest
		fields, ok := csvFields(line)
		if !ok {
			return false
		}
		if len(fields) == 0 {
			continue
		}
		row := recordRow{path: strings.ReplaceAll(fields[0], `\`, "/")}
		if len(fields) > 1 {
			row.hash = fields[1]
		}
		if len(fields) > 2 {
			row.size = fields[2]
		}
		if !yield(row) {
			return true
		}
	}
	return true
}

// cutLine returns the first line of s and the rest, splitting where
// Python's str.splitlines does: at \n, \r, \r\n, \v, \f, \x1c, \x1d,
// \x1e, U+0085, U+2028 and U+2029.
func cutLine(s string) (line, rest string) {
	for i, r := range s {
		switch r {
		case '\r':
			if strings.HasPrefix(s[i+1:], "\n") {
				return s[:i], s[i+2:]
			}
			return s[:i], s[i+1:]
		case '\n', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
			return s[:i], s[i+utf8.RuneLen(r):]
		}
	}
	return s, ""
}

// csvFields splits one line into fields as Python's csv.reader does with
// the default dialect (comma, double quotes, doubled quotes inside quoted
// fields, not strict). An empty line has no fields.
func csvFields(line string) ([]string, bool) {
	if line == "" {
		return nil, true
	}
	const (
		startField = iota
		inField
		inQuoted
		quoteInQuoted
	)
	var fields []string
	var f strings.Builder
	state := startField
	save := func() bool {
		if f.Len() > maxRecordField {
			return false
		}
		fields = append(fields, f.String())
		f.Reset()
		return true
	}
	for _, r := range line {
		switch state {
		case startField:
			switch r {
			case '"':
				state = inQuoted
			case ',':
				if !save() {
					return nil, false
				}
			default:
				f.WriteRune(r)
				state = inField
			}
		case inField:
			if r == ',' {
				if !save() {
					return nil, false
				}
				state = startField
			} else {
				f.WriteRune(r)
			}
		case inQuoted:
			if r == '"' {
				state = quoteInQuoted
			} else {
				f.WriteRune(r)
			}
		case quoteInQuoted:
			switch r {
			case '"':
				f.WriteRune(r)
				state = inQuoted
			case ',':
				if !save() {
					return nil, false
				}
				state = startField
			default:
				f.WriteRune(r)
				state = inField
			}
		}
		if f.Len() > maxRecordField {
			return nil, false
		}
	}
	if !save() {
		return nil, false
	}
	return fields, true
}

// checkRecord compares a wheel's RECORD with its file members (by name;
// directories and the RECORD signatures RECORD.jws and RECORD.p7s in dir
// left out, as PyPI does) and returns the first mismatch, described for
// the uploader, or "" if none. Beyond PyPI, which compares names only,
// every sha256 hash and size given must be the member's. Other hash
// algorithms, and empty hashes and sizes, are not checked. order lists
// the members in archive order, to name the first unlisted one. readable
// is false if PyPI could not read the RECORD (see parseRecord).
func checkRecord(record []byte, members map[string]*memberDigest, order []string, dir string) (problem string, readable bool) {
	readable = parseRecord(record, func(r recordRow) bool {
		m := members[r.path]
		if m == nil {
			if isSignature(r.path, dir) {
				return true
			}
			problem = "RECORD lists '" + display(r.path) + "', which the wheel does not contain"
			return false
		}
		m.listed = true
		if algo, digest, ok := strings.Cut(r.hash, "="); ok && algo == "sha256" {
			want, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(digest, "="))
			if err != nil || string(want) != string(m.sha256[:]) {
				problem = "RECORD gives a wrong sha256 hash for '" + display(r.path) + "'"
				return false
			}
		}
		if r.size != "" {
			n, err := strconv.ParseInt(r.size, 10, 64)
			if err != nil || n != m.size {
				problem = "RECORD gives a wrong size for '" + display(r.path) + "' (" + display(r.size) +
					"; it has " + strconv.FormatInt(m.size, 10) + " bytes)"
				return false
			}
		}
		return true
	})
	if !readable || problem != "" {
		return problem, readable
	}
	for _, name := range order {
		if m := members[name]; !m.listed && !isSignature(name, dir) {
			return "RECORD does not list '" + display(name) + "'", true
		}
	}
	return "", true
}

// isSignature reports whether name is one of the RECORD signature files
// of the .dist-info directory dir, which RECORD cannot list.
func isSignature(name, dir string) bool {
	return name == dir+"/RECORD.jws" || name == dir+"/RECORD.p7s"
}
