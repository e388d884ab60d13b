package readme

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRSTRefusals: each row is a description readme_renderer 37.3
// (docutils 0.19, as PyPI runs it) refuses, with the message docutils
// reports first; the rows that PyPI accepts have no message.
func TestRSTRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     string // docutils' message; "" when PyPI accepts
	}{
		{"title underline too short", "Title\n====\n\ntext\n", "Title underline too short."},
		{"short underline is text", "Title\n===\n\ntext\n", ""},
		{"explicit markup without blank line", "Para\n\n.. image:: x.png\ntext\n", "Explicit markup ends without a blank line; unexpected unindent."},
		{"explicit markup after explicit markup", ".. image:: a.png\n.. image:: b.png\n\ntext\n", ""},
		{"bullet list without blank line", "* item\ntext\n", "Bullet list ends without a blank line; unexpected unindent."},
		{"bullet item unindented", "- a\n b\n", "Bullet list ends without a blank line; unexpected unindent."},
		{"bullet item with paragraphs", "- a\n\n  b\n- c\n", ""},
		{"enumerator then text is a paragraph", "1. item\ntext\n", ""},
		{"indirect target chain longer than 16", indirectChain(40) + "\na0_\n", ""},
		{"circular indirect targets", ".. _a: b_\n.. _b: c_\n.. _c: a_\n\na_\n", `Indirect hyperlink target "a" (id="a") refers to target "b", forming a circular reference.`},
		{"circular indirect targets, not referenced", "text\n\n.. _a: b_\n.. _b: a_\n", `Indirect hyperlink target "a" (id="a") refers to target "b", forming a circular reference.`},
		{"indirect target to nothing", "text\n\n.. _a: b_\n", `Indirect hyperlink target "a" (id="a") refers to target "b", which does not exist.`},
		{"empty comment then a quote", "..\n\n   quote\n", ""},
		{"unclosed emphasis", "*emphasis\n", "Inline emphasis start-string without end-string."},
		{"unclosed strong", "**strong\n", "Inline strong start-string without end-string."},
		{"unclosed literal", "``literal\n", "Inline literal start-string without end-string."},
		{"unclosed interpreted", "`interp\n", "Inline interpreted text or phrase reference start-string without end-string."},
		{"unclosed substitution", "|sub\n", "Inline substitution_reference start-string without end-string."},
		{"unknown target", "See target_.\n", `Unknown target name: "target".`},
		{"duplicate embedded target", "See `a <http://a>`_ and `a <http://b>`_.\n", `Duplicate explicit target name: "a".`},
		{"same embedded target twice", "See `a <http://a>`_ and `a <http://a>`_.\n", ""},
		{"duplicate target", ".. _a: http://a\n.. _a: http://b\n", `Duplicate explicit target name: "a".`},
		{"sphinx directive", ".. automodule:: foo\n", `Unknown directive type "automodule".`},
		{"sphinx role", "See :ref:`x`.\n", `Unknown interpreted text role "ref".`},
		{"raw", ".. raw:: html\n\n   <b>x</b>\n", `"raw" directive disabled.`},
		{"raw role", "x :raw:`<b>x</b>`\n", "raw (and derived) roles disabled"},
		{"derived raw role", ".. role:: raw-html(raw)\n   :format: html\n\n:raw-html:`<b>x</b>`\n", "raw (and derived) roles disabled"},
		{"derived raw role unused", ".. role:: raw-html(raw)\n   :format: html\n\nx\n", ""},
		{"circular substitution", ".. |a| replace:: |b|\n.. |b| replace:: |a|\n\n|a|\n", `Circular substitution definition referenced: "a".`},
		{"linked badge", "A |b|_ c\n\n.. |b| image:: x.png\n.. _b: http://x\n", ""},
		{"include", ".. include:: other.rst\n", `"include" directive disabled.`},
		{"undefined substitution", "Text |nosuch| here.\n", `Undefined substitution referenced: "nosuch".`},
		{"unexpected indentation", "Para one\nline two\n    indented\n", "Unexpected indentation."},
		{"literal block expected", "Lit::\n\nno literal\n", "Literal block expected; none found."},
		{"anonymous mismatch", "See `x`__ and `y`__.\n\n__ http://x\n", "Anonymous hyperlink mismatch: 2 references but 1 targets."},
		{"unknown code language", ".. code-block:: nosuchlanguage\n\n   x\n", ""},
		{"directive without content", ".. note::\n", `Content block expected for the "note" directive; none found.`},
		{"image without address", ".. image::\n", "Error in \"image\" directive:\n1 argument(s) required, 0 supplied."},
		{"image with unknown option", ".. image:: x.png\n   :bogus: 1\n", "Error in \"image\" directive:\nunknown option: \"bogus\"."},
		{"overline and underline differ", "=====\nTitle\n======\n", "Title overline & underline mismatch."},
		{"overline too short", "====\nLongtitle\n====\n", "Title overline too short."},
		{"transition first", "----\n\nText\n", "Document or section may not begin with a transition."},
		{"transition last", "Text\n\n----\n", "Document may not end with a transition."},
		{"adjacent transitions", "Text\n\n----\n\n----\n\nmore\n", "At least one body element must separate transitions; adjacent transitions are not allowed."},
		{"text after simple table", "=====  =====\na      b\n=====  =====\ntext\n", "Blank line required after table."},
		{"malformed grid table", "+---+---+\n| a | b |\n+---+\n", "Malformed table."},
		{"unknown footnote", "Text [1]_.\n", `Unknown target name: "1".`},
		{"too many auto footnote references", ".. [#] note\n\nText [#]_ [#]_.\n", "Too many autonumbered footnote references: only 1 corresponding footnotes available."},
		{"bad pep", ":pep:`abc`\n", `PEP number must be a number from 0 to 9999; "abc" is invalid.`},
		{"duplicate substitution", ".. |a| replace:: x\n.. |a| replace:: y\n\n|a|\n", `Duplicate substitution definition name: "a".`},
		{"section levels", "Title\n=====\n\nSub\n---\n\nSubsub\n~~~~~~\n\nBack\n~~~~\n", ""},
		{"title level inconsistent", "Title\n=====\n\nx\n\nSub\n---\n\nx\n\nDeep\n~~~~\n\nx\n\nTop\n=====\n\nDeep\n~~~~\n", "Title level inconsistent:"},
		{"internal target", ".. _x:\n\nText\n", ""},
		{"malformed target", ".. _`x`:http://x\n", "malformed hyperlink target."},
		{"block quote without blank line", "term\n   def\n  more\n", "Block quote ends without a blank line; unexpected unindent."},
		{"empty", "", ""},
		{"blank", " \n\n", ""},
		{"comment only", ".. comment only\n", "The description renders as nothing."},
		{"definition list then bullet", "Para\n term def\n* item\n", "Definition list ends without a blank line; unexpected unindent."},
		{"definition list items adjacent", "a\n    x\nb\n    y\n", ""},
		{"target link not a reference", ".. _x: https://example.org/a\n   `b <http://y>`_\n\nSee x_.\n", ""},
		{"image target address ending in underscore", ".. image:: x.png\n   :target: https://pypi.org/project/pip/_\n", ""},
		{"indented overlined title too short", "=====\n   Title\n=====\n\nx\n", "Title overline too short."},
		{"short overline mismatch is text", "x\n\n\\\\\nTitle\n^^^^^\n\nx\n", ""},
		{"inline target", "See `GNOME`_ and _`GNOME` here.\n", ""},
		{"target name starting with underscore", ".. __x:\n\ny\n", "malformed hyperlink target."},
		{"option name ending in space is text", ".. image:: x.png\n   :alt *e* : y\n", ""},
		{"space before directive colons", ".. note ::\n\n   x\n", ""},
		{"space before substitution colons", ".. |a| image ::  x.png\n\n|a|\n", `Substitution definition "a" empty or invalid.`},
		{"enumerator then skipped value is a paragraph", "1. one\n3. three\n", ""},
		{"contents in a block quote", "x\n\n   .. contents::\n", `The "contents" directive may not be used within topics or body elements.`},
		{"topic in a list", "- .. topic:: T\n\n     body\n", `The "topic" directive may not be used within topics or body elements.`},
		{"transition ending the last section", "T\n=\n\nx\n\nU\n=\n\ny\n\n----\n", "Document may not end with a transition."},
		{"unicode with content", ".. |u| unicode:: U+00A9\n\n   x\n\n|u|\n", "Error in \"unicode\" directive:\nno content permitted."},
		{"replace of two paragraphs", ".. |r| replace:: a\n\n   b\n\n|r|\n", `Error in "replace" directive: may contain a single paragraph only.`},
		{"target ends at a blank line", ".. _w: https://w.example\n\n    quoted\n", ""},
		{"reference inside an address", "http://example.org/path_with_underscore_ in text.\n", `Unknown target name: "path_with_underscore".`},
		{"address", "Docs at https://example.org/docs/.\n", ""},
		{"image width with a space", ".. image:: x.png\n   :width: 200 px\n", ""},
		{"image width not a length", ".. image:: x.png\n   :width: wide\n", "Error in \"image\" directive:\ninvalid option value: (option: \"width\"; value: 'wide')\nnot a positive measure of one of the following units:\n\"em\" \"ex\" \"px\" \"in\" \"cm\" \"mm\" \"pt\" \"pc\" \"%\"."},
		{"meta takes a field list", ".. meta::\n   :keywords: a, b\n\nText.\n", ""},
		{"badge", ".. |b| image:: https://img.example/b.svg\n   :target: https://example.org\n\n|b| text\n", ""},
		{"image target reference", ".. image:: x.png\n   :target: `PyPI link`_\n\n.. _PyPI link: https://pypi.org/\n", ""},
		{"section reference", "Intro\n=====\n\nSee `Usage`_.\n\nUsage\n=====\n\nx\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render(tt.in, "text/x-rst")
			var rerr *RSTError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v; PyPI accepts", err)
			case tt.want == "":
			case !errors.As(err, &rerr):
				t.Fatalf("accepted (%v); PyPI refuses: %s\n%s", err, tt.want, out)
			case rerr.Msg != tt.want:
				t.Errorf("message %q, want %q", rerr.Msg, tt.want)
			}
			if bad := unsafeHTML(string(out)); bad != "" {
				t.Errorf("unsafe output: %s", bad)
			}
		})
	}
}

