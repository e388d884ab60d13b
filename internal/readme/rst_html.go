package readme

import (
	"cmp"
	"html/template"
	"slices"
	"strconv"
	"strings"
)

// renderRST returns the HTML of a reStructuredText description, or the
// *RSTError that makes PyPI refuse it. A description beyond the parser's
// budgets (nesting, work, output size) is shown as plain text with a
// note, and not refused.
func renderRST(src string) (h template.HTML, err error) {
	const tooComplex = "nests deeper or is more complex than this index renders"
	blocks, d, tooDeep := parseRST(src)
	if tooDeep {
		return plainNote(tooComplex, src), nil
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errTooDeep); !ok {
				panic(r)
			}
			h, err = plainNote(tooComplex, src), nil
		}
	}()
	if d.err != nil {
		return "", d.err
	}
	w := &rstWriter{d: d, out: &strings.Builder{}}
	w.in = inliner{d: d, collect: true, out: &strings.Builder{}}
	w.blocks(blocks, 0) // collect the targets inline markup defines
	d.check()
	if d.err != nil {
		return "", d.err
	}
	w.out.Reset()
	w.in = inliner{d: d, out: w.out}
	w.blocks(blocks, 0)
	if d.err != nil {
		return "", d.err
	}
	if w.out.Len() > maxOutputBytes {
		return plainNote("more HTML than a page can hold", src), nil
	}
	if strings.TrimSpace(w.out.String()) == "" {
		// PyPI's renderer answers nothing for an empty rendering, and
		// the upload is refused.
		return "", &RSTError{Line: 1, Msg: "The description renders as nothing."}
	}
	return template.HTML(`<div class="rst">` + w.out.String() + `</div>`), nil
}

// plainNote is src as plain text, after a note saying why.
func plainNote(why, src string) template.HTML {
	return template.HTML(`<p class="plain-note">This description is shown as plain text: as reStructuredText it ` +
		template.HTMLEscapeString(why) + `.</p>` + string(plain(src)))
}

// check reports the references that name no target, once every target is
// known: named references, indirect targets, anonymous and auto-numbered
// footnote references.
func (d *doc) check() {
	// Indirect targets first, in document order, as docutils resolves
	// them (referenced or not).
	var indirect []string
	for name, t := range d.targets {
		if t.ref != "" {
			indirect = append(indirect, name)
		}
	}
	slices.SortFunc(indirect, func(a, b string) int {
		return cmp.Or(cmp.Compare(d.targets[a].line, d.targets[b].line), strings.Compare(a, b))
	})
	for _, name := range indirect {
		if _, ok := d.resolve(d.targets[name].line, name); !ok {
			return
		}
	}
	for _, r := range d.refs {
		if _, ok := d.resolve(r.line, r.name); !ok {
			return
		}
	}
	if d.anonRefs != len(d.anonTargets) {
		d.fail(1, "Anonymous hyperlink mismatch: %d references but %d targets.", d.anonRefs, len(d.anonTargets))
		return
	}
	if d.autoRefs > len(d.autoNotes) {
		d.fail(1, "Too many autonumbered footnote references: only %d corresponding footnotes available.", len(d.autoNotes))
	}
}

// rstWriter writes blocks as HTML.
type rstWriter struct {
	d   *doc
	out *strings.Builder
	in  inliner
}

func (w *rstWriter) s(parts ...string) {
	for _, p := range parts {
		w.out.WriteString(p)
	}
}

// inline writes inline text found at line.
func (w *rstWriter) inline(text string, line int) {
	w.in.out = w.out
	if w.in.collect {
		w.in.out = &strings.Builder{}
	}
	w.in.line = line
	w.in.run(text)
}

func (w *rstWriter) blocks(bs []*block, depth int) {
	for _, b := range bs {
		if w.d.err != nil || w.out.Len() > maxOutputBytes {
			return
		}
		w.block(b, depth)
	}
}

// simple reports whether every item of a list is one paragraph at most
// (docutils then writes the items without <p>).
func simple(items []*block) bool {
	for _, it := range items {
		if len(it.children) > 1 || len(it.children) == 1 && it.children[0].kind != kParagraph {
			// A nested simple list after a paragraph is fine as well.
			if len(it.children) == 2 && it.children[0].kind == kParagraph && (it.children[1].kind == kBullet || it.children[1].kind == kEnum) && simple(it.children[1].children) {
				continue
			}
			return false
		}
	}
	return true
}

