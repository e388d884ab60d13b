package readme

import (
	"encoding/csv"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	footnoteDefRE     = regexp.MustCompile(`^\.\. +\[(#?[\pL\pN_.:+-]*|\*|[0-9]+)\]( +|$)`)
	targetDefRE       = regexp.MustCompile(`^\.\. +_(?:` + "`" + `((?:[^` + "`" + `\\]|\\.)+)` + "`" + `|((?:[^:\\]|\\.)+)|_):( +|$)`)
	malformedTargetRE = regexp.MustCompile(`^\.\. +_\S`)
	anonDefRE         = regexp.MustCompile(`^(?:\.\. +__:|__)( +|$)`)
	substDefRE        = regexp.MustCompile(`^\.\. +\|([^|\s](?:[^|]*[^|\s])?)\| +([\w.+-]+)::( +|$)`)
	badSubstDefRE     = regexp.MustCompile(`^\.\. +\|([^|\s](?:[^|]*[^|\s])?)\|( |$)`)
	directiveRE       = regexp.MustCompile(`^\.\. +([\w][\w.+:-]*?) ?::( +|$)`)
	optionLineRE      = regexp.MustCompile(`^:([^:\s](?:[^:]*[^:\s])?):( +|$)`)
)

// normName is a reference name as docutils compares them: white space
// collapsed, lower case.
func normName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// explicit reads explicit markup at lines[*i]: a footnote, citation,
// target, substitution definition, directive or comment.
func (p *rstParser) explicit(lines []string, i *int, lineno, depth int) *block {
	first := lines[*i]
	ln := lineno + *i
	var blk []string
	if anonDefRE.MatchString(first) || targetDefRE.MatchString(first) {
		// A target's link ends at the first blank line.
		end := *i + 1
		for end < len(lines) && lines[end] != "" && indentOf(lines[end]) > 0 {
			end++
		}
		blk, *i = lines[*i+1:end], end
	} else if strings.TrimSpace(first) == ".." && (*i+1 == len(lines) || strings.TrimSpace(lines[*i+1]) == "") {
		// An empty comment before a blank line ends what precedes it
		// and takes nothing after it: the indented text that follows is
		// a block quote (docutils' "tiny but practical wart").
		*i++
		return nil
	} else {
		var end int
		blk, end = indented(lines, *i+1)
		*i = end
	}
	switch {
	case anonDefRE.MatchString(first):
		m := anonDefRE.FindString(first)
		p.d.anonTargets = append(p.d.anonTargets, joinURL(first[len(m):], blk))
		return &block{kind: kHidden, line: ln}
	case targetDefRE.MatchString(first):
		m := targetDefRE.FindStringSubmatch(first)
		if strings.HasPrefix(m[2], "_") {
			p.d.fail(ln, "malformed hyperlink target.")
			return nil
		}
		name := m[1] + m[2]
		if name == "" {
			// ".. __:" is an anonymous target
			p.d.anonTargets = append(p.d.anonTargets, joinURL(first[len(m[0]):], blk))
			return &block{kind: kHidden, line: ln}
		}
		name = unescape(name)
		link := joinURL(first[len(m[0]):], blk)
		t := &target{line: ln}
		if ref, ok := refName(first[len(m[0]):], blk); ok {
			t.ref = ref
		} else if link == "" {
			t.id = p.d.makeID(name)
		} else {
			t.url = link
		}
		p.d.addTarget(ln, name, t)
		if t.id != "" {
			return &block{kind: kTarget, line: ln, id: t.id}
		}
		return &block{kind: kHidden, line: ln}
	case malformedTargetRE.MatchString(first):
		p.d.fail(ln, "malformed hyperlink target.")
		return nil
	case footnoteDefRE.MatchString(first):
		m := footnoteDefRE.FindStringSubmatch(first)
		body := dedent(blk)
		if rest := first[len(m[0]):]; rest != "" {
			body = append([]string{rest}, body...)
		}
		return p.footnote(m[1], ln, p.body(body, ln, depth+1))
	case substDefRE.MatchString(first):
		m := substDefRE.FindStringSubmatch(first)
		name := m[1]
		s := p.substitution(strings.ToLower(m[2]), first[len(m[0]):], blk, ln)
		if s == nil {
			return nil
		}
		if _, dup := p.d.subs[name]; dup {
			p.d.fail(ln, `Duplicate substitution definition name: "%s".`, name)
			return nil
		}
		p.d.subs[name] = s
		return &block{kind: kHidden, line: ln}
	case badSubstDefRE.MatchString(first):
		m := badSubstDefRE.FindStringSubmatch(first)
		p.d.fail(ln, `Substitution definition "%s" empty or invalid.`, m[1])
		return nil
	case directiveRE.MatchString(first):
		m := directiveRE.FindStringSubmatch(first)
		return p.directive(strings.ToLower(m[1]), first[len(m[0]):], blk, ln, depth)
	}
	return nil // a comment
}

