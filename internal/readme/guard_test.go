package readme

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repeatTo repeats unit until the result has about n bytes.
func repeatTo(unit string, n int) string {
	return strings.Repeat(unit, max(1, n/len(unit)))
}

// pathological are descriptions that take goldmark time growing faster
// than their size (see the measurements in guard.go), each about 1 MiB
// or as large as the case needs.
var pathological = map[string]string{
	"50k nested block quotes":        strings.Repeat(">", 50000) + " a",
	"50k nested block quotes, space": strings.Repeat("> ", 50000) + "a",
	"nested lists":                   strings.Repeat("- ", 20000) + "a",
	"nested ordered lists":           strings.Repeat("1. ", 20000) + "a",
	"lists nested by indentation": func() string {
		var b strings.Builder
		for i := range 2000 {
			b.WriteString(strings.Repeat("  ", i) + "- a\n")
		}
		return b.String()
	}(),
	"quotes and lists":           strings.Repeat("> - ", 10000) + "a",
	"deep quote, lazy lines":     strings.Repeat(">", 32) + " a\n" + repeatTo("b\n", 1<<20),
	"100k *a":                    strings.Repeat("*a", 100000),
	"mixed emphasis":             repeatTo("*a_", 1<<20),
	"unclosed links":             repeatTo("[a](", 1<<20),
	"unclosed links, long line":  repeatTo(strings.Repeat("[a](", 400)+strings.Repeat("b", 60000)+"\n\n", 1<<20),
	"unclosed link destinations": repeatTo("[a](<", 1<<20),
	"nested brackets":            strings.Repeat("[", 100000) + strings.Repeat("]", 100000),
	"link reference definitions": repeatTo("[a]: <\n", 1<<20),
	"numbered reference defs": func() string {
		var b strings.Builder
		for i := 0; b.Len() < 1<<20; i++ {
			fmt.Fprintf(&b, "[l%d]: /u\n", i)
		}
		return b.String()
	}(),
	"many references":               "[a]: /u\n\n" + strings.Repeat("[a]", 300000),
	"10k-column table, short lines": "|" + strings.Repeat("a|", 10000) + "\n|" + strings.Repeat("-|", 10000) + "\n" + repeatTo("a\n", 1<<20),
	"1000-column table, 200 rows":   "|" + strings.Repeat("a|", 1000) + "\n|" + strings.Repeat("-|", 1000) + "\n" + strings.Repeat("a\n", 200),
	"inline html":                   repeatTo("<a ", 1<<20),
	"autolinks":                     repeatTo("<http://a", 1<<20),
}

// TestGuardRefusesPathological: every pathological description exceeds a
// budget, so goldmark never sees it: it is shown as plain text, with the
// reason, at a cost linear in its size.
func TestGuardRefusesPathological(t *testing.T) {
	t.Parallel()
	for name, in := range pathological {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			why := guard(in)
			if why == "" {
				_, g := scan(in)
				t.Fatalf("guard let it through: %+v", g)
			}
			h, _ := Render(in, "text/markdown")
			out := string(h)
			if !strings.HasPrefix(out, `<p class="plain-note">This description is shown as plain text: as Markdown it has `+template.HTMLEscapeString(why)) ||
				!strings.Contains(out, `<pre class="plain">`) {
				t.Fatalf("Render = %.300s", out)
			}
		})
	}
}

// TestGuardAcceptsRealMarkdown: the project's own documents, and every
// construct the budgets approximate, render as Markdown.
func TestGuardAcceptsRealMarkdown(t *testing.T) {
	t.Parallel()
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	if len(docs) < 3 {
		t.Fatalf("found only %v", docs)
	}
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if why, g := scan(string(b)); why != "" {
			t.Errorf("%s: %s (%+v)", p, why, g)
		}
	}
	cases := map[string]string{
		"fenced code with markup":    "```\n" + strings.Repeat("x = [a](b) * c_d <e> `f`\n", 20000) + "```\n",
		"tilde fence in a fence":     "~~~~\n~~~\n" + strings.Repeat("[[[[****]]]]\n", 20000) + "~~~~\n",
		"html table":                 "<table>\n" + strings.Repeat(`<tr><td><a href="x"><img src="y" alt="z"/></a></td></tr>`+"\n", 10000) + "</table>\n",
		"html comments":              "<!-- start\n" + strings.Repeat("[a](<*_*_\n", 10000) + "end -->\n",
		"long list of links":         strings.Repeat("- [name](https://example.org/x) - *what* it does\n", 10000),
		"big table":                  "| a | b | c |\n|---|:-:|--:|\n" + strings.Repeat("| [x](y) | `z` | **w** |\n", 10000),
		"32-deep quote":              strings.Repeat(">", 32) + " deep\n",
		"paragraphs of links":        strings.Repeat("See [one](a), [two](b) and [three](c), or *emphasis* and `code`.\n\n", 10000),
		"reference definitions":      strings.Repeat("[ref]: https://example.org\n", 1000) + "\n" + strings.Repeat("[ref] ", 100),
		"heading before a paragraph": "# Title with `code`\n" + strings.Repeat("text *a* ", 200) + "\n",
	}
	for name, in := range cases {
		if why, g := scan(in); why != "" {
			t.Errorf("%s: %s (%+v)", name, why, g)
		}
	}
}

