package readme

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	attrRE = regexp.MustCompile(`^\s+([^\s="'<>/]+)(?:="([^"]*)")?`)
)

// unsafeHTML returns what makes out unsafe, or "": the renderer's HTML is
// well-formed (text escaped, attribute values double-quoted), so its tags
// can be read with regular expressions. Nothing may run a script: no
// script-like element, no event handler attribute, no address with a
// script scheme.
func unsafeHTML(out string) string {
	for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
		switch strings.ToLower(m[2]) {
		case "script", "iframe", "object", "embed", "style", "form", "base", "meta", "link", "svg", "math":
			return "element " + m[0]
		}
		rest := m[3]
		for {
			a := attrRE.FindStringSubmatch(rest)
			if a == nil {
				break
			}
			rest = rest[len(a[0]):]
			name := strings.ToLower(a[1])
			if strings.HasPrefix(name, "on") {
				return "event handler in " + m[0]
			}
			v := strings.ToLower(strings.Map(func(r rune) rune {
				if r <= ' ' {
					return -1
				}
				return r
			}, html.UnescapeString(a[2])))
			if (name == "href" || name == "src") && !safeURL([]byte(v)) {
				return "unsafe address in " + m[0]
			}
		}
		if strings.TrimSpace(strings.TrimSuffix(rest, "/")) != "" {
			return "unparsed attributes in " + m[0]
		}
	}
	return ""
}

func TestRender(t *testing.T) {
	t.Parallel()
	const gfm = "text/markdown; variant=GFM"
	tests := []struct {
		name, in, ct string
		want         []string // substrings of the output
		not          []string // substrings that must not appear
	}{
		{name: "script element", in: "hi\n\n<script>alert(1)</script>\n", ct: gfm,
			want: []string{"<p>hi</p>"}, not: []string{"<script", "alert(1)"}},
		{name: "inline script", in: "a <script>alert(1)</script> b", ct: "text/markdown", not: []string{"<script"}},
		{name: "img onerror", in: `<img src=x onerror=alert(1)>`, ct: gfm, not: []string{"<img", "onerror"}},
		{name: "javascript link", in: "[x](javascript:alert(1))", ct: gfm, want: []string{"<p>x</p>"}, not: []string{"<a", "javascript:"}},
		{name: "mixed case javascript link", in: "[x](JaVaScRiPt:alert(1))", ct: gfm, not: []string{"<a", "href"}},
		{name: "entity encoded javascript link", in: "[x](&#106;avascript:alert(1))", ct: gfm, not: []string{"<a", "href"}},
		{name: "vbscript link", in: "[x](vbscript:msgbox)", ct: gfm, not: []string{"<a"}},
		{name: "data link", in: "[x](data:text/html;base64,PHNjcmlwdD4=)", ct: gfm, not: []string{"<a", "data:"}},
		{name: "reference javascript link", in: "[x][r]\n\n[r]: javascript:alert(1)\n", ct: gfm, not: []string{"<a"}},
		{name: "autolink javascript", in: "<javascript:alert(1)>", ct: gfm, not: []string{"<a"}},
		{name: "html anchor", in: `<a href="javascript:alert(1)">x</a>`, ct: gfm, not: []string{"<a", "javascript:alert"}},
		{name: "image javascript", in: "![i](javascript:alert(1))", ct: gfm, not: []string{"javascript:"}},
		{name: "title attribute breakout", in: `[a](https://x.org "t"" onmouseover=x")`, ct: gfm, not: []string{`" onmouseover`}},
		{name: "code fence info", in: "```js\" onload=\"x\ncode\n```", ct: gfm, want: []string{"<pre><code"}, not: []string{`" onload`}},
		{name: "safe link", in: "[docs](https://example.org/docs)", ct: gfm,
			want: []string{`<a href="https://example.org/docs" rel="nofollow ugc noopener">docs</a>`}},
		{name: "relative link", in: "[up](../x#y)", ct: gfm, want: []string{`href="../x#y"`}},
		{name: "table", in: "| a | b |\n|---|---|\n| 1 | 2 |\n", ct: gfm, want: []string{"<table>", "<td>2</td>"}},
		{name: "strikethrough", in: "~~old~~", ct: gfm, want: []string{"<del>old</del>"}},
		{name: "task list", in: "- [x] done\n- [ ] todo\n", ct: gfm, want: []string{`checked="" disabled="" type="checkbox"`}},
		{name: "autolink www", in: "see www.example.org now", ct: gfm, want: []string{`<a href="http://www.example.org"`}},
		{name: "commonmark variant", in: "# Title", ct: "text/markdown; charset=UTF-8; variant=CommonMark", want: []string{"<h1>Title</h1>"}},
		{name: "rst raw is refused, shown as text", in: ".. raw:: html\n\n   <script>alert(1)</script>\n", ct: "text/x-rst",
			want: []string{`<pre class="plain">`, "&lt;script&gt;"}, not: []string{"<script"}},
		{name: "rst", in: "Some *text*.\n", ct: "text/x-rst", want: []string{`<div class="rst"><p>Some <em>text</em>.</p>`}},
		{name: "plain text", in: "<b>bold</b> & more", ct: "text/plain", want: []string{"&lt;b&gt;bold&lt;/b&gt; &amp; more"}},
		{name: "empty type is rst", in: "# not a heading", ct: "", want: []string{`<div class="rst"><p># not a heading</p>`}},
		{name: "unknown type", in: "<i>x</i>", ct: "application/x-weird", not: []string{"<i>"}},
		{name: "malformed type", in: "# t", ct: "text/markdown;;;=", want: []string{"<h1>t</h1>"}},
		{name: "invalid utf-8", in: "a\xffb", ct: "text/plain", want: []string{"a\uFFFDb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := Render(tt.in, tt.ct)
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

func TestRenderLimit(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/markdown", "text/plain", "text/x-rst"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			in := strings.Repeat("é", MaxBytes) // 2 bytes each: the cut falls inside one
			h, err := Render(in, ct)
			if err != nil {
				t.Fatal(err)
			}
			out := string(h)
			if len(out) > MaxBytes+1024 {
				t.Errorf("output is %d bytes, want about %d", len(out), MaxBytes)
			}
			if !strings.Contains(out, "description truncated") {
				t.Error("no truncation note")
			}
			if strings.Contains(out, "\uFFFD") {
				t.Error("cut inside a character")
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	tests := map[string]Kind{
		"text/markdown": Markdown, "TEXT/Markdown; variant=GFM": Markdown, "text/markdown;variant=commonmark": Markdown,
		"text/x-rst": RST, "text/x-rst; charset=UTF-8": RST, "": RST, "text/plain": Text, "markdown": Text,
	}
	for ct, want := range tests {
		if got := KindOf(ct); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", ct, got, want)
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"# Title\n\n[x](javascript:alert(1))", "<script>alert(1)</script>", `<img src=x onerror=alert(1)>`,
		"| a |\n|---|\n| <b>x</b> |", "- [ ] <a href=\"javascript:x\">t</a>", "[a](<javascript:x>)", "![i](vbscript:x)",
	} {
		f.Add(s, "text/markdown")
	}
	f.Add("<script>x</script>", "text/x-rst")
	f.Fuzz(func(t *testing.T, in, ct string) {
		h, _ := Render(in, ct)
		out := string(h)
		// Text is escaped, so "<script" or "onerror=" can only be markup.
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("Render(%q, %q) has a script element:\n%s", in, ct, out)
		}
		if bad := unsafeHTML(out); bad != "" {
			t.Fatalf("Render(%q, %q): %s\n%s", in, ct, bad, out)
		}
	})
}