// joinURL joins the lines of a target's link: white space is dropped.
func joinURL(first string, more []string) string {
	s := first
	for _, l := range more {
		s += strings.TrimSpace(l)
	}
	return strings.Join(strings.Fields(s), "")
}

// refName returns the target name a link refers to when it is a
// reference ("name_" or "`a phrase`_") rather than an address, as
// docutils reads the link of a target or an image's :target:.
func refName(first string, more []string) (string, bool) {
	parts := []string{strings.TrimSpace(first)}
	for _, l := range more {
		parts = append(parts, strings.TrimSpace(l))
	}
	s := strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
	if !strings.HasSuffix(s, "_") || escaped(s, len(s)-1) {
		return "", false
	}
	body := s[:len(s)-1]
	if len(body) > 2 && body[0] == '`' && body[len(body)-1] == '`' && body[1] != ' ' && body[len(body)-2] != ' ' {
		return normName(unescape(body[1 : len(body)-1])), true
	}
	if body != "" && simpleName(body, 0) == len(body) {
		return normName(body), true
	}
	return "", false
}

// unescape removes backslash escapes: an escaped space or line end goes
// with its backslash, and so does a backslash that ends the text (docutils
// escapes nothing with it).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		if s[k] == '\\' {
			k++
			if k == len(s) || s[k] == ' ' || s[k] == '\n' {
				continue
			}
		}
		b.WriteByte(s[k])
	}
	return b.String()
}

// addTarget registers an explicit target.
func (d *doc) addTarget(line int, name string, t *target) {
	key := normName(name)
	if old, ok := d.targets[key]; ok && !old.implicit {
		if old.url != "" && old.url == t.url || old.ref != "" && old.ref == t.ref {
			return // the same target twice: docutils says so at level INFO
		}
		d.fail(line, `Duplicate explicit target name: "%s".`, name)
		return
	}
	d.targets[key] = t
}

// makeID returns a new id for name as docutils makes them: lower case
// ASCII letters and digits, other runs of characters a hyphen.
func (d *doc) makeID(name string) string {
	id := docutilsID(name)
	for id == "" || d.ids[id] {
		d.idSeq++ // docutils numbers the ids it makes up: id1, id2, ...
		id = "id" + strconv.Itoa(d.idSeq)
	}
	d.ids[id] = true
	return id
}

// docutilsID is the id docutils makes of name (its make_id), before it
// numbers the empty ones and the ones taken.
func docutilsID(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return strings.TrimLeft(b.String(), "0123456789-")
}

// footnote registers a footnote or citation.
func (p *rstParser) footnote(label string, line int, body []*block) *block {
	d := p.d
	f := &footnote{body: body}
	switch {
	case label == "#" || strings.HasPrefix(label, "#"):
		d.noteCount++
		f.label = strconv.Itoa(len(d.autoNotes) + 1)
		d.autoNotes = append(d.autoNotes, f)
		if name := label[1:]; name != "" {
			d.footnotes["#"+normName(name)] = f
		}
	case label == "*":
		f.label = "*"
		d.footnotes["*"] = f
	case label != "" && strings.Trim(label, "0123456789") == "":
		f.label = label
		if _, dup := d.footnotes[label]; dup {
			d.fail(line, `Duplicate explicit target name: "%s".`, label)
		}
		d.footnotes[label] = f
	default:
		f.label = label
		if _, dup := d.citations[normName(label)]; dup {
			d.fail(line, `Duplicate explicit target name: "%s".`, label)
		}
		d.citations[normName(label)] = f
	}
	f.id = d.makeID("footnote-" + f.label)
	return &block{kind: kFootnote, line: line, id: f.id, title: f.label, children: body}
}