// TestRSTHTML checks the HTML of the constructs real descriptions use,
// and that nothing in them can run a script.
func TestRSTHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
		not      []string
	}{
		{"doc title dropped, sections h2", "Title\n=====\n\nIntro.\n\nPart\n----\n\nText.\n\nOther\n-----\n",
			[]string{`<p>Intro.</p>`, `<section id="part">` + "\n<h2>Part</h2>"}, []string{"Title"}},
		{"inline", "*em* **strong** ``code`` `cite` :sub:`2`\n",
			[]string{"<em>em</em>", "<strong>strong</strong>", "<code>code</code>", "<cite>cite</cite>", "<sub>2</sub>"}, nil},
		{"escaped text", "a < b & \"c\" \\*not em\\*\n", []string{"a &lt; b &amp; &#34;c&#34; *not em*"}, []string{"<em>"}},
		{"embedded link", "`Docs <https://example.org/d>`_\n", []string{`<a href="https://example.org/d" rel="nofollow ugc noopener">Docs</a>`}, nil},
		{"named link", "See docs_.\n\n.. _docs: https://example.org/\n", []string{`<a href="https://example.org/" rel="nofollow ugc noopener">docs</a>`}, nil},
		{"standalone link", "Go to https://example.org/x.\n", []string{`<a href="https://example.org/x" rel="nofollow ugc noopener">https://example.org/x</a>.`}, nil},
		{"javascript link", "`x <javascript:alert(1)>`_\n", []string{"<p>x</p>"}, []string{"<a", "javascript"}},
		{"javascript target", "x_\n\n.. _x: javascript:alert(1)\n", nil, []string{"<a", "javascript:"}},
		{"empty comment ends a list, then a quote", "- item\n\n..\n\n   quote\n\n..\n   comment\n",
			[]string{"<li>item</li>\n</ul>\n<blockquote>\n<p>quote</p>\n</blockquote>"}, []string{"comment"}},
		{"header and footer not shown", ".. header:: top text\n\n.. footer:: bottom text\n\nbody\n", []string{"<p>body</p>"}, []string{"top text", "bottom text"}},
		{"escaped line ends", "a\\\nb and c\\\n\nterm\\\n  def\n", []string{"<p>ab and c</p>", "<dt>term</dt>"}, []string{`\`}},
		{"options after an admonition's first line", ".. note:: text\n   :class: x\n\n   more\n", []string{"<p>text</p>\n<p>more</p>"}, []string{":class:", "x\n"}},
		{"options after an admonition's first content line", ".. note::\n   text\n   :class: x\n", []string{"<p>text</p>"}, []string{":class:"}},
		{"options after a blank line are content", ".. note::\n\n   text\n   :class: x\n", []string{":class: x"}, nil},
		{"doc title after badge definitions and targets", ".. |b| image:: https://x/b.svg\n.. _x: https://x\n.. _top:\n\nTitle\n=====\n\ntext x_ |b|\n",
			[]string{`<span id="top"></span>`, `<p>text <a href="https://x"`}, []string{"Title", "<section"}},
		{"subtitle after a target", "Intro\n\nA\n=\n\n.. _t: https://x\n\nB\n-\n\ntext t_\n", []string{`<p class="section-subtitle">B</p>`}, []string{"<h3>"}},
		{"options on a directive's first line", "Title\n=====\n\n.. contents:: :local:\n\nA\n-\n\nt\n", []string{`<nav class="contents">` + "\n<ul"}, []string{":local:", "topic-title"}},
		{"local contents with a title", ".. contents:: Here\n   :local:\n\nA\n=\n\nt\n\nB\n=\n\nu\n", []string{`<p class="topic-title">Here</p>`}, nil},
		{"grid table with a last row spanning the columns", "+---+---+\n| a | b |\n+===+===+\n| c | d |\n+---+---+\n| spans |\n+-------+\n",
			[]string{`<tr><td colspan="2">spans</td></tr>`}, nil},
		{"docutils' grid table example", "+------------+------------+-----------+\n| Header 1   | Header 2   | Header 3  |\n+============+============+===========+\n" +
			"| body row 1 | column 2   | column 3  |\n+------------+------------+-----------+\n| body row 2 | Cells may span columns.|\n" +
			"+------------+------------+-----------+\n| body row 3 | Cells may  | - Cells   |\n+------------+ span rows. | - contain |\n" +
			"| body row 4 |            | - blocks. |\n+------------+------------+-----------+\n",
			[]string{`<td colspan="2">Cells may span columns.</td>`, `<td rowspan="2">Cells may
span rows.</td>`, "<td>body row 4</td>"}, nil},
		{"long indirect chain", "a0_\n\n" + indirectChain(40), []string{`<a href="https://example.org/" rel="nofollow ugc noopener">a0</a>`}, nil},
		{"javascript at the end of an indirect chain", "a0_\n\n" + strings.Replace(indirectChain(3), "https://example.org/", "javascript:alert(1)", 1), []string{"<p>a0</p>"}, []string{"<a", "javascript"}},
		{"javascript image", ".. image:: javascript:alert(1)\n   :target: javascript:alert(2)\n", []string{"<img"}, []string{"javascript:", "<a"}},
		{"data image", ".. image:: data:text/html;base64,PHNjcmlwdD4=\n", nil, []string{"data:"}},
		{"badge", ".. |b| image:: https://img.example/b.svg\n   :target: https://example.org\n   :alt: build\n\n|b|\n",
			[]string{`<a href="https://example.org" rel="nofollow ugc noopener"><img alt="build" src="https://img.example/b.svg"></a>`}, nil},
		{"attribute breakout", ".. image:: x.png\n   :alt: \" onerror=\"alert(1)\n", []string{`alt="&#34; onerror=&#34;alert(1)"`}, nil},
		{"code block", ".. code-block:: python\n\n   print('<hi>')\n", []string{`<pre class="code python"><code>print(&#39;&lt;hi&gt;&#39;)</code></pre>`}, nil},
		{"literal block", "Run::\n\n    $ pip install x\n", []string{"<p>Run:</p>", "<pre>$ pip install x</pre>"}, nil},
		{"class injection", ".. code-block:: x\"onload=\"y\n\n   z\n", []string{`class="code x-onload--y"`}, nil},
		{"lists", "- a\n- b\n\n#. one\n#. two\n",
			[]string{`<ul class="simple">` + "\n<li>a</li>", `<ol class="simple arabic">` + "\n<li>one</li>"}, nil},
		{"definition list", "term\n    definition\n", []string{"<dl>\n<dt>term</dt>\n<dd><p>definition</p>\n</dd>"}, nil},
		{"field list", ":Author: me\n", []string{`<dl class="field-list">`, "<dd>me</dd>"}, nil},
		{"note", ".. note:: Careful.\n", []string{`<aside class="admonition note">`, `<p class="admonition-title">Note</p>`, "<p>Careful.</p>"}, nil},
		{"simple table with spanning header", "=====  =====  ======\n   Inputs     Output\n------------  ------\n  A      B    A or B\n=====  =====  ======\nFalse  False  False\n=====  =====  ======\n",
			[]string{`<tr><th colspan="2">Inputs</th><th>Output</th></tr>`, "<td>False</td>"}, nil},
		{"grid table", "+---+---+\n| a | b |\n+===+===+\n| 1 | 2 |\n+---+---+\n", []string{"<thead>\n<tr><th>a</th><th>b</th></tr>", "<td>2</td>"}, nil},
		{"simple table", "=  =\na  b\n=  =\n1  2\n=  =\n", []string{"<th>a</th>", "<td>2</td>"}, nil},
		{"comment stripped", ".. a comment <script>\n\nText\n", []string{"<p>Text</p>"}, []string{"comment", "script"}},
		{"contents", ".. contents::\n\nA\n=\n\nx\n\nB\n=\n\ny\n", []string{`<nav class="contents">`, `<a href="#a">A</a>`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := Render(tt.in, "text/x-rst")
			if err != nil {
				t.Fatal(err)
			}
			out := string(h)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output contains %q:\n%s", n, out)
				}
			}
			if bad := unsafeHTML(out); bad != "" {
				t.Errorf("unsafe output: %s\n%s", bad, out)
			}
		})
	}
}

