package readme

import (
	"fmt"
	"strings"
)

// goldmark is fast on ordinary Markdown, but some inputs take it time that
// grows with the square of their size or worse (measured on goldmark
// 1.8.7, 64 KiB of input each): blocks nested thousands deep ("> > > …",
// "- - - …", 3 s), a paragraph of thousands of mixed emphasis delimiters,
// unclosed link openers or link reference definitions ("*a_*a_…" 8 s,
// "[a](" 3.5 s; 100,000 definitions in one block took 27 s at 1 MiB), and
// a wide table whose header pads every later line to its width (1000
// columns and short lines: 47 s and 300 MB of HTML). A description is
// checked first, in one linear pass, against budgets that keep each of
// these cheap, and one that exceeds them is shown as plain text instead:
// no description ever costs more than a bounded amount of work (about a
// second for the worst megabyte, BenchmarkRenderWorstCase), and nothing
// needs to be interrupted.
const (
	// MaxNesting bounds the blocks a line may be nested in: block quote
	// and list markers at its start, and list items nested by
	// indentation (two columns a level).
	MaxNesting = 32
	// MaxNestingWork bounds the sum over all lines of the depth each is
	// read at: goldmark matches every open block against every line,
	// including the lazy continuation lines of a paragraph deep inside.
	MaxNestingWork = 2 << 20
	// MaxInlineWork bounds the work of matching the characters that open
	// or close inline elements (* _ ~ ` [ ] ( ) < > ! \ &): for every unit
	// goldmark parses inline (a paragraph, heading, list item line or
	// table row), the square of their number in it (nested brackets,
	// emphasis delimiters and link reference definitions are matched with
	// each other), and for every line, their number times its length (an
	// unclosed link makes goldmark look through the rest of the line).
	MaxInlineWork = 64 << 20
	// MaxTableCells bounds the cells of all tables together: every row
	// of a table has as many cells as its header, however short.
	MaxTableCells = 100_000
	// maxOutputBytes bounds the HTML a rendering may produce.
	maxOutputBytes = 16 << 20
)

// guard returns why goldmark must not render s (it exceeds one of the
// budgets above), or "". It is a single pass over s, which reads lines
// roughly the way CommonMark does: the container markers at the start of
// each line, top-level code fences and HTML blocks (whose lines are not
// parsed at all), and tables (a delimiter row under a header). Where it
// cannot tell, it counts: it may refuse some unusual Markdown, but never
// skips what goldmark parses.
func guard(s string) string {
	why, _ := scan(s)
	return why
}

// scan is guard, also returning its sums.
func scan(s string) (string, guardState) {
	var (
		g         guardState
		fence     byte // '`' or '~' inside a top-level fenced code block, else 0
		fenceLen  int
		html      bool // inside a top-level HTML block (until a blank line)
		comment   bool // inside a top-level HTML comment (until "-->")
		tableCols int  // columns of the current table, 0 outside one
		carry     int  // depth of the previous line, for lazy continuations
		prevText  bool // the previous line could be a table's header
		heading   bool // the previous line was a heading
	)
	for line := range lines(s) {
		// The lines of a top-level fence or HTML block are taken as they
		// are: no container markers, nothing inline.
		g.nesting++
		switch {
		case fence != 0:
			if closesFence(line, fence, fenceLen) {
				fence = 0
			}
			continue
		case comment:
			comment = !strings.Contains(line, "-->")
			continue
		case html:
			if isBlank(line) {
				html, carry, prevText = false, 0, false
			}
			continue
		}

		depth, listMarkers, indent, rest := containerPrefix(line)
		if listMarkers > 0 {
			// A list item nested by indentation: a level per two columns.
			depth += indent / 2
		}
		if depth > MaxNesting {
			return fmt.Sprintf("blocks nested more than %d deep", MaxNesting), g
		}
		blank := isBlank(rest)
		// A line without markers inside open blocks is read at their
		// depth: a lazy continuation, or an indented one.
		read := max(depth, indent/2)
		if !blank && depth == 0 {
			read = max(read, carry)
		}
		carry = read
		if blank {
			carry = 0
		}
		if g.nesting += read; g.nesting > MaxNestingWork {
			return fmt.Sprintf("more than %d lines × levels of nested blocks", MaxNestingWork), g
		}

		// A line at the very start of the line, without markers, is at
		// the top level (a fence or an HTML block cannot be a lazy
		// continuation): a fence or an HTML block starts there.
		if depth == 0 && indent == 0 {
			c, n := openingFence(rest)
			switch {
			case n > 0:
				fence, fenceLen = c, n
			case strings.HasPrefix(rest, "<!--"):
				comment = !strings.Contains(rest[4:], "-->")
			case isHTMLBlockStart(rest):
				html = true
			}
			if fence != 0 || comment || html || strings.HasPrefix(rest, "<!--") {
				g.endUnit()
				tableCols, prevText, heading = 0, false, false
				continue
			}
		}

		switch {
		case blank:
			g.endUnit()
			tableCols = 0
		case tableCols > 0:
			g.endUnit()
			g.cells += tableCols
		case prevText && isDelimiterRow(rest):
			g.endUnit()
			tableCols = countCells(rest)
			g.cells += 2 * tableCols // the header and this row
		case listMarkers > 0 || startsBlock(rest) || heading:
			g.endUnit()
		}
		if g.cells > MaxTableCells {
			return fmt.Sprintf("tables with more than %d cells", MaxTableCells), g
		}
		k := countDelimiters(rest)
		g.unit += k
		g.inline += k * len(rest)
		if g.inline+g.unit*g.unit > MaxInlineWork {
			return "too many markup characters (* _ ` [ ] ( ) < > …) in its paragraphs", g
		}
		heading = !blank && rest[0] == '#'
		prevText = !blank && tableCols == 0
	}
	g.endUnit()
	return "", g
}