// directiveParts splits a directive's block into its arguments, options
// and content, as docutils does: the arguments run to the first blank
// line or option, the options to a blank line, the content follows.
func directiveParts(first string, blk []string, hasArgs, hasOpts bool) (args string, opts map[string]string, optOrder []string, content []string, contentLine int, badOption string) {
	body := dedent(blk)
	k := 0
	argLines := []string{}
	if hasArgs {
		switch {
		case hasOpts && optionLineRE.MatchString(first):
			// No arguments, options from the first line on.
			body = append([]string{first}, body...)
			contentLine = -1
		case first != "":
			argLines = append(argLines, first)
		}
		for k < len(body) && body[k] != "" && !(hasOpts && optionLineRE.MatchString(body[k])) {
			argLines = append(argLines, body[k])
			k++
		}
	} else {
		if first != "" {
			// No arguments: text on the first line starts the content.
			body = append([]string{first}, body...)
			contentLine = -1
		}
		// As docutils reads them, the options of a directive without
		// arguments may end the content's first lines, before a blank
		// line: move them before it.
		end := slices.Index(body, "")
		if end < 0 {
			end = len(body)
		}
		for j := 1; hasOpts && j < end; j++ {
			if optionLineRE.MatchString(body[j]) {
				body = slices.Concat(body[j:end], []string{""}, body[:j], body[end:])
				contentLine -= end - j + 1
				break
			}
		}
	}
	args = strings.Join(argLines, "\n")
	opts = map[string]string{}
	if hasOpts {
		for k < len(body) && optionLineRE.MatchString(body[k]) {
			m := optionLineRE.FindStringSubmatch(body[k])
			name := strings.ToLower(m[1])
			v := strings.TrimSpace(body[k][len(m[0]):])
			k++
			for k < len(body) && body[k] != "" && indentOf(body[k]) > 0 {
				v += " " + strings.TrimSpace(body[k])
				k++
			}
			if _, dup := opts[name]; dup && badOption == "" {
				badOption = "duplicate option \"" + name + "\""
			}
			opts[name] = v
			optOrder = append(optOrder, name)
		}
		if k < len(body) && body[k] != "" && len(optOrder) > 0 && badOption == "" {
			badOption = "invalid option block"
		}
	}
	for k < len(body) && body[k] == "" {
		k++
	}
	content = body[k:]
	contentLine += k + 1
	return args, opts, optOrder, content, contentLine, badOption
}

// directiveSpec says what a directive takes.
type directiveSpec struct {
	args    int    // 0 none, 1 required, -1 optional
	content int    // 0 none, 1 required, -1 optional
	options string // the options it accepts, space-separated
}

var directives = map[string]directiveSpec{
	"image":             {1, 0, "alt height width scale align target class name loading"},
	"figure":            {1, -1, "alt height width scale align target class name loading figwidth figclass"},
	"code":              {-1, 1, "class name number-lines"},
	"code-block":        {-1, 1, "class name number-lines"},
	"sourcecode":        {-1, 1, "class name number-lines"},
	"admonition":        {1, 1, "class name"},
	"topic":             {1, 1, "class name"},
	"sidebar":           {-1, 1, "subtitle class name"},
	"rubric":            {1, 0, "class name"},
	"epigraph":          {0, 1, ""},
	"highlights":        {0, 1, ""},
	"pull-quote":        {0, 1, ""},
	"compound":          {0, 1, "class name"},
	"container":         {-1, 1, "name"},
	"parsed-literal":    {0, 1, "class name"},
	"line-block":        {0, 1, "class name"},
	"math":              {-1, -1, "class name"},
	"contents":          {-1, 0, "depth local backlinks class"},
	"sectnum":           {0, 0, "depth start prefix suffix"},
	"section-numbering": {0, 0, "depth start prefix suffix"},
	"header":            {0, 1, ""},
	"footer":            {0, 1, ""},
	"meta":              {0, 1, ""},
	"title":             {1, 0, ""},
	"class":             {1, -1, ""},
	"default-role":      {-1, 0, ""},
	"role":              {1, -1, "class format language"},
	"target-notes":      {0, 0, "class name"},
	"table":             {-1, 1, "align width widths class name"},
	"list-table":        {-1, 1, "header-rows stub-columns width widths class name align"},
	"csv-table":         {-1, -1, "header-rows stub-columns header width widths file url encoding class name align delim quote keepspace escape"},
}

