package readme

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file parses reStructuredText into a tree of blocks; rst_inline.go
// reads the text inside them and rst_html.go writes the HTML.
//
// PyPI renders descriptions with docutils (through readme_renderer 37,
// docutils 0.19) and stops at the first message of level WARNING or
// above: a description on which docutils would warn is refused at upload.
// The parser reports the same messages (an *RSTError), with docutils'
// wording, for every construct it reads; the directives docutils knows
// but this renderer does not show (meta, sectnum, header, footer, title,
// default-role, target-notes) are accepted and leave nothing, as the
// fragment PyPI shows mostly does. Its work is linear in the input times
// the nesting depth, bounded by MaxNesting and a total budget (beyond
// them: shown as plain text, not refused). TestRSTCorpus and
// scripts/rst-verdicts.py keep it honest against readme_renderer.

// RSTError says why PyPI would refuse to render a reStructuredText
// description: the first message docutils would report at level WARNING
// or above, and the line it concerns (1-based).
type RSTError struct {
	Line int
	Msg  string
}

func (e *RSTError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// errTooDeep stops a parse nested deeper than MaxNesting.
type errTooDeep struct{}

// kind is the kind of an rst block.
type kind int

const (
	kSection kind = iota
	kTitle        // a section title, before sections are built (level in n)
	kParagraph
	kBullet
	kEnum
	kItem
	kDefList
	kDefItem // text: the term; children: the definition
	kFieldList
	kField // text: the name; children: the body
	kOptionList
	kOption // text: the options; children: the description
	kLiteral
	kDoctest
	kQuote
	kLineBlock
	kTransition
	kTable
	kImage
	kFigure
	kAdmonition
	kTopic
	kContainer
	kRubric
	kContents
	kFootnote
	kTarget // an internal target before an element: id in id
	kHidden // an external target or a substitution definition: no output
)

// block is a node of the parsed document.
type block struct {
	kind     kind
	line     int      // 1-based line of its start
	text     string   // inline text (paragraph, title, term), or literal text
	lines    []string // the lines of a line block
	children []*block
	n        int    // section level; first number of an enumerated list
	style    string // list enumeration type, admonition type, code language
	id       string // section id, footnote label
	title    string // admonition/topic title (inline), figure caption
	img      *image
	scope    *block    // the section holding a local table of contents
	rows     [][]*cell // table rows
	headRows int       // how many rows are the header
	classes  string
}

// image is an image or figure's picture.
type image struct {
	src, alt, target, width, height, align string
	targetRef                              string // :target: name_ (a reference)
}

// cell is a table cell.
type cell struct {
	colspan, rowspan int
	body             []*block
}

// doc is the state of a parse: its targets and messages.
type doc struct {
	err *RSTError

	targets     map[string]*target // by normalized name
	anonTargets []string           // anonymous target URLs (or "name_" references)
	subs        map[string]*subst
	footnotes   map[string]*footnote // by label
	autoNotes   []*footnote          // [#] and [#name] footnotes, in order
	citations   map[string]*footnote
	roles       map[string]string // roles defined with the role directive, to a base role
	styles      []string          // section title styles in order of appearance
	ids         map[string]bool
	idSeq       int      // the last number of an id made up
	sections    []*block // every section, in order, for contents
	noteCount   int
	work        int      // lines handled: bounds the total work
	top         []*block // the document's blocks, for contents

	refs     []pendingRef // named references, checked after collecting
	anonRefs int          // anonymous references
	anonNext int          // the next anonymous target to use
	autoRefs int          // [#]_ references
	autoNext int          // the next auto-numbered footnote to use
}

// target is a hyperlink target: an external URL, a reference to another
// target, or an element of the document.
type target struct {
	url      string
	ref      string // indirect: the name of another target
	id       string // internal: the element's id
	implicit bool   // a section title
	dup      bool   // an implicit name given twice: no longer a target
	line     int
	// href is where an indirect target leads, once resolved; visiting
	// marks the targets of the chain being resolved, to find a cycle.
	href     string
	visiting bool
}

// subst is a substitution definition.
type subst struct {
	text string // replacement text (inline)
	img  *image
	line int
}

// footnote is a footnote or citation.
type footnote struct {
	label string // its number or name as shown
	id    string
	refs  int
	body  []*block
}

// fail records the first error.
func (d *doc) fail(line int, format string, args ...any) {
	if d.err == nil {
		d.err = &RSTError{Line: line, Msg: fmt.Sprintf(format, args...)}
	}
}

// maxRSTWork bounds the lines the parser handles, counting each line once
// at every depth it is read at.
const maxRSTWork = 4 << 20

// parseRST parses src into blocks, returning the document state.
func parseRST(src string) (blocks []*block, d *doc, tooDeep bool) {
	d = &doc{
		targets:   map[string]*target{},
		subs:      map[string]*subst{},
		footnotes: map[string]*footnote{},
		citations: map[string]*footnote{},
		roles:     map[string]string{},
		ids:       map[string]bool{},
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errTooDeep); !ok {
				panic(r)
			}
			tooDeep = true
		}
	}()
	lines := splitLines(src)
	p := &rstParser{d: d}
	flat := p.body(lines, 1, 0)
	blocks = d.sectionize(flat)
	d.top = blocks
	return blocks, d, false
}