// body writes the blocks of a list item or cell, without <p> when compact.
func (w *rstWriter) body(bs []*block, depth int, compact bool) {
	for _, b := range bs {
		if compact && b.kind == kParagraph {
			w.inline(b.text, b.line)
			continue
		}
		if compact {
			w.s("\n")
		}
		w.block(b, depth)
	}
}

func (w *rstWriter) block(b *block, depth int) {
	switch b.kind {
	case kSection:
		level := min(depth+2, 6)
		h := "h" + strconv.Itoa(level)
		w.s(`<section id="`, b.id, `">`, "\n<", h, ">")
		w.inline(b.title, b.line)
		w.s("</", h, ">\n")
		if b.style != "" {
			w.s(`<p class="section-subtitle">`)
			w.inline(b.style, b.line)
			w.s("</p>\n")
		}
		w.blocks(b.children, depth+1)
		w.s("</section>\n")
	case kParagraph:
		w.s("<p>")
		w.inline(b.text, b.line)
		w.s("</p>\n")
	case kBullet, kEnum:
		tag := "ul"
		attrs := ""
		if b.kind == kEnum {
			tag = "ol"
			attrs = ` class="` + b.style + `"`
			if b.n != 1 {
				attrs += ` start="` + strconv.Itoa(b.n) + `"`
			}
		}
		compact := simple(b.children)
		if compact {
			if attrs == "" {
				attrs = ` class="simple"`
			} else {
				attrs = strings.Replace(attrs, `class="`, `class="simple `, 1)
			}
		}
		w.s("<", tag, attrs, ">\n")
		for _, it := range b.children {
			w.s("<li>")
			w.body(it.children, depth, compact)
			w.s("</li>\n")
		}
		w.s("</", tag, ">\n")
	case kDefList:
		w.s("<dl>\n")
		for _, it := range b.children {
			w.s("<dt>")
			w.inline(it.text, it.line)
			if it.title != "" {
				w.s(` <span class="classifier">`)
				w.inline(it.title, it.line)
				w.s(`</span>`)
			}
			w.s("</dt>\n<dd>")
			w.body(it.children, depth, false)
			w.s("</dd>\n")
		}
		w.s("</dl>\n")
	case kFieldList:
		w.s(`<dl class="field-list">`, "\n")
		for _, f := range b.children {
			w.s("<dt>")
			w.inline(f.text, f.line)
			w.s(`<span class="colon">:</span></dt>`, "\n<dd>")
			w.body(f.children, depth, len(f.children) == 1 && f.children[0].kind == kParagraph)
			w.s("</dd>\n")
		}
		w.s("</dl>\n")
	case kOptionList:
		w.s(`<dl class="option-list">`, "\n")
		for _, o := range b.children {
			w.s("<dt><kbd>", template.HTMLEscapeString(o.text), "</kbd></dt>\n<dd>")
			w.body(o.children, depth, len(o.children) == 1 && o.children[0].kind == kParagraph)
			w.s("</dd>\n")
		}
		w.s("</dl>\n")
	case kLiteral:
		switch b.classes {
		case "code":
			class := "code"
			if b.style != "" {
				class += " " + cssClass(b.style)
			}
			w.s(`<pre class="`, class, `"><code>`, template.HTMLEscapeString(b.text), "</code></pre>\n")
		case "math":
			w.s(`<div class="math">`, template.HTMLEscapeString(b.text), "</div>\n")
		case "parsed-literal":
			w.s(`<pre class="parsed-literal">`)
			w.inline(b.text, b.line)
			w.s("</pre>\n")
		default:
			w.s("<pre>", template.HTMLEscapeString(b.text), "</pre>\n")
		}
	case kDoctest:
		w.s(`<pre class="doctest-block">`, template.HTMLEscapeString(b.text), "</pre>\n")
	case kQuote:
		if b.classes != "" {
			w.s(`<blockquote class="`, b.classes, `">`, "\n")
		} else {
			w.s("<blockquote>\n")
		}
		w.blocks(b.children, depth)
		w.s("</blockquote>\n")
	case kContainer:
		w.s(`<div class="docutils container">`, "\n")
		w.blocks(b.children, depth)
		w.s("</div>\n")
	case kLineBlock:
		w.s(`<div class="line-block">`, "\n")
		for _, l := range b.lines {
			w.s(`<div class="line">`)
			w.inline(l, b.line)
			w.s("</div>\n")
		}
		w.s("</div>\n")
	case kTransition:
		w.s("<hr>\n")
	case kTable:
		w.table(b, depth)
	case kImage:
		w.in.line = b.line
		w.in.out = w.out
		if w.in.collect {
			w.in.out = &strings.Builder{}
		}
		w.in.image(b.img, defaultAlt(b.img)) // docutils' default alt text: the address
		w.s("\n")
	case kFigure:
		w.s(`<figure>`, "\n")
		w.in.line = b.line
		w.in.out = w.out
		if w.in.collect {
			w.in.out = &strings.Builder{}
		}
		w.in.image(b.img, defaultAlt(b.img))
		w.s("\n")
		if len(b.children) > 0 {
			w.s("<figcaption>\n")
			w.blocks(b.children, depth)
			w.s("</figcaption>\n")
		}
		w.s("</figure>\n")
	case kAdmonition:
		w.s(`<aside class="admonition `, cssClass(b.style), `">`, "\n", `<p class="admonition-title">`)
		w.inline(b.title, b.line)
		w.s("</p>\n")
		w.blocks(b.children, depth)
		w.s("</aside>\n")
	case kTopic:
		w.s(`<aside class="`, cssClass(b.style), `">`, "\n")
		if b.title != "" {
			w.s(`<p class="topic-title">`)
			w.inline(b.title, b.line)
			w.s("</p>\n")
		}
		w.blocks(b.children, depth)
		w.s("</aside>\n")
	case kRubric:
		w.s(`<p class="rubric">`)
		w.inline(b.text, b.line)
		w.s("</p>\n")
	case kContents:
		sections := w.d.top
		if b.scope != nil && b.scope.kind == kSection && b.scope.n > 0 {
			sections = b.scope.children
		}
		if !hasSection(sections) {
			return // docutils drops an empty table of contents
		}
		w.s(`<nav class="contents">`, "\n")
		if b.title != "" {
			w.s(`<p class="topic-title">`, template.HTMLEscapeString(b.title), "</p>\n")
		}
		w.contents(sections, b.n, 1)
		w.s("</nav>\n")
	case kFootnote:
		w.s(`<aside class="footnote" id="`, b.id, `">`, "\n", `<span class="label">[`, template.HTMLEscapeString(b.title), "]</span>\n")
		w.blocks(b.children, depth)
		w.s("</aside>\n")
	case kTarget:
		w.s(`<span id="`, b.id, `"></span>`, "\n")
	}
}