// TestGuardSkipsOnlyWhatGoldmarkSkips: blocks the guard does not count
// (top-level fences and HTML blocks) are recognised only where goldmark
// recognises them; elsewhere their lines count.
func TestGuardSkipsOnlyWhatGoldmarkSkips(t *testing.T) {
	t.Parallel()
	attack := repeatTo("[a](", 1<<20)
	for name, in := range map[string]string{
		"backtick fence with a backtick in its info": "``` a`b\n" + attack,
		"fence inside a quote, quote closed":         "> ```\n> x\n" + attack,
		"fence inside a list item":                   "- item\n\n  ```\nx\n" + attack,
		"indented fence":                             "    ```\n" + attack,
		"not a block tag":                            "<span>\n" + attack,
		"html block ended by a blank line":           "<div>\n\n" + attack,
		"comment closed":                             "<!-- x -->\n" + attack,
		"fence closed":                               "```\nx\n```\n" + attack,
		"fence closed by a longer fence":             "```\nx\n`````\n" + attack,
	} {
		if guard(in) == "" {
			t.Errorf("%s: the guard did not count the lines goldmark parses", name)
		}
	}
}

// BenchmarkRenderWorstCase renders, at about 1 MiB each, the most costly
// descriptions that pass the guard (each at the edge of one budget), and
// ordinary ones for comparison. The guard bounds the work; this measures
// what the bound costs.
func BenchmarkRenderWorstCase(b *testing.B) {
	// fill repeats unit after head as often as the guard accepts (found
	// by bisection), then pads with plain paragraphs to 1 MiB.
	fill := func(head, unit string) string {
		build := func(n int) string {
			s := head + strings.Repeat(unit, n) + "\n"
			if len(s) < 1<<20 {
				s += repeatTo("plain words in a paragraph\n\n", 1<<20-len(s))
			}
			return s
		}
		lo, hi := 0, (1<<20)/len(unit)+1 // build(lo) passes; build(hi) fails or is too large
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; guard(build(mid)) == "" {
				lo = mid
			} else {
				hi = mid
			}
		}
		return build(lo)
	}
	cases := map[string]string{
		"unclosed links":            fill("", strings.Repeat("[a](", 500)+"\n\n"),
		"unclosed links, long line": fill("", strings.Repeat("[a](", 300)+strings.Repeat("b", 60000)+"\n\n"),
		"nested brackets":           fill("", strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+"\n\n"),
		"mixed emphasis":            fill("", strings.Repeat("*a_", 600)+"\n\n"),
		"deep quote, lazy lines":    fill(strings.Repeat(">", 32)+" a\n", "b\n"),
		"table":                     fill("|"+strings.Repeat("a|", 1000)+"\n|"+strings.Repeat("-|", 1000)+"\n", "a\n"),
		"references":                fill("[a]: /u\n\n", strings.Repeat("[a]", 300)+"\n\n"),
		"short lines":               repeatTo("b\n", 1<<20),
		"prose":                     repeatTo("Some *prose* with [a link](https://example.org) and `code`.\n\n", 1<<20),
	}
	for name, in := range cases {
		if why := guard(in); why != "" {
			b.Fatalf("%s: the worst case does not pass the guard: %s", name, why)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				Render(in, "text/markdown")
			}
		})
	}
}

// FuzzGuard checks that the guard never panics, is deterministic, and
// that what it lets through is within every budget.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{
		"# T\n\n> > a\n> - b\n\n```\n[[[\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n",
		"<div>\n*a*\n\n<!-- x\n-->\n    code\n", "- a\n  - b\n    - c\nlazy\n", "~~~ `x`\n~~~~\n", "a\r\n-|-\r\nb|c\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		why, g := scan(in)
		if why2, g2 := scan(in); why2 != why || g2 != g {
			t.Fatalf("scan is not deterministic on %q", in)
		}
		if why == "" && (g.nesting > MaxNestingWork || g.inline > MaxInlineWork || g.cells > MaxTableCells) {
			t.Fatalf("guard let %q through with %+v", in, g)
		}
	})
}
