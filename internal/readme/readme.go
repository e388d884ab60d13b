// Package readme renders a project's description (the body of its core
// metadata) as safe HTML for the project page. Markdown is rendered with
// GitHub's extensions; raw HTML in it is dropped and links with dangerous
// schemes are disarmed. reStructuredText is rendered by a parser of its
// own (rst*.go) that refuses what PyPI refuses. Plain text and unknown
// types are shown as escaped, preformatted text.
package readme

import (
	"bytes"
	"errors"
	"html"
	"html/template"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Version is the version of the renderer: of the HTML that Render makes
// for a description. Renderings are stored with it (in the release rows),
// and one made by an older version is rendered again at its next view and
// replaces the stored one. Bump it whenever the HTML for some input
// changes, above all for a security fix: otherwise the fix never reaches
// the releases rendered before it.
const Version = 2

// MaxBytes is the longest description rendered (the longest an upload may
// carry); a longer one is cut at a character boundary and ends with a
// note.
const MaxBytes = 1 << 20

// truncatedNote ends a description cut at MaxBytes.
const truncatedNote = "\n\n… (description truncated)\n"

// Kind is how a description is rendered.
type Kind int

// The kinds of description.
const (
	Text     Kind = iota // escaped text in a <pre> (plain text, unknown)
	Markdown             // Markdown, CommonMark with GitHub's extensions
	RST                  // reStructuredText
)

// KindOf returns how a Description-Content-Type is rendered: Markdown for
// text/markdown (any variant), RST for text/x-rst and for an empty type
// (the default of the core metadata), else Text.
func KindOf(contentType string) Kind {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch mt {
	case "text/markdown":
		return Markdown
	case "text/x-rst", "":
		return RST
	}
	return Text
}

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM), // tables, strikethrough, autolinks, task lists
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(linkPolicy{}, 1000))),
	// No html.WithUnsafe: raw HTML is replaced by a comment, and links
	// and images with dangerous URLs get an empty address.
)

// Render returns the description as HTML that is safe to put in a page.
// Its cost is bounded whatever the description: Markdown that exceeds the
// budgets of guard (deep nesting, masses of markup characters, huge
// tables), reStructuredText beyond those of the rST parser, or either
// whose HTML would exceed 16 MiB, is shown as plain text with a note
// saying why. It is meant to run once per release (at upload, or at the
// first view of an older release), its result stored.
//
// The error is an *RSTError when the description is reStructuredText that
// PyPI fails to render (any docutils warning stops its renderer), and so
// refuses at upload; the HTML is then the description as plain text.
// Markdown and plain text never fail.
func Render(description, contentType string) (template.HTML, error) {
	description = limit(description)
	switch KindOf(contentType) {
	case RST:
		if strings.TrimSpace(description) == "" {
			// PyPI renders only a description that has text.
			return plain(description), nil
		}
		h, err := renderRST(description)
		if err != nil {
			return plain(description), err
		}
		return h, nil
	case Markdown:
		return renderMarkdown(description), nil
	}
	return plain(description), nil
}

// renderMarkdown renders Markdown, or shows it as plain text when it
// exceeds the budgets.
func renderMarkdown(description string) template.HTML {
	why := guard(description)
	if why == "" {
		out := &cappedBuffer{max: maxOutputBytes}
		if err := md.Convert([]byte(description), out); err == nil {
			return template.HTML(`<div class="markdown">` + out.String() + `</div>`)
		}
		// goldmark only fails when its writer does: the output grew
		// past the cap.
		why = "more HTML than a page can hold"
	}
	return template.HTML(`<p class="plain-note">This description is shown as plain text: as Markdown it has ` +
		template.HTMLEscapeString(why) + `.</p>` + string(plain(description)))
}

// plain is the description as escaped, preformatted text.
func plain(description string) template.HTML {
	return template.HTML(`<pre class="plain">` + template.HTMLEscapeString(description) + `</pre>`)
}

// errOutputTooLarge is the write error of a cappedBuffer past its cap.
var errOutputTooLarge = errors.New("readme: rendered HTML too large")

// cappedBuffer is a buffer that refuses to grow past max bytes.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errOutputTooLarge
	}
	return b.Buffer.Write(p)
}

// limit cuts s at MaxBytes, on a character boundary, and drops invalid
// UTF-8.
func limit(s string) string {
	if len(s) > MaxBytes {
		cut := MaxBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + truncatedNote
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// linkPolicy marks every link as user content that search engines should
// not credit and that gets no handle on this page, and unwraps links whose
// scheme is not on an allow list into their text (goldmark would render
// them with an empty address). Images with such addresses lose them.
type linkPolicy struct{}

// Transform implements parser.ASTTransformer.
func (linkPolicy) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var unwrap []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			if !safeURL(l.Destination) {
				unwrap = append(unwrap, l)
			}
			l.SetAttributeString("rel", []byte(rel))
		case *ast.AutoLink:
			if !safeURL(l.URL(source)) {
				unwrap = append(unwrap, l)
			}
			l.SetAttributeString("rel", []byte(rel))
		case *ast.Image:
			if !safeURL(l.Destination) {
				l.Destination = nil
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range unwrap {
		parent := n.Parent()
		if parent == nil {
			continue
		}
		if a, ok := n.(*ast.AutoLink); ok {
			parent.ReplaceChild(parent, a, ast.NewString(a.Label(source)))
			continue
		}
		for c := n.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, n, c) // moves c out of n
			c = next
		}
		parent.RemoveChild(parent, n)
	}
}

// rel is the rel attribute of every link in a description.
const rel = "nofollow ugc noopener"

// safeURL reports whether a link may point at dest: relative addresses,
// fragments, and the http, https, mailto and ftp schemes.
func safeURL(dest []byte) bool {
	// The renderer resolves character references ("&#106;avascript:").
	s := strings.TrimLeft(html.UnescapeString(string(dest)), " \t\r\n\f\x00")
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.ContainsAny(scheme, "/?#") {
		return true // no scheme: relative
	}
	// Browsers ignore tabs and newlines inside a scheme ("java\tscript:").
	scheme = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, scheme)
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto", "ftp":
		return true
	}
	return false
}