// defaultAlt is an image's alternative text when it has none: its
// address, as docutils writes it, unless the address is dropped.
func defaultAlt(img *image) string {
	if safeURL([]byte(img.src)) {
		return img.src
	}
	return ""
}

// hasSection reports whether bs holds a section.
func hasSection(bs []*block) bool {
	for _, b := range bs {
		if b.kind == kSection {
			return true
		}
	}
	return false
}

// contents writes the table of contents of sections, depth levels deep
// (0: all).
func (w *rstWriter) contents(bs []*block, depth, level int) {
	first := true
	for _, b := range bs {
		if b.kind != kSection {
			continue
		}
		if first {
			w.s(`<ul class="simple">`, "\n")
			first = false
		}
		w.s(`<li><a href="#`, b.id, `">`)
		w.s(template.HTMLEscapeString(plainTitle(b.title)))
		w.s("</a>")
		if depth == 0 || level < depth {
			w.contents(b.children, depth, level+1)
		}
		w.s("</li>\n")
	}
	if !first {
		w.s("</ul>\n")
	}
}

// table writes a table.
func (w *rstWriter) table(b *block, depth int) {
	w.s("<table>\n")
	if b.title != "" {
		w.s("<caption>")
		w.inline(b.title, b.line)
		w.s("</caption>\n")
	}
	for r, row := range b.rows {
		switch r {
		case 0:
			if b.headRows > 0 {
				w.s("<thead>\n")
			} else {
				w.s("<tbody>\n")
			}
		case b.headRows:
			w.s("</thead>\n<tbody>\n")
		}
		cellTag := "td"
		if r < b.headRows {
			cellTag = "th"
		}
		w.s("<tr>")
		for _, c := range row {
			w.s("<", cellTag)
			if c.colspan > 1 {
				w.s(` colspan="`, strconv.Itoa(c.colspan), `"`)
			}
			if c.rowspan > 1 {
				w.s(` rowspan="`, strconv.Itoa(c.rowspan), `"`)
			}
			w.s(">")
			w.body(c.body, depth, len(c.body) == 1 && c.body[0].kind == kParagraph)
			w.s("</", cellTag, ">")
		}
		w.s("</tr>\n")
	}
	if len(b.rows) > 0 {
		if b.headRows >= len(b.rows) {
			w.s("</thead>\n")
		} else {
			w.s("</tbody>\n")
		}
	}
	w.s("</table>\n")
}

// cssClass makes s a class name: lower case letters, digits and hyphens.
func cssClass(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}