// rstWorstCases are inputs sized to hurt a parser: deep nesting, masses
// of markup, huge tables. Each must render (or be refused) in time about
// linear in its size.
func rstWorstCases() map[string]string {
	const n = MaxBytes - 1024
	rep := func(s string) string { return strings.Repeat(s, n/len(s)) }
	return map[string]string{
		"nested quotes":       nested("  ", "x\n\n", 2000),
		"nested lists":        nested("  ", "- x\n\n", 2000),
		"emphasis":            rep("*a* "),
		"unclosed emphasis":   rep("a *b "),
		"interpreted":         rep("`a` "),
		"references":          rep("a_ ") + "\n\n.. _a: http://x\n",
		"phrase references":   rep("`a <http://x>`_ "),
		"substitutions":       rep("|a| ") + "\n\n.. |a| replace:: b\n",
		"backslashes":         rep("\\"),
		"bullets":             rep("- a\n"),
		"titles":              rep("T\n=\n\n"),
		"grid table":          gridTable(300, 300),
		"simple table":        "=  =\n" + rep("a  b\n") + "=  =\n",
		"targets":             rep(".. _a: http://x\n"),
		"definition list":     rep("t\n  d\n"),
		"literal block":       "x::\n\n" + rep("   a\n"),
		"backquotes":          rep("`"),
		"stars":               rep("*"),
		"enumerators":         rep("#. a\n"),
		"field lists":         rep(":a: b\n"),
		"line blocks":         rep("| a\n"),
		"recursive replace":   ".. |a| replace:: |b|\n.. |b| replace:: |a|\n\n|a|\n",
		"exponential replace": exponentialReplace(40),
		"footnote refs":       rep("[#]_ ") + "\n\n.. [#] x\n",
		"anonymous":           rep("`a`__ ") + "\n",
		"indirect chain":      indirectChain(20000) + "\n" + strings.Repeat("a0_ ", (n-len(indirectChain(20000)))/4),
		"indented explicit":   nested("   ", ".. note::\n\n", 1000),
	}
}