// oneWordArgs are the directives whose argument is one word (the others
// take the rest of the line, spaces and all).
var oneWordArgs = map[string]bool{"code": true, "code-block": true, "sourcecode": true, "default-role": true}

var admonitions = map[string]string{
	"attention": "Attention", "caution": "Caution", "danger": "!DANGER!", "error": "Error",
	"hint": "Hint", "important": "Important", "note": "Note", "tip": "Tip", "warning": "Warning",
}

// directive reads a directive.
func (p *rstParser) directive(name, first string, blk []string, line, depth int) *block {
	d := p.d
	switch name {
	case "raw", "include":
		d.fail(line, `"%s" directive disabled.`, name)
		return nil
	case "replace", "unicode", "date":
		d.fail(line, `Invalid context: the "%s" directive can only be used within a substitution definition.`, name)
		return nil
	}
	spec, ok := directives[name]
	if title, adm := admonitions[name]; adm {
		spec, ok = directiveSpec{0, 1, "class name"}, true
		_ = title
	}
	if !ok {
		d.fail(line, `Unknown directive type "%s".`, name)
		return nil
	}
	args, opts, order, content, cline, bad := directiveParts(first, blk, spec.args != 0, spec.options != "")
	cline += line
	if bad != "" {
		d.fail(line, `Error in "%s" directive:`+"\n%s.", name, bad)
		return nil
	}
	for _, o := range order {
		if !strings.Contains(" "+spec.options+" ", " "+o+" ") {
			d.fail(line, `Error in "%s" directive:`+"\nunknown option: \"%s\".", name, o)
			return nil
		}
	}
	if n := len(strings.Fields(args)); n > 1 && oneWordArgs[name] {
		d.fail(line, `Error in "%s" directive:`+"\nmaximum 1 argument(s) allowed, %d supplied.", name, n)
		return nil
	}
	if spec.args == 1 && strings.TrimSpace(args) == "" {
		d.fail(line, `Error in "%s" directive:`+"\n1 argument(s) required, 0 supplied.", name)
		return nil
	}
	if spec.content == 1 && len(content) == 0 {
		d.fail(line, `Content block expected for the "%s" directive; none found.`, name)
		return nil
	}
	if spec.content == 0 && len(content) > 0 {
		d.fail(line, `Error in "%s" directive:`+"\nno content permitted.", name)
		return nil
	}
	switch name {
	case "topic", "sidebar", "contents":
		if depth > 0 {
			d.fail(line, `The "%s" directive may not be used within topics or body elements.`, name)
			return nil
		}
	}
	if title, adm := admonitions[name]; adm {
		return &block{kind: kAdmonition, line: line, style: name, title: title, classes: opts["class"], children: p.body(content, cline, depth+1)}
	}
	switch name {
	case "image", "figure":
		img, ok := p.imageOpts(name, args, opts, line)
		if !ok {
			return nil
		}
		if name == "image" {
			return &block{kind: kImage, line: line, img: img}
		}
		f := &block{kind: kFigure, line: line, img: img}
		f.children = p.body(content, cline, depth+1)
		return f
	case "code", "code-block", "sourcecode":
		// An unknown language is no error: with report_level 5, as PyPI
		// sets it, docutils shows the code unhighlighted.
		lang := strings.TrimSpace(args)
		if n, ok := opts["number-lines"]; ok && n != "" {
			if _, err := strconv.Atoi(n); err != nil {
				d.fail(line, `Error in "%s" directive:`+"\ninvalid option value: (option: \"number-lines\"; value: '%s')", name, n)
				return nil
			}
		}
		return &block{kind: kLiteral, line: line, style: strings.ToLower(lang), text: strings.Join(content, "\n"), classes: "code"}
	case "parsed-literal":
		return &block{kind: kLiteral, line: line, text: strings.Join(content, "\n"), classes: name}
	case "math":
		return &block{kind: kLiteral, line: line, text: strings.Join(content, "\n"), classes: name}
	case "admonition", "topic", "sidebar":
		k := kAdmonition
		if name != "admonition" {
			k = kTopic
		}
		return &block{kind: k, line: line, style: name, title: strings.Join(strings.Fields(args), " "), children: p.body(content, cline, depth+1)}
	case "rubric":
		return &block{kind: kRubric, line: line, text: strings.TrimSpace(args)}
	case "epigraph", "highlights", "pull-quote":
		return &block{kind: kQuote, line: line, classes: name, children: p.body(content, cline, depth+1)}
	case "compound", "container", "line-block", "class":
		if len(content) == 0 {
			return nil
		}
		return &block{kind: kContainer, line: line, children: p.body(content, cline, depth+1)}
	case "header", "footer":
		// Parsed (its errors refuse the description), but docutils puts
		// it in the page decoration, which PyPI does not show.
		p.body(content, cline, depth+1)
		return &block{kind: kHidden, line: line}
	case "contents":
		depthOpt := 0
		if v, ok := opts["depth"]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				d.fail(line, `Error in "contents" directive:`+"\ninvalid option value: (option: \"depth\"; value: '%s')", v)
				return nil
			}
			depthOpt = n
		}
		title := strings.TrimSpace(args)
		_, local := opts["local"]
		if title == "" && !local {
			title = "Contents" // a local one has no title unless given
		}
		return &block{kind: kContents, line: line, title: title, n: depthOpt, style: map[bool]string{true: "local"}[local]}
	case "role":
		m := regexp.MustCompile(`^([\w.+:-]+)(?:\(([\w.+:-]+)\))?$`).FindStringSubmatch(strings.TrimSpace(args))
		if m == nil {
			d.fail(line, `Invalid argument for "role" directive:`)
			return nil
		}
		base := strings.ToLower(m[2])
		if base == "" {
			base = "generic"
		}
		if base != "generic" && base != "raw" && !knownRole(base) {
			d.fail(line, `Unknown interpreted text role "%s".`, base)
			return nil
		}
		d.roles[strings.ToLower(m[1])] = base
		return nil
	case "table":
		if len(content) == 0 || !(gridTopRE.MatchString(content[0]) || simpleTopRE.MatchString(content[0])) {
			d.fail(line, `Error parsing content block for the "table" directive: exactly one table expected.`)
			return nil
		}
		blocks := p.body(content, cline, depth+1)
		if len(blocks) != 1 {
			d.fail(line, `Error parsing content block for the "table" directive: exactly one table expected.`)
			return nil
		}
		blocks[0].title = strings.TrimSpace(args)
		return blocks[0]
	case "list-table":
		return p.listTable(opts, content, cline, line, depth, args)
	case "csv-table":
		return p.csvTable(opts, content, cline, line, depth, args)
	}
	return nil // sectnum, meta, title, default-role, target-notes: nothing shown
}