// splitLines splits src into lines as docutils reads them: tabs expanded
// to 8 columns, other white space to spaces, trailing spaces removed.
func splitLines(src string) []string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	raw := strings.Split(src, "\n")
	for i, l := range raw {
		if strings.ContainsAny(l, "\t\v\f") {
			var b strings.Builder
			col := 0
			for _, r := range l {
				switch r {
				case '\t':
					n := 8 - col%8
					b.WriteString(strings.Repeat(" ", n))
					col += n
				case '\v', '\f':
					b.WriteByte(' ')
					col++
				default:
					b.WriteRune(r)
					col++
				}
			}
			l = b.String()
		}
		raw[i] = strings.TrimRight(l, " ")
	}
	for len(raw) > 0 && raw[len(raw)-1] == "" {
		raw = raw[:len(raw)-1]
	}
	return raw
}

// rstParser reads blocks.
type rstParser struct {
	d     *doc
	depth int
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// indented returns the lines of lines from start that are blank or
// indented (at least min columns when min > 0), dropping trailing blank
// lines, and the index after them.
func indented(lines []string, start int) (block []string, end int) {
	end = start
	for end < len(lines) && (lines[end] == "" || indentOf(lines[end]) > 0) {
		end++
	}
	last := end
	for last > start && lines[last-1] == "" {
		last--
	}
	return lines[start:last], end
}

// dedent removes the common indentation of lines.
func dedent(lines []string) []string {
	min := -1
	for _, l := range lines {
		if l == "" {
			continue
		}
		if n := indentOf(l); min < 0 || n < min {
			min = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= min && min > 0 {
			out[i] = l[min:]
		} else {
			out[i] = strings.TrimLeft(l, " ")
		}
	}
	return out
}

// dedentBy removes n columns (at most the line's indentation) from each
// line.
func dedentBy(lines []string, n int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		k := min(n, indentOf(l))
		out[i] = l[k:]
	}
	return out
}

var (
	bulletRE    = regexp.MustCompile(`^([-+*\x{2022}\x{2023}\x{2043}])( +|$)`)
	enumRE      = regexp.MustCompile(`^(\(?)([0-9]+|[a-zA-Z]|[ivxlcdmIVXLCDM]+|#)([.)])( +|$)`)
	optionRE    = regexp.MustCompile(`^((?:-[a-zA-Z0-9]|--[a-zA-Z0-9][a-zA-Z0-9_-]*|/[a-zA-Z0-9])(?:[ =](?:<[^<>]+>|[a-zA-Z][a-zA-Z0-9_-]*))?(?:, (?:-[a-zA-Z0-9]|--[a-zA-Z0-9][a-zA-Z0-9_-]*|/[a-zA-Z0-9])(?:[ =](?:<[^<>]+>|[a-zA-Z][a-zA-Z0-9_-]*))?)*)(  +|$)`)
	gridTopRE   = regexp.MustCompile(`^\+-[-+]*-\+$`)
	simpleTopRE = regexp.MustCompile(`^=+( +=+)+$`)
	explicitRE  = regexp.MustCompile(`^\.\.( +|$)`)
	anonRE      = regexp.MustCompile(`^__( +|$)`)
)

// fieldMarker reads the field marker ":name: " at the start of l,
// returning the name and the marker's length (0 if l has none). The name
// neither starts nor ends with a space; a colon inside it is followed by
// neither a space nor a backquote.
func fieldMarker(l string) (string, int) {
	if len(l) < 3 || l[0] != ':' || l[1] == ' ' || l[1] == ':' {
		return "", 0
	}
	for k := 1; k < len(l); k++ {
		switch l[k] {
		case '\\':
			k++
		case ':':
			if k+1 < len(l) && l[k+1] == '`' {
				return "", 0
			}
			if k+1 < len(l) && l[k+1] != ' ' {
				continue
			}
			if l[k-1] == ' ' && !escaped(l, k-1) {
				return "", 0
			}
			n := k + 1
			for n < len(l) && l[n] == ' ' {
				n++
			}
			return l[1:k], n
		}
	}
	return "", 0
}

// isField reports whether l starts with a field marker.
func isField(l string) bool {
	_, n := fieldMarker(l)
	return n > 0
}

// isPunctLine reports whether l is a line of one repeated punctuation
// character (a title adornment or transition).
func isPunctLine(l string) bool {
	if l == "" || l[0] > 0x7e || !isPunct(l[0]) {
		return false
	}
	return strings.Count(l, l[:1]) == len(l)
}

func isPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

// width is the display width of a title (one column a character; wide
// East Asian characters are rare enough in titles to be ignored).
func width(s string) int { return utf8.RuneCountInString(s) }

// body parses lines (the content of a document, section or nested
// element, left-aligned) starting at line number lineno.
func (p *rstParser) body(lines []string, lineno int, depth int) []*block {
	if depth > MaxNesting {
		panic(errTooDeep{})
	}
	p.d.work += len(lines)
	if p.d.work > maxRSTWork {
		panic(errTooDeep{})
	}
	var out []*block
	i := 0
	// ends checks that the construct ending at i is followed by a blank
	// line or the end.
	ends := func(what string) {
		if p.d.err == nil && unblanked(lines, i) {
			p.d.fail(lineno+i, "%s ends without a blank line; unexpected unindent.", what)
		}
	}
	for i < len(lines) && p.d.err == nil {
		l := lines[i]
		ln := lineno + i
		switch {
		case l == "":
			i++
		case indentOf(l) > 0:
			blk, end := indented(lines, i)
			i = end
			b := &block{kind: kQuote, line: ln}
			b.children = p.body(dedent(blk), ln, depth+1)
			out = append(out, b)
			ends("Block quote")
		case bulletRE.MatchString(l):
			out = append(out, p.list(lines, &i, lineno, depth))
			ends("Bullet list")
		case p.isEnumItem(lines, i, ""):
			out = append(out, p.list(lines, &i, lineno, depth))
			ends("Enumerated list")
		case isField(l):
			out = append(out, p.fields(lines, &i, lineno, depth))
			ends("Field list")
		case optionRE.MatchString(l) && (l[0] == '-' || l[0] == '/'):
			out = append(out, p.options(lines, &i, lineno, depth)...)
			ends("Option list")
		case strings.HasPrefix(l, ">>>") && (len(l) == 3 || l[3] == ' '):
			j := i
			for j < len(lines) && lines[j] != "" {
				j++
			}
			out = append(out, &block{kind: kDoctest, line: ln, text: strings.Join(lines[i:j], "\n")})
			i = j
		case l == "|" || strings.HasPrefix(l, "| "):
			out = append(out, p.lineBlock(lines, &i, lineno))
			ends("Line block")
		case gridTopRE.MatchString(l):
			out = append(out, p.gridTable(lines, &i, lineno, depth))
			if p.d.err == nil && unblanked(lines, i) {
				p.d.fail(lineno+i, "Blank line required after table.")
			}
		case simpleTopRE.MatchString(l):
			out = append(out, p.simpleTable(lines, &i, lineno, depth))
			if p.d.err == nil && unblanked(lines, i) {
				p.d.fail(lineno+i, "Blank line required after table.")
			}
		case explicitRE.MatchString(l) || anonRE.MatchString(l):
			if b := p.explicit(lines, &i, lineno, depth); b != nil {
				out = append(out, b)
			}
			if i < len(lines) && (explicitRE.MatchString(lines[i]) || anonRE.MatchString(lines[i])) {
				continue // explicit markup may follow explicit markup
			}
			ends("Explicit markup")
		case isPunctLine(l):
			if b := p.overline(lines, &i, lineno, depth); b != nil {
				out = append(out, b)
			} else if p.d.err == nil {
				out = append(out, p.text(lines, &i, lineno, depth)...)
			}
		default:
			out = append(out, p.text(lines, &i, lineno, depth)...)
		}
	}
	return out
}

// overline reads a title with an overline, or a transition, at lines[*i];
// nil means the line is ordinary text.
func (p *rstParser) overline(lines []string, i *int, lineno, depth int) *block {
	l := lines[*i]
	ln := lineno + *i
	next := ""
	if *i+1 < len(lines) {
		next = lines[*i+1]
	}
	if next == "" {
		if len(l) < 4 {
			return nil
		}
		*i++
		if depth > 0 {
			p.d.fail(ln, "Unexpected section title or transition.")
		}
		return &block{kind: kTransition, line: ln}
	}
	if strings.TrimSpace(l) == "::" {
		return nil
	}
	// An overlined title: overline, title, underline.
	// A short overline (under 4 characters) that is not one is text.
	if *i+2 >= len(lines) || !isPunctLine(lines[*i+2]) {
		if len(l) < 4 {
			return nil
		}
		p.d.fail(ln, "Missing matching underline for section title overline.")
		return nil
	}
	title := strings.TrimSpace(next)
	under := lines[*i+2]
	if under != l {
		if len(l) < 4 {
			return nil
		}
		p.d.fail(ln, "Title overline & underline mismatch.")
		return nil
	}
	if width(next) > len(l) { // leading spaces count
		if len(l) < 4 {
			return nil
		}
		p.d.fail(ln, "Title overline too short.")
		return nil
	}
	*i += 3
	if depth > 0 {
		p.d.fail(ln, "Unexpected section title.")
		return nil
	}
	return &block{kind: kTitle, line: ln, text: title, style: "o" + l[:1]}
}

// text reads a paragraph, a title with an underline, or a definition list
// at lines[*i].
func (p *rstParser) text(lines []string, i *int, lineno, depth int) []*block {
	ln := lineno + *i
	first := lines[*i]
	if *i+1 < len(lines) {
		next := lines[*i+1]
		switch {
		case isPunctLine(next) && next != "::":
			if width(strings.TrimSpace(first)) > len(next) {
				if len(next) < 4 {
					break // ordinary text
				}
				p.d.fail(ln+1, "Title underline too short.")
				return nil
			}
			*i += 2
			if depth > 0 {
				p.d.fail(ln, "Unexpected section title.")
				return nil
			}
			return []*block{{kind: kTitle, line: ln, text: strings.TrimSpace(first), style: "u" + next[:1]}}
		case next != "" && indentOf(next) > 0:
			return []*block{p.defList(lines, i, lineno, depth)}
		}
	}
	j := *i
	for j < len(lines) && lines[j] != "" && (j == *i || indentOf(lines[j]) == 0) {
		j++
	}
	para := lines[*i:j]
	*i = j
	if j < len(lines) && lines[j] != "" {
		p.d.fail(lineno+j, "Unexpected indentation.")
		return nil
	}
	// A paragraph ending in "::" introduces a literal block.
	text := strings.Join(para, "\n")
	out := []*block{}
	if strings.HasSuffix(text, "::") && !strings.HasSuffix(text, `\::`) {
		switch {
		case strings.TrimSpace(text) == "::":
			text = ""
		case strings.HasSuffix(text, " ::") || strings.HasSuffix(text, "\n::"):
			text = strings.TrimRight(text[:len(text)-2], " \n")
		default:
			text = text[:len(text)-1]
		}
		if text != "" {
			out = append(out, &block{kind: kParagraph, line: ln, text: text})
		}
		for *i < len(lines) && lines[*i] == "" {
			*i++
		}
		if *i < len(lines) && indentOf(lines[*i]) > 0 {
			blk, end := indented(lines, *i)
			out = append(out, &block{kind: kLiteral, line: lineno + *i, text: strings.Join(dedent(blk), "\n")})
			*i = end
			if unblanked(lines, *i) {
				p.d.fail(lineno+*i, "Literal block ends without a blank line; unexpected unindent.")
			}
			return out
		}
		// A quoted literal block: unindented lines that all start with
		// the same punctuation character.
		if *i < len(lines) && isPunct(lines[*i][0]) {
			c := lines[*i][0]
			j := *i
			for j < len(lines) && lines[j] != "" && lines[j][0] == c {
				j++
			}
			if j == len(lines) || lines[j] == "" {
				out = append(out, &block{kind: kLiteral, line: lineno + *i, text: strings.Join(lines[*i:j], "\n")})
				*i = j
				return out
			}
		}
		p.d.fail(lineno+*i, "Literal block expected; none found.")
		return out
	}
	return append(out, &block{kind: kParagraph, line: ln, text: text})
}

// defList reads a definition list.
func (p *rstParser) defList(lines []string, i *int, lineno, depth int) *block {
	dl := &block{kind: kDefList, line: lineno + *i}
	for *i+1 < len(lines) && lines[*i] != "" && indentOf(lines[*i]) == 0 && lines[*i+1] != "" && indentOf(lines[*i+1]) > 0 {
		term := lines[*i]
		ln := lineno + *i
		blk, end := indented(lines, *i+1)
		item := &block{kind: kDefItem, line: ln, text: term}
		if t, c, ok := strings.Cut(term, " : "); ok {
			item.text, item.title = t, c
		}
		item.children = p.body(dedent(blk), ln+1, depth+1)
		dl.children = append(dl.children, item)
		*i = end
		if p.d.err != nil {
			return dl
		}
		if unblanked(lines, *i) && (isStructural(lines[*i]) || !(*i+1 < len(lines) && lines[*i+1] != "" && indentOf(lines[*i+1]) > 0)) {
			p.d.fail(lineno+*i, "Definition list ends without a blank line; unexpected unindent.")
			return dl
		}
		if *i+1 >= len(lines) || isStructural(lines[*i]) {
			break
		}
	}
	return dl
}

// unblanked reports whether the construct ending before lines[i] is
// followed by more text without a blank line between.
func unblanked(lines []string, i int) bool {
	return i > 0 && i < len(lines) && lines[i-1] != "" && lines[i] != ""
}

// isStructural reports whether l starts some block other than a paragraph
// (which would end a definition list).
func isStructural(l string) bool {
	return bulletRE.MatchString(l) || enumRE.MatchString(l) || isField(l) || optionRE.MatchString(l) && (l[0] == '-' || l[0] == '/') ||
		strings.HasPrefix(l, ">>>") || l == "|" || strings.HasPrefix(l, "| ") ||
		explicitRE.MatchString(l) || anonRE.MatchString(l) || gridTopRE.MatchString(l) || simpleTopRE.MatchString(l) || isPunctLine(l)
}

// itemBody returns the body of a list item whose marker and following
// spaces take n columns of lines[*i], advancing *i past it.
func (p *rstParser) itemBody(lines []string, i *int, n, lineno, depth int) []*block {
	first := lines[*i]
	ln := lineno + *i
	rest := ""
	if n < len(first) {
		rest = first[n:]
	}
	if rest == "" {
		// The least indented line of the body sets its indentation.
		blk, end := indented(lines, *i+1)
		*i = end
		return p.body(dedent(blk), ln+1, depth+1)
	}
	// Text after the marker sets the indentation: a line indented less
	// ends the item.
	end := *i + 1
	for end < len(lines) && (lines[end] == "" || indentOf(lines[end]) >= n) {
		end++
	}
	last := end
	for last > *i+1 && lines[last-1] == "" {
		last--
	}
	blk := lines[*i+1 : last]
	*i = end
	return p.body(append([]string{rest}, dedentBy(blk, n)...), ln, depth+1)
}

// list reads a bullet or enumerated list at lines[*i].
func (p *rstParser) list(lines []string, i *int, lineno, depth int) *block {
	first := lines[*i]
	if m := bulletRE.FindStringSubmatch(first); m != nil {
		bullet := m[1]
		b := &block{kind: kBullet, line: lineno + *i}
		for *i < len(lines) && p.d.err == nil {
			m := bulletRE.FindStringSubmatch(lines[*i])
			if m == nil || m[1] != bullet {
				break
			}
			ln := lineno + *i
			item := &block{kind: kItem, line: ln}
			item.children = p.itemBody(lines, i, len(m[0]), lineno, depth)
			b.children = append(b.children, item)
		}
		return b
	}
	m := enumRE.FindStringSubmatch(first)
	format := m[1] + "#" + m[3]
	typ, start := enumType(m[2], "")
	b := &block{kind: kEnum, line: lineno + *i, n: start, style: typ}
	want := start
	for *i < len(lines) && p.d.err == nil {
		m := enumRE.FindStringSubmatch(lines[*i])
		if m == nil || m[1]+"#"+m[3] != format || !p.isEnumItem(lines, *i, typ) {
			break
		}
		t, n := enumType(m[2], typ)
		if len(b.children) > 0 && (t != typ || (m[2] != "#" && n != want)) {
			break // a new list (docutils says so at level INFO)
		}
		want = n + 1
		if m[2] == "#" {
			want = 0
		}
		item := &block{kind: kItem, line: lineno + *i}
		item.children = p.itemBody(lines, i, len(m[0]), lineno, depth)
		b.children = append(b.children, item)
	}
	return b
}

// isEnumItem reports whether lines[i] starts an enumerated list item (in
// a list of type typ, "" for a new list): an enumerator followed by the
// end of the text, a blank or indented line, or the next enumerator
// ("#" or the next value, in the same format).
func (p *rstParser) isEnumItem(lines []string, i int, typ string) bool {
	m := enumRE.FindStringSubmatch(lines[i])
	if m == nil {
		return false
	}
	if m[1] == "(" && m[3] != ")" {
		return false
	}
	t, n := enumType(m[2], typ)
	if t == "" {
		return false
	}
	if i+1 >= len(lines) || lines[i+1] == "" || indentOf(lines[i+1]) > 0 {
		return true
	}
	next := lines[i+1]
	if strings.HasPrefix(next, m[1]+"#"+m[3]+" ") {
		return true
	}
	v := enumValue(t, n+1)
	return v != "" && strings.HasPrefix(next, m[1]+v+m[3]+" ")
}

// enumValue writes ordinal n in an enumeration type.
func enumValue(typ string, n int) string {
	switch typ {
	case "arabic":
		return strconv.Itoa(n)
	case "loweralpha", "upperalpha":
		if n > 26 {
			return ""
		}
		if typ == "loweralpha" {
			return string(rune('a' + n - 1))
		}
		return string(rune('A' + n - 1))
	case "lowerroman":
		return strings.ToLower(toRoman(n))
	case "upperroman":
		return toRoman(n)
	}
	return ""
}

// enumType returns the type of an enumerator (arabic, loweralpha,
// upperalpha, lowerroman, upperroman) and its value; prev is the type
// of the list so far ("i" is roman in a roman list, else alphabetic).
func enumType(s, prev string) (string, int) {
	if s == "#" {
		if prev == "" {
			prev = "arabic"
		}
		return prev, 1
	}
	if s[0] >= '0' && s[0] <= '9' {
		n := 0
		for _, c := range s {
			n = n*10 + int(c-'0')
			if n > 1<<20 {
				return "", 0
			}
		}
		return "arabic", n
	}
	if len(s) == 1 && !(s == "i" || s == "I") || (len(s) == 1 && prev != "" && !strings.HasSuffix(prev, "roman")) {
		if s[0] >= 'a' {
			return "loweralpha", int(s[0]-'a') + 1
		}
		return "upperalpha", int(s[0]-'A') + 1
	}
	n := roman(strings.ToUpper(s))
	if n == 0 {
		return "", 0
	}
	if s[0] >= 'a' {
		return "lowerroman", n
	}
	return "upperroman", n
}

// roman is the value of a Roman numeral, 0 if s is not a canonical one.
func roman(s string) int {
	vals := map[byte]int{'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}
	n := 0
	for k := 0; k < len(s); k++ {
		v := vals[s[k]]
		if k+1 < len(s) && vals[s[k+1]] > v {
			n -= v
		} else {
			n += v
		}
	}
	if n <= 0 || n >= 4000 || toRoman(n) != s {
		return 0
	}
	return n
}

func toRoman(n int) string {
	var b strings.Builder
	for _, p := range []struct {
		v int
		s string
	}{{1000, "M"}, {900, "CM"}, {500, "D"}, {400, "CD"}, {100, "C"}, {90, "XC"}, {50, "L"}, {40, "XL"}, {10, "X"}, {9, "IX"}, {5, "V"}, {4, "IV"}, {1, "I"}} {
		for n >= p.v {
			b.WriteString(p.s)
			n -= p.v
		}
	}
	return b.String()
}

// fields reads a field list.
func (p *rstParser) fields(lines []string, i *int, lineno, depth int) *block {
	b := &block{kind: kFieldList, line: lineno + *i}
	for *i < len(lines) && p.d.err == nil {
		name, n := fieldMarker(lines[*i])
		if n == 0 {
			break
		}
		f := &block{kind: kField, line: lineno + *i, text: name}
		first := lines[*i][n:]
		ln := lineno + *i
		blk, end := indented(lines, *i+1)
		*i = end
		body := dedent(blk)
		if first != "" {
			body = append([]string{first}, body...)
			f.children = p.body(body, ln, depth+1)
		} else {
			f.children = p.body(body, ln+1, depth+1)
		}
		b.children = append(b.children, f)
	}
	return b
}

// options reads an option list (or, when the line is not an option list
// item after all, a paragraph).
func (p *rstParser) options(lines []string, i *int, lineno, depth int) []*block {
	b := &block{kind: kOptionList, line: lineno + *i}
	for *i < len(lines) && p.d.err == nil {
		l := lines[*i]
		m := optionRE.FindStringSubmatch(l)
		if m == nil || !(l[0] == '-' || l[0] == '/') {
			break
		}
		o := &block{kind: kOption, line: lineno + *i, text: m[1]}
		first := strings.TrimSpace(l[len(m[0]):])
		ln := lineno + *i
		blk, end := indented(lines, *i+1)
		if first == "" && len(blk) == 0 {
			break // not an option list item: docutils reads it as text
		}
		*i = end
		body := dedent(blk)
		if first != "" {
			body = append([]string{first}, body...)
		}
		o.children = p.body(body, ln, depth+1)
		b.children = append(b.children, o)
	}
	if len(b.children) == 0 {
		return p.text(lines, i, lineno, depth)
	}
	return []*block{b}
}

// lineBlock reads a line block.
func (p *rstParser) lineBlock(lines []string, i *int, lineno int) *block {
	b := &block{kind: kLineBlock, line: lineno + *i}
	for *i < len(lines) {
		l := lines[*i]
		switch {
		case l == "|" || strings.HasPrefix(l, "| "):
			b.lines = append(b.lines, strings.TrimPrefix(strings.TrimPrefix(l, "|"), " "))
		case l != "" && indentOf(l) > 0 && len(b.lines) > 0:
			b.lines[len(b.lines)-1] += "\n" + strings.TrimSpace(l)
		default:
			return b
		}
		*i++
	}
	return b
}

// sectionize turns the flat list of top-level blocks, titles among them,
// into nested sections, and applies docutils' doctitle and subtitle
// transforms.
func (d *doc) sectionize(flat []*block) []*block {
	if d.err != nil {
		return nil
	}
	root := &block{kind: kSection, n: 0}
	stack := []*block{root}
	for _, b := range flat {
		if b.kind != kTitle {
			top := stack[len(stack)-1]
			top.children = append(top.children, b)
			if b.kind == kContents {
				b.scope = root // the whole document
				if b.style == "local" {
					b.scope = top
				}
			}
			continue
		}
		level := -1
		for k, s := range d.styles {
			if s == b.style {
				level = k + 1
			}
		}
		cur := len(stack) - 1
		if level < 0 {
			if len(d.styles) > cur {
				// A new style deeper than one below the current level.
				d.fail(b.line, "Title level inconsistent:")
				return nil
			}
			d.styles = append(d.styles, b.style)
			level = len(d.styles)
		}
		if level > cur+1 {
			d.fail(b.line, "Title level inconsistent:")
			return nil
		}
		stack = stack[:level]
		s := &block{kind: kSection, line: b.line, n: level, title: b.text}
		name := plainTitle(b.text)
		s.id = d.makeID(name)
		if old, ok := d.targets[normName(name)]; !ok {
			d.targets[normName(name)] = &target{id: s.id, implicit: true, line: b.line}
		} else if old.implicit {
			old.dup = true
		}
		parent := stack[len(stack)-1]
		parent.children = append(parent.children, s)
		stack = append(stack, s)
		d.sections = append(d.sections, s)
	}
	if d.err != nil {
		return nil
	}
	// doctitle: a document whose only element (beside comments, targets
	// and substitution definitions, which leave no block here) is a
	// section is that section's content, its title the document's (not
	// part of the fragment PyPI shows); the same once more for a
	// subtitle.
	body := root.children
	if s, k := onlySection(body); s != nil {
		body = slices.Concat(body[:k], s.children)
		s.n = -1 // the title: not shown, not in contents
		if t, k := onlySection(body); t != nil {
			body = slices.Concat(body[:k], t.children)
			t.n = -1
		}
	}
	d.subtitles(body)
	d.transitions(body, true)
	return body
}

// plainTitle is a title's text without its inline markup characters, the
// name of its implicit target.
func plainTitle(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '*', '`', '|', '\\':
			return -1
		}
		return r
	}, s)
}