// indirectChain defines n indirect targets a0 to a(n-1), each naming
// the next, and a(n) with an address.
func indirectChain(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ".. _a%d: a%d_\n", i, i+1)
	}
	fmt.Fprintf(&b, ".. _a%d: https://example.org/\n", n)
	return b.String()
}

// exponentialReplace defines n substitutions, each twice the next.
func exponentialReplace(n int) string {
	var b strings.Builder
	b.WriteString("|s0|\n\n")
	for i := range n {
		fmt.Fprintf(&b, ".. |s%d| replace:: |s%d| |s%d|\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, ".. |s%d| replace:: x\n", n)
	return b.String()
}

func nested(indent, line string, depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(indent, i) + line)
	}
	return b.String()
}

func gridTable(rows, cols int) string {
	border := strings.Repeat("+--", cols) + "+\n"
	row := strings.Repeat("|ab", cols) + "|\n"
	var b strings.Builder
	b.WriteString(border)
	for range rows {
		b.WriteString(row + border)
	}
	return b.String()
}

// TestRSTWorstCases checks that every input sized to hurt renders safely;
// BenchmarkRSTWorstCase measures their time.
func TestRSTWorstCases(t *testing.T) {
	t.Parallel()
	for name, in := range rstWorstCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, _ := Render(in, "text/x-rst")
			if bad := unsafeHTML(string(h)); bad != "" {
				t.Errorf("unsafe output: %s", bad)
			}
		})
	}
}