// imageOpts reads an image's address and options.
func (p *rstParser) imageOpts(name, args string, opts map[string]string, line int) (*image, bool) {
	img := &image{src: strings.Join(strings.Fields(args), ""), alt: opts["alt"], width: opts["width"], height: opts["height"], align: opts["align"]}
	for _, o := range []struct {
		name, units string
	}{{"width", `"em" "ex" "px" "in" "cm" "mm" "pt" "pc" "%"`}, {"height", `"em" "ex" "px" "in" "cm" "mm" "pt" "pc"`}, {"scale", ""}} {
		v, ok := opts[o.name]
		if !ok {
			continue
		}
		if o.name == "scale" {
			if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%"))); err != nil || n < 0 {
				p.d.fail(line, `Error in "%s" directive:`+"\ninvalid option value: (option: \"scale\"; value: '%s')", name, v)
				return nil, false
			}
			continue
		}
		if !isMeasure(v, o.name == "width") {
			p.d.fail(line, `Error in "%s" directive:`+"\ninvalid option value: (option: \"%s\"; value: '%s')\nnot a positive measure of one of the following units:\n%s.", name, o.name, v, o.units)
			return nil, false
		}
	}
	if img.align != "" {
		valid := "top middle bottom left center right"
		if name == "figure" {
			valid = "left center right"
		}
		if !strings.Contains(" "+valid+" ", " "+img.align+" ") {
			p.d.fail(line, `Error in "%s" directive:`+"\ninvalid option value: (option: \"align\"; value: '%s')", name, img.align)
			return nil, false
		}
	}
	if t, ok := opts["target"]; ok {
		if ref, ok := refName(t, nil); ok {
			img.targetRef = ref
		} else {
			img.target = strings.Join(strings.Fields(t), "")
		}
	}
	return img, true
}

