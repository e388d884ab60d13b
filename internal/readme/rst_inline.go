package readme

import (
	"html/template"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// inliner reads the inline markup of one text. It runs twice over the
// document: first to collect the targets that inline markup defines
// (`text <url>`_) and count anonymous and footnote references, then to
// write the HTML.
type inliner struct {
	d         *doc
	collect   bool
	out       *strings.Builder
	line      int
	expanding []string // the substitutions being expanded
}

// isStartPrefix reports whether r may precede an inline start-string.
func isStartPrefix(r rune) bool {
	if unicode.IsSpace(r) || strings.ContainsRune(`-:/'"<([{`, r) {
		return true
	}
	return r > 0x7f && unicode.In(r, unicode.Ps, unicode.Pi, unicode.Pf, unicode.Pd, unicode.Po)
}

// isEndSuffix reports whether r may follow an inline end-string.
func isEndSuffix(r rune) bool {
	if unicode.IsSpace(r) || strings.ContainsRune(`-.,:;!?\/'")]}>`, r) {
		return true
	}
	return r > 0x7f && unicode.In(r, unicode.Pe, unicode.Pi, unicode.Pf, unicode.Pd, unicode.Po)
}

// closers maps an opening quote or bracket to its closer: a start-string
// between the two is not markup ("*", (*), '*').
var closers = map[rune]rune{'\'': '\'', '"': '"', '(': ')', '[': ']', '{': '}', '<': '>', '‘': '’', '“': '”', '«': '»', '’': '’', '”': '”'}

// runeBefore is the rune before s[i], or ' ' at the start.
func runeBefore(s string, i int) rune {
	if i == 0 {
		return ' '
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// runeAt is the rune at s[i], or ' ' at the end.
func runeAt(s string, i int) rune {
	if i >= len(s) {
		return ' '
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// escaped reports whether s[i] is escaped by an odd number of
// backslashes.
func escaped(s string, i int) bool {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// findEnd returns the index of the end-string end in s from i: preceded
// by a non-space character (not escaped unless literal), followed by an
// end suffix. -1 if none.
func findEnd(s string, from int, end string, literal bool) int {
	for k := from; k < len(s); {
		j := strings.Index(s[k:], end)
		if j < 0 {
			return -1
		}
		j += k
		if j > from && !unicode.IsSpace(runeBefore(s, j)) && (literal || !escaped(s, j)) && isEndSuffix(runeAt(s, j+len(end))) {
			return j
		}
		k = j + 1
	}
	return -1
}

// simpleName returns the length of the simple reference name at s[i:]:
// word characters with single internal - . _ + : between them.
func simpleName(s string, i int) int {
	k := i
	for {
		start := k
		for k < len(s) {
			r, n := utf8.DecodeRuneInString(s[k:])
			if r == '_' || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
				break
			}
			k += n
		}
		if k == start {
			if start == i {
				return 0
			}
			return start - 1 - i // drop the separator
		}
		if k < len(s) && strings.IndexByte("-._+:", s[k]) >= 0 {
			k++
			continue
		}
		return k - i
	}
}

// run reads s and writes its HTML.
func (in *inliner) run(s string) {
	if in.d.err != nil {
		return
	}
	textStart := 0
	flush := func(end int) {
		if textStart < end {
			in.implicit(s[textStart:end])
		}
	}
	for i := 0; i < len(s) && in.d.err == nil; {
		c := s[i]
		if c == '\\' {
			i += 2
			continue
		}
		if !strings.ContainsRune("*`_|[:", rune(c)) && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80) {
			i++
			continue
		}
		prev := runeBefore(s, i)
		if !isStartPrefix(prev) {
			i++
			continue
		}
		if n := in.markup(s, i, prev, flush); n > 0 {
			i += n
			textStart = i
			continue
		}
		if in.d.err != nil {
			return
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	flush(len(s))
}

// quoted reports whether the start-string at s[i:i+n] sits between an
// opener and its closer.
func quoted(s string, i, n int, prev rune) bool {
	c, ok := closers[prev]
	return ok && runeAt(s, i+n) == c
}

// markup reads the inline markup starting at s[i], returning its length
// (0: none there). flush writes the text before it.
func (in *inliner) markup(s string, i int, prev rune, flush func(int)) int {
	rest := s[i:]
	startOK := func(n int) bool {
		r := runeAt(s, i+n)
		return i+n < len(s) && !unicode.IsSpace(r) && !quoted(s, i, n, prev)
	}
	missing := func(what string) int {
		in.d.fail(in.line, "Inline %s start-string without end-string.", what)
		return 0
	}
	switch {
	case strings.HasPrefix(rest, "**"):
		if !startOK(2) {
			return 0
		}
		e := findEnd(s, i+2, "**", false)
		if e < 0 {
			return missing("strong")
		}
		flush(i)
		in.wrap("strong", s[i+2:e])
		return e + 2 - i
	case rest[0] == '*':
		if !startOK(1) {
			return 0
		}
		e := findEnd(s, i+1, "*", false)
		if e < 0 {
			return missing("emphasis")
		}
		flush(i)
		in.wrap("em", s[i+1:e])
		return e + 1 - i
	case strings.HasPrefix(rest, "``"):
		if !startOK(2) {
			return 0
		}
		e := findEnd(s, i+2, "``", true)
		if e < 0 {
			return missing("literal")
		}
		flush(i)
		in.literal(s[i+2 : e])
		return e + 2 - i
	case strings.HasPrefix(rest, "_`"):
		if !startOK(2) {
			return 0
		}
		e := findEnd(s, i+2, "`", false)
		if e < 0 {
			return missing("target")
		}
		flush(i)
		text := s[i+2 : e]
		name := normName(unescape(text))
		if in.collect {
			// An inline target is an explicit target of the text.
			in.d.addTarget(in.line, name, &target{id: in.d.makeID(name), line: in.line})
		} else if t := in.d.targets[name]; t != nil && t.id != "" {
			in.out.WriteString(`<span id="` + t.id + `">`)
			in.text(text)
			in.out.WriteString(`</span>`)
		} else {
			in.text(text)
		}
		return e + 1 - i
	case rest[0] == '|':
		if strings.HasPrefix(rest, "||") || !startOK(1) {
			return 0
		}
		e := findEnd(s, i+1, "|", false)
		// The end may be followed by _ or __.
		for k := i + 1; e < 0 && k < len(s); {
			j := strings.IndexByte(s[k:], '|')
			if j < 0 {
				break
			}
			j += k
			after := j + 1
			for after < len(s) && after < j+3 && s[after] == '_' {
				after++
			}
			if after > j+1 && !unicode.IsSpace(runeBefore(s, j)) && !escaped(s, j) && isEndSuffix(runeAt(s, after)) {
				e = j
			}
			k = j + 1
		}
		if e < 0 {
			return missing("substitution_reference")
		}
		n := e + 1 - i
		ref := ""
		for n < len(rest) && rest[n] == '_' && len(ref) < 2 {
			ref += "_"
			n++
		}
		flush(i)
		in.substitution(s[i+1:e], ref)
		return n
	case rest[0] == '`' || rest[0] == ':':
		return in.interpreted(s, i, prev, flush)
	case rest[0] == '[':
		e := strings.Index(rest, "]_")
		if e < 2 || !isEndSuffix(runeAt(s, i+e+2)) {
			return 0
		}
		label := rest[1:e]
		ok := label == "*" || label == "#" || strings.Trim(label, "0123456789") == "" ||
			label[0] == '#' && simpleName(label, 1) == len(label)-1 || simpleName(label, 0) == len(label)
		if !ok {
			return 0
		}
		flush(i)
		in.footnoteRef(label)
		return e + 2
	}
	// A simple reference (name_ or name__), or a standalone address.
	if n := simpleName(s, i); n > 0 && i+n < len(s) && s[i+n] == '_' {
		end := i + n + 1
		anon := end < len(s) && s[end] == '_'
		if anon {
			end++
		}
		if isEndSuffix(runeAt(s, end)) {
			flush(i)
			in.reference(s[i:i+n], "", anon, s[i:i+n])
			return end - i
		}
	}
	return 0
}

// implicit writes text between inline markup, making its standalone
// addresses links (docutils looks for them only there: a reference
// inside an address, "http://x/a_", is a reference).
func (in *inliner) implicit(s string) {
	if in.collect {
		return
	}
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if i > 0 && !isStartPrefix(runeBefore(s, i)) {
			continue
		}
		if n := standaloneURL(s, i); n > 0 {
			in.text(s[start:i])
			u := s[i : i+n]
			in.link(u, u, false)
			i += n - 1
			start = i + 1
		}
	}
	in.text(s[start:])
}

// interpreted reads interpreted text or a phrase reference at s[i]: an
// optional :role: prefix, `text`, then an optional :role: or _ / __.
func (in *inliner) interpreted(s string, i int, prev rune, flush func(int)) int {
	role := ""
	k := i
	if s[i] == ':' {
		n := simpleName(s, i+1)
		if n == 0 || i+1+n+1 >= len(s) || s[i+1+n] != ':' || s[i+2+n] != '`' {
			return 0
		}
		role = s[i+1 : i+1+n]
		k = i + 2 + n
	}
	if strings.HasPrefix(s[k:], "``") {
		return 0
	}
	if k+1 >= len(s) || unicode.IsSpace(runeAt(s, k+1)) || role == "" && quoted(s, k, 1, prev) {
		return 0
	}
	// The end: a backquote not preceded by space, then an optional
	// suffix, then an end suffix.
	e, end := -1, 0
	suffixRole, refEnd := "", ""
	for j := k + 1; j < len(s); {
		b := strings.IndexByte(s[j:], '`')
		if b < 0 {
			break
		}
		b += j
		j = b + 1
		if unicode.IsSpace(runeBefore(s, b)) || escaped(s, b) {
			continue
		}
		after := b + 1
		sr, re := "", ""
		if after < len(s) && s[after] == ':' {
			if n := simpleName(s, after+1); n > 0 && after+1+n < len(s) && s[after+1+n] == ':' {
				sr = s[after+1 : after+1+n]
				after += n + 2
			}
		}
		if after < len(s) && s[after] == '_' {
			re = "_"
			after++
			if after < len(s) && s[after] == '_' {
				re = "__"
				after++
			}
		}
		if isEndSuffix(runeAt(s, after)) {
			e, end, suffixRole, refEnd = b, after, sr, re
			break
		}
		if sr != "" || re != "" {
			// docutils tries the bare backquote too.
			if isEndSuffix(runeAt(s, b+1)) {
				e, end = b, b+1
				break
			}
		}
	}
	if e < 0 {
		if role != "" || s[i] == '`' {
			in.d.fail(in.line, "Inline interpreted text or phrase reference start-string without end-string.")
		}
		return 0
	}
	text := s[k+1 : e]
	flush(i)
	switch {
	case role != "" && suffixRole != "":
		in.d.fail(in.line, "Multiple roles in interpreted text (both prefix and suffix present; only one allowed).")
	case role != "" && refEnd != "":
		in.d.fail(in.line, "Mismatch: both interpreted text role prefix and reference suffix.")
	case suffixRole != "" && refEnd != "":
		in.d.fail(in.line, "Mismatch: both interpreted text role suffix and reference suffix.")
	case refEnd != "":
		in.phraseRef(text, refEnd == "__")
	default:
		if role == "" {
			role = suffixRole
		}
		in.role(role, text)
	}
	return end - i
}

// knownRole reports whether docutils knows an interpreted text role.
func knownRole(r string) bool {
	switch r {
	case "emphasis", "literal", "code", "math", "pep-reference", "pep", "rfc-reference", "rfc",
		"strong", "subscript", "sub", "superscript", "sup", "title-reference", "title", "t",
		"abbreviation", "ab", "acronym", "ac":
		return true
	}
	return false
}

// role writes interpreted text.
func (in *inliner) role(role, text string) {
	r := strings.ToLower(role)
	if base, ok := in.d.roles[r]; ok {
		r = base
	}
	switch r {
	case "", "title-reference", "title", "t":
		in.wrap("cite", text)
	case "emphasis":
		in.plainWrap("em", text)
	case "strong":
		in.plainWrap("strong", text)
	case "literal", "code":
		in.literal(unescape(text))
	case "math":
		in.plainWrap("code", text)
	case "subscript", "sub":
		in.plainWrap("sub", text)
	case "superscript", "sup":
		in.plainWrap("sup", text)
	case "abbreviation", "ab":
		in.plainWrap("abbr", text)
	case "acronym", "ac":
		in.plainWrap("acronym", text)
	case "generic":
		in.plainWrap("span", text)
	case "pep-reference", "pep":
		n, err := strconv.Atoi(unescape(text))
		if err != nil || n < 0 || n > 9999 {
			in.d.fail(in.line, `PEP number must be a number from 0 to 9999; "%s" is invalid.`, text)
			return
		}
		in.link("https://peps.python.org/pep-"+strings.Repeat("0", 4-len(strconv.Itoa(n)))+strconv.Itoa(n), "PEP "+text, true)
	case "rfc-reference", "rfc":
		t := unescape(text)
		num, _, _ := strings.Cut(t, "#")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			in.d.fail(in.line, `RFC number must be a number greater than or equal to 1; "%s" is invalid.`, text)
			return
		}
		in.link("https://tools.ietf.org/html/rfc"+strconv.Itoa(n)+".html", "RFC "+num, true)
	case "raw":
		in.d.fail(in.line, "raw (and derived) roles disabled")
	default:
		in.d.fail(in.line, `Unknown interpreted text role "%s".`, role)
	}
}

// phraseRef writes `text`_, `text <url>`_ and their anonymous forms.
func (in *inliner) phraseRef(text string, anon bool) {
	t := strings.TrimRight(text, " \n")
	if strings.HasSuffix(t, ">") && !escaped(t, len(t)-1) {
		if lt := strings.LastIndex(t, "<"); lt >= 0 && (lt == 0 || t[lt-1] == ' ' || t[lt-1] == '\n') {
			label := strings.TrimRight(t[:lt], " \n")
			uri := t[lt+1 : len(t)-1]
			if label == "" {
				label = uri
			}
			// An alias: <name_> refers to another target.
			if name, ok := refName(uri, nil); ok {
				in.reference(name, "", anon, label)
				return
			}
			url := strings.Join(strings.Fields(unescape(uri)), "")
			if !anon && in.collect {
				in.d.addTarget(in.line, unescape(label), &target{url: url, line: in.line})
			}
			if !in.collect {
				in.link(url, label, true)
			}
			return
		}
	}
	in.reference(unescape(text), "", anon, text)
}

// reference writes a reference to the target named name (or the next
// anonymous target), showing label.
func (in *inliner) reference(name, _ string, anon bool, label string) {
	if anon {
		if in.collect {
			in.d.anonRefs++
			return
		}
		url := ""
		if in.d.anonNext < len(in.d.anonTargets) {
			url = in.d.anonTargets[in.d.anonNext]
		}
		in.d.anonNext++
		if strings.HasSuffix(url, "_") {
			href, ok := in.d.resolve(in.line, normName(strings.Trim(strings.TrimSuffix(url, "_"), "`")))
			if !ok {
				return
			}
			url = href
		}
		in.link(url, label, true)
		return
	}
	if in.collect {
		in.d.refs = append(in.d.refs, pendingRef{normName(name), in.line})
		return
	}
	href, ok := in.d.resolve(in.line, normName(name))
	if !ok {
		return
	}
	in.link(href, label, true)
}

// pendingRef is a named reference, checked once every target is known.
type pendingRef struct {
	name string
	line int
}

// resolve returns the address a target name refers to, following
// indirect targets however long their chain, as docutils does. Each
// target of a chain keeps the address it leads to, so that resolving every
// reference costs time linear in the targets.
func (d *doc) resolve(line int, name string) (string, bool) {
	var chain []*target
	defer func() {
		for _, t := range chain {
			t.visiting = false
		}
	}()
	from := "" // the indirect target that named name
	for {
		t, ok := d.targets[name]
		if !ok {
			if c, ok := d.citations[name]; ok {
				return d.resolved(chain, "#"+c.id), true
			}
			if from != "" {
				d.fail(d.targets[from].line, `Indirect hyperlink target "%s" (id="%s") refers to target "%s", which does not exist.`, from, docutilsID(from), name)
			} else {
				d.fail(line, `Unknown target name: "%s".`, name)
			}
			return "", false
		}
		if t.dup {
			d.fail(line, `Duplicate target name, cannot be used as a unique reference: "%s".`, name)
			return "", false
		}
		switch {
		case t.url != "":
			return d.resolved(chain, t.url), true
		case t.id != "":
			return d.resolved(chain, "#"+t.id), true
		case t.href != "":
			return d.resolved(chain, t.href), true
		case t.visiting:
			d.fail(t.line, `Indirect hyperlink target "%s" (id="%s") refers to target "%s", forming a circular reference.`, name, docutilsID(name), t.ref)
			return "", false
		}
		t.visiting = true
		chain = append(chain, t)
		from, name = name, t.ref
	}
}

// resolved records href as where each indirect target of chain leads,
// and returns it.
func (d *doc) resolved(chain []*target, href string) string {
	for _, t := range chain {
		t.href = href
	}
	return href
}

// footnoteRef writes a footnote or citation reference.
func (in *inliner) footnoteRef(label string) {
	d := in.d
	var f *footnote
	switch {
	case label == "#":
		if in.collect {
			d.autoRefs++
			return
		}
		if d.autoNext < len(d.autoNotes) {
			f = d.autoNotes[d.autoNext]
		}
		d.autoNext++
		if f == nil {
			d.fail(in.line, "Too many autonumbered footnote references: only %d corresponding footnotes available.", len(d.autoNotes))
			return
		}
	case label[0] == '#':
		f = d.footnotes["#"+normName(label[1:])]
	case label == "*" || strings.Trim(label, "0123456789") == "":
		f = d.footnotes[label]
	default:
		f = d.citations[normName(label)]
	}
	if in.collect {
		return
	}
	if f == nil {
		d.fail(in.line, `Unknown target name: "%s".`, normName(strings.TrimPrefix(label, "#")))
		return
	}
	in.out.WriteString(`<a class="footnote-reference brackets" href="#` + f.id + `">` + template.HTMLEscapeString(f.label) + `</a>`)
}

// substitution writes |name|, |name|_ or |name|__.
func (in *inliner) substitution(name, ref string) {
	d := in.d
	s, ok := d.subs[name]
	if !ok {
		for k, v := range d.subs {
			if strings.EqualFold(k, name) {
				s, ok = v, true
				break
			}
		}
	}
	if !ok {
		d.fail(in.line, `Undefined substitution referenced: "%s".`, name)
		return
	}
	for _, e := range in.expanding {
		if e == name {
			d.fail(in.line, `Circular substitution definition referenced: "%s".`, name)
			return
		}
	}
	href := ""
	switch ref {
	case "_":
		if in.collect {
			d.refs = append(d.refs, pendingRef{normName(name), in.line})
		} else if h, ok := d.resolve(in.line, normName(name)); ok {
			href = h
		} else {
			return
		}
	case "__":
		if in.collect {
			d.anonRefs++
		} else {
			if d.anonNext < len(d.anonTargets) {
				href = d.anonTargets[d.anonNext]
			}
			d.anonNext++
		}
	}
	if in.collect {
		if s.img == nil && !strings.HasPrefix(s.text, literalMarker) {
			in.expand(name, s.text)
		}
		return
	}
	if href != "" && safeURL([]byte(href)) {
		in.out.WriteString(`<a href="` + template.HTMLEscapeString(href) + `" rel="` + rel + `">`)
		defer in.out.WriteString(`</a>`)
	}
	switch {
	case s.img != nil:
		in.image(s.img, name)
	case strings.HasPrefix(s.text, literalMarker):
		in.out.WriteString(template.HTMLEscapeString(s.text[len(literalMarker):]))
	default:
		in.expand(name, s.text)
	}
}

// expand reads the text of substitution name.
func (in *inliner) expand(name, text string) {
	// Substitutions made of substitutions grow exponentially.
	in.d.work += len(text) + 1
	if in.d.work > 2*maxRSTWork {
		panic(errTooDeep{})
	}
	in.expanding = append(in.expanding, name)
	in.run(text)
	in.expanding = in.expanding[:len(in.expanding)-1]
}

// image writes an image (linked to its target when it has one).
func (in *inliner) image(img *image, defaultAlt string) {
	if in.collect {
		if img.targetRef != "" {
			in.d.refs = append(in.d.refs, pendingRef{img.targetRef, in.line})
		}
		return
	}
	href := img.target
	if img.targetRef != "" {
		h, ok := in.d.resolve(in.line, img.targetRef)
		if !ok {
			return
		}
		href = h
	}
	if href != "" && safeURL([]byte(href)) {
		in.out.WriteString(`<a href="` + template.HTMLEscapeString(href) + `" rel="` + rel + `">`)
		defer in.out.WriteString(`</a>`)
	}
	alt := img.alt
	if alt == "" {
		alt = defaultAlt
	}
	in.out.WriteString(`<img alt="` + template.HTMLEscapeString(alt) + `"`)
	if safeURL([]byte(img.src)) {
		in.out.WriteString(` src="` + template.HTMLEscapeString(img.src) + `"`)
	}
	for _, a := range []struct{ name, v string }{{"width", img.width}, {"height", img.height}} {
		if v := strings.TrimSuffix(a.v, "px"); v != "" && strings.Trim(v, "0123456789") == "" {
			in.out.WriteString(` ` + a.name + `="` + v + `"`)
		}
	}
	if img.align != "" {
		in.out.WriteString(` class="align-` + img.align + `"`)
	}
	in.out.WriteString(`>`)
}

// wrap writes s, read inline, in an element.
func (in *inliner) wrap(tag, s string) {
	if in.collect {
		return
	}
	in.out.WriteString("<" + tag + ">")
	in.text(s) // emphasis and strong do not nest in reStructuredText
	in.out.WriteString("</" + tag + ">")
}

// plainWrap writes s, unescaped but not read inline, in an element.
func (in *inliner) plainWrap(tag, s string) {
	if in.collect {
		return
	}
	in.out.WriteString("<" + tag + ">" + template.HTMLEscapeString(unescape(s)) + "</" + tag + ">")
}

// literal writes inline literal text.
func (in *inliner) literal(s string) {
	if in.collect {
		return
	}
	in.out.WriteString(`<code>` + template.HTMLEscapeString(s) + `</code>`)
}

// link writes a hyperlink; one with an unsafe address is its text. The
// label is read inline when markup is true.
func (in *inliner) link(href, label string, markup bool) {
	if in.collect {
		return
	}
	ok := safeURL([]byte(href))
	if ok {
		in.out.WriteString(`<a href="` + template.HTMLEscapeString(href) + `" rel="` + rel + `">`)
	}
	if markup {
		in.text(label)
	} else {
		in.out.WriteString(template.HTMLEscapeString(label))
	}
	if ok {
		in.out.WriteString(`</a>`)
	}
}

// text writes plain text: escapes removed, HTML escaped.
func (in *inliner) text(s string) {
	if in.collect {
		return
	}
	in.out.WriteString(template.HTMLEscapeString(unescape(s)))
}

// uriSchemes are the schemes of standalone addresses made links (docutils
// knows more; the others are shown as text, as safeURL would drop them).
var uriSchemes = []string{"https://", "http://", "ftp://", "mailto:"}

// standaloneURL returns the length of the address at s[i:], 0 if none:
// an http, https, ftp or mailto URL, ending before trailing punctuation.
func standaloneURL(s string, i int) int {
	rest := s[i:]
	ok := false
	for _, sc := range uriSchemes {
		if len(rest) > len(sc) && strings.EqualFold(rest[:len(sc)], sc) {
			ok = true
		}
	}
	if !ok {
		return 0
	}
	n := 0
	for n < len(rest) {
		r, size := utf8.DecodeRuneInString(rest[n:])
		if unicode.IsSpace(r) || strings.ContainsRune(`<>"`+"`", r) {
			break
		}
		n += size
	}
	for n > 0 && strings.ContainsRune(`.,;:!?)'"]}*_|`, rune(rest[n-1])) {
		n--
	}
	if strings.HasSuffix(rest[:n], ":") || strings.HasSuffix(rest[:n], "/") && n <= 8 {
		return 0
	}
	return n
}