func BenchmarkRSTWorstCase(b *testing.B) {
	for name, in := range rstWorstCases() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				Render(in, "text/x-rst")
			}
		})
	}
}

// BenchmarkRenderRST renders a real README of 26 KB.
func BenchmarkRenderRST(b *testing.B) {
	src, err := os.ReadFile("testdata/rst/pyrsistent.rst")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Render(string(src), ""); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRST(f *testing.F) {
	for _, s := range []string{
		"Title\n=====\n\n*em* **strong** ``lit`` `ref <http://x>`_ x_\n\n.. _x: https://example.org\n",
		".. |b| image:: https://x/b.svg\n   :target: https://x\n\n|b|\n",
		"- a\n- b\n\n  1. c\n\n     d\n",
		"+---+---+\n| a | b |\n+===+===+\n| 1 | 2 |\n+---+---+\n",
		"=  =\na  b\n=  =\n1  2\n=  =\n",
		".. note::\n\n   x\n\n.. code-block:: python\n\n   y\n",
		"term\n  def\n\n:field: value\n\n-o  option\n",
		"`x <javascript:alert(1)>`_\n",
		".. image:: javascript:x\n   :target: javascript:y\n",
		"Text [#]_ [1]_ [cit]_\n\n.. [#] a\n.. [1] b\n.. [cit] c\n",
		"| line\n| block\n\n>>> doctest\n",
		".. contents::\n\nA\n=\n\nB\n-\n",
	} {
		f.Add(s)
	}
	// The real descriptions of testdata/rst, the small ones.
	files, _ := filepath.Glob("testdata/rst/*.rst")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) <= 4096 {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := Render(in, "text/x-rst")
		var rerr *RSTError
		if err != nil && !errors.As(err, &rerr) {
			t.Fatalf("Render(%q): error %v is not an *RSTError", in, err)
		}
		out := string(h)
		// Text is escaped, so "<script" can only be markup; unsafeHTML
		// finds javascript: and other schemes in addresses.
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("Render(%q) has a script element:\n%s", in, out)
		}
		if bad := unsafeHTML(out); bad != "" {
			t.Fatalf("Render(%q): %s\n%s", in, bad, out)
		}
		if bad := unbalanced(out); bad != "" {
			t.Fatalf("Render(%q): %s\n%s", in, bad, out)
		}
	})
}

// voidElements have no end tag.
var voidElements = map[string]bool{"img": true, "hr": true, "br": true}

// unbalanced returns what is wrong with the nesting of out's elements, or
// "": every element is closed, in order.
func unbalanced(out string) string {
	var stack []string
	for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
		name := strings.ToLower(m[2])
		switch {
		case voidElements[name]:
		case m[1] == "":
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			return "unexpected </" + name + ">"
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return "unclosed <" + stack[len(stack)-1] + ">"
	}
	return ""
}