// isMeasure reports whether v is a length docutils accepts: a number,
// optionally followed by a unit (or, when percent, "%").
func isMeasure(v string, percent bool) bool {
	v = strings.TrimSpace(v)
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyz%")
	unit := v[len(num):]
	num = strings.TrimRight(num, " ")
	if f, err := strconv.ParseFloat(num, 64); err != nil || f < 0 || strings.ContainsAny(num, "eE+-") {
		return false
	}
	switch unit {
	case "", "em", "ex", "px", "in", "cm", "mm", "pt", "pc":
		return true
	case "%":
		return percent
	}
	return false
}

// substitutionSpecs are the directives a substitution definition may
// use.
var substitutionSpecs = map[string]directiveSpec{
	"image":   directives["image"],
	"replace": {0, 1, ""},
	"unicode": {1, 0, "ltrim rtrim trim"},
	"date":    {0, -1, ""},
}

// substitution reads a substitution definition's directive.
func (p *rstParser) substitution(name, first string, blk []string, line int) *subst {
	spec, ok := substitutionSpecs[name]
	if !ok {
		switch {
		case name == "raw" || name == "include":
			p.d.fail(line, `"%s" directive disabled.`, name)
		case directives[name].options != "" || admonitions[name] != "":
			p.d.fail(line, `Substitution definition "%s" empty or invalid.`, name)
		default:
			p.d.fail(line, `Unknown directive type "%s".`, name)
		}
		return nil
	}
	args, opts, order, content, _, bad := directiveParts(first, blk, spec.args != 0, spec.options != "")
	fail := func(format string, a ...any) *subst {
		p.d.fail(line, `Error in "%s" directive:`+"\n"+format, append([]any{name}, a...)...)
		return nil
	}
	if bad != "" {
		return fail("%s.", bad)
	}
	for _, o := range order {
		if !strings.Contains(" "+spec.options+" ", " "+o+" ") {
			return fail("unknown option: \"%s\".", o)
		}
	}
	if spec.args == 1 && strings.TrimSpace(args) == "" {
		return fail("1 argument(s) required, 0 supplied.")
	}
	if spec.content == 0 && len(content) > 0 {
		return fail("no content permitted.")
	}
	switch name {
	case "image":
		img, ok := p.imageOpts("image", args, opts, line)
		if !ok {
			return nil
		}
		return &subst{img: img, line: line}
	case "replace":
		if len(content) == 0 {
			p.d.fail(line, `Content block expected for the "replace" directive; none found.`)
			return nil
		}
		for _, l := range content {
			if l == "" {
				p.d.fail(line, `Error in "replace" directive: may contain a single paragraph only.`)
				return nil
			}
		}
		return &subst{text: strings.Join(content, "\n"), line: line}
	case "unicode":
		var b strings.Builder
		for _, f := range strings.Fields(args) {
			if f == ".." {
				break // a comment follows
			}
			r, ok := unicodeCode(f)
			if !ok {
				b.WriteString(f)
				continue
			}
			b.WriteRune(r)
		}
		return &subst{text: literalMarker + b.String(), line: line}
	}
	return &subst{text: "", line: line} // date: the date of the rendering, not shown here
}