// onlySection returns the section of blocks when it is their last
// element and only targets and substitution definitions (which docutils
// leaves out of the count, with comments) come before it, and its index.
func onlySection(blocks []*block) (*block, int) {
	for k, b := range blocks {
		switch {
		case b.kind == kHidden || b.kind == kTarget:
		case b.kind == kSection && k == len(blocks)-1:
			return b, k
		default:
			return nil, 0
		}
	}
	return nil, 0
}

// transitions reports transitions where docutils refuses them: first in
// a document or section, after another, or last in the document (last
// tells whether blocks end the document: a transition ending a section
// moves after it).
func (d *doc) transitions(blocks []*block, last bool) {
	for k, b := range blocks {
		switch {
		case b.kind == kSection:
			d.transitions(b.children, last && k == len(blocks)-1)
		case b.kind != kTransition:
		case k == 0:
			d.fail(b.line, "Document or section may not begin with a transition.")
		case blocks[k-1].kind == kTransition:
			d.fail(b.line, "At least one body element must separate transitions; adjacent transitions are not allowed.")
		case k == len(blocks)-1 && last:
			d.fail(b.line, "Document may not end with a transition.")
		}
	}
}

// subtitles applies sectsubtitle_xform: a section whose only element is
// a section gets that one's title as its subtitle.
func (d *doc) subtitles(blocks []*block) {
	for _, b := range blocks {
		if b.kind != kSection {
			continue
		}
		if s, k := onlySection(b.children); s != nil {
			b.style = s.title // the subtitle
			b.children = slices.Concat(b.children[:k], s.children)
			s.n = -2
		}
		d.subtitles(b.children)
	}
}