// guardState holds guard's running sums.
type guardState struct {
	nesting int // depth of every line so far
	inline  int // inline work of the lines and finished units so far
	unit    int // delimiters of the current unit
	cells   int // cells of every table so far
}

// endUnit closes the current inline unit.
func (g *guardState) endUnit() {
	g.inline += g.unit * g.unit
	g.unit = 0
}

// blockTags are the HTML elements that start an HTML block (CommonMark's
// type 6), which goldmark does not parse inline.
var blockTags = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`address article aside base basefont blockquote body caption center col colgroup dd
		details dialog dir div dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header
		hr html iframe legend li link main menu menuitem meta nav noframes ol optgroup option p param search section
		summary table tbody td tfoot th thead title tr track ul`) {
		blockTags[t] = true
	}
}

// isHTMLBlockStart reports whether s starts an HTML block of CommonMark's
// type 6: "<" or "</", one of blockTags, then a space, ">", "/>" or the
// end of the line.
func isHTMLBlockStart(s string) bool {
	if !strings.HasPrefix(s, "<") {
		return false
	}
	s = s[1:]
	if strings.HasPrefix(s, "/") {
		s = strings.TrimLeft(s[1:], " ")
	}
	i := 0
	for i < len(s) && (isLetter(s[i]) || i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '-')) {
		i++
	}
	if i == 0 || !blockTags[strings.ToLower(s[:i])] {
		return false
	}
	rest := s[i:]
	return rest == "" || rest[0] == ' ' || rest[0] == '>' || strings.HasPrefix(rest, "/>")
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// lines yields the lines of s without their line endings.
func lines(s string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for s != "" {
			i := 0
			for i < len(s) && s[i] != '\n' {
				i++
			}
			line := s[:i]
			if i > 0 && line[i-1] == '\r' {
				line = line[:i-1]
			}
			if i < len(s) {
				i++
			}
			s = s[i:]
			if !yield(line) {
				return
			}
		}
	}
}

// containerPrefix reads the block quote and list markers that start a
// line: how many there are (depth), how many of them are list markers,
// the columns of white space among them, and the rest of the line.
func containerPrefix(line string) (depth, listMarkers, indent int, rest string) {
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			if line[i] == '\t' {
				indent += 4 - indent%4
			} else {
				indent++
			}
			i++
		}
		if i >= len(line) {
			return depth, listMarkers, indent, line[i:]
		}
		switch c := line[i]; {
		case c == '>':
			depth++
			i++
			continue
		case c == '-' || c == '+' || c == '*':
			if i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t' {
				depth++
				listMarkers++
				i++
				continue
			}
		case '0' <= c && c <= '9':
			j := i
			for j < len(line) && j-i < 10 && '0' <= line[j] && line[j] <= '9' {
				j++
			}
			if j-i < 10 && j < len(line) && (line[j] == '.' || line[j] == ')') &&
				(j+1 == len(line) || line[j+1] == ' ' || line[j+1] == '\t') {
				depth++
				listMarkers++
				i = j + 1
				continue
			}
		}
		return depth, listMarkers, indent, line[i:]
	}
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

// openingFence returns the character and length of a code fence that
// starts s (three or more '`' or '~'; a '`' fence has no '`' after it),
// or 0, 0.
func openingFence(s string) (byte, int) {
	if s == "" || (s[0] != '`' && s[0] != '~') {
		return 0, 0
	}
	n := fenceRun(s, s[0])
	if n < 3 || s[0] == '`' && strings.IndexByte(s[n:], '`') >= 0 {
		return 0, 0
	}
	return s[0], n
}

// closesFence reports whether line closes a fence of n characters c: at
// most three spaces, at least n of c, then only white space.
func closesFence(line string, c byte, n int) bool {
	i := 0
	for i < len(line) && i < 4 && line[i] == ' ' {
		i++
	}
	if i == 4 {
		return false
	}
	m := fenceRun(line[i:], c)
	return m >= n && isBlank(line[i+m:])
}

// fenceRun counts the c characters that start s.
func fenceRun(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// startsBlock reports whether s (a line without its container markers)
// starts a block of its own: a heading, or a table row.
func startsBlock(s string) bool {
	return s != "" && (s[0] == '#' || s[0] == '|')
}

// isDelimiterRow reports whether s is a table's delimiter row: only '|',
// '-', ':' and white space, with at least one '-' and one '|'.
func isDelimiterRow(s string) bool {
	dash, pipe := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '-':
			dash = true
		case '|':
			pipe = true
		case ':', ' ', '\t':
		default:
			return false
		}
	}
	return dash && pipe
}

// countCells counts the cells of a delimiter row: its runs of '-'.
func countCells(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' && (i == 0 || s[i-1] != '-') {
			n++
		}
	}
	return n
}

// countDelimiters counts the characters of s that open or close inline
// elements.
func countDelimiters(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '_', '~', '`', '[', ']', '(', ')', '<', '>', '!', '\\', '&':
			n++
		}
	}
	return n
}