// unicodeCode reads a character code of the unicode directive: a decimal
// number, or a hexadecimal one after 0x, x, \x, U+, u, \u or &#x.
func unicodeCode(f string) (rune, bool) {
	base, digits := 10, f
	for _, prefix := range []string{"0x", "x", "\\x", "U+", "u", "\\u", "&#x"} {
		if len(f) > len(prefix) && strings.EqualFold(f[:len(prefix)], prefix) {
			base, digits = 16, strings.TrimSuffix(f[len(prefix):], ";")
			break
		}
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n > 0x10ffff {
		return 0, false
	}
	return rune(n), true
}

// literalMarker starts a substitution text that is not parsed inline.
const literalMarker = "\x00"

// listTable reads a list-table's content: a bullet list of bullet lists.
func (p *rstParser) listTable(opts map[string]string, content []string, cline, line, depth int, title string) *block {
	blocks := p.body(content, cline, depth+1)
	if p.d.err != nil {
		return nil
	}
	bad := func(msg string) *block {
		p.d.fail(line, `Error parsing content block for the "list-table" directive: %s.`, msg)
		return nil
	}
	if len(blocks) != 1 || blocks[0].kind != kBullet {
		return bad("exactly one bullet list expected")
	}
	t := &block{kind: kTable, line: line, title: strings.TrimSpace(title)}
	cols := -1
	for r, item := range blocks[0].children {
		if len(item.children) != 1 || item.children[0].kind != kBullet {
			return bad("two-level bullet list expected, but row " + strconv.Itoa(r+1) + " does not contain a second-level bullet list")
		}
		var row []*cell
		for _, c := range item.children[0].children {
			row = append(row, &cell{colspan: 1, rowspan: 1, body: c.children})
		}
		if cols >= 0 && len(row) != cols {
			return bad("uniform two-level bullet list expected, but row " + strconv.Itoa(r+1) + " does not contain the same number of items as row 1 (" + strconv.Itoa(len(row)) + " vs " + strconv.Itoa(cols) + ")")
		}
		cols = len(row)
		t.rows = append(t.rows, row)
	}
	if v, ok := opts["header-rows"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(t.rows) {
			p.d.fail(line, `Error in "list-table" directive:`+"\ninvalid option value: (option: \"header-rows\"; value: '%s')", v)
			return nil
		}
		t.headRows = n
	}
	return t
}

// csvTable reads a csv-table with its data in its content.
func (p *rstParser) csvTable(opts map[string]string, content []string, cline, line, depth int, title string) *block {
	if _, ok := opts["file"]; ok {
		p.d.fail(line, `File and URL access deactivated; ignoring "csv-table" directive.`)
		return nil
	}
	if _, ok := opts["url"]; ok {
		p.d.fail(line, `File and URL access deactivated; ignoring "csv-table" directive.`)
		return nil
	}
	if len(content) == 0 {
		p.d.fail(line, `The "csv-table" directive requires content; none supplied.`)
		return nil
	}
	parse := func(text string) ([][]string, bool) {
		r := csv.NewReader(strings.NewReader(text))
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		r.TrimLeadingSpace = true
		if dl := opts["delim"]; len(dl) == 1 {
			r.Comma = rune(dl[0])
		}
		recs, err := r.ReadAll()
		return recs, err == nil
	}
	t := &block{kind: kTable, line: line, title: strings.TrimSpace(title)}
	addRows := func(recs [][]string) {
		for _, rec := range recs {
			var row []*cell
			for _, f := range rec {
				row = append(row, &cell{colspan: 1, rowspan: 1, body: p.body(splitLines(f), cline, depth+1)})
			}
			t.rows = append(t.rows, row)
		}
	}
	if h, ok := opts["header"]; ok {
		recs, ok := parse(h)
		if !ok {
			p.d.fail(line, `Error with CSV data in "csv-table" directive:`)
			return nil
		}
		addRows(recs)
		t.headRows = len(recs)
	}
	recs, ok := parse(strings.Join(content, "\n"))
	if !ok {
		p.d.fail(line, `Error with CSV data in "csv-table" directive:`)
		return nil
	}
	addRows(recs)
	if v, ok := opts["header-rows"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(t.rows) {
			p.d.fail(line, `Error in "csv-table" directive:`+"\ninvalid option value: (option: \"header-rows\"; value: '%s')", v)
			return nil
		}
		t.headRows += n
	}
	cols := 0
	for _, r := range t.rows {
		cols = max(cols, len(r))
	}
	for k, r := range t.rows {
		for len(r) < cols {
			r = append(r, &cell{colspan: 1, rowspan: 1})
		}
		t.rows[k] = r
	}
	return t
}
