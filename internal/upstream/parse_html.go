package upstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/html"
)

// ParseHTML reads a PEP 503 project page: its anchors (href with a
// "#sha256=" fragment, data-requires-python, data-yanked,
// data-core-metadata or data-dist-info-metadata, PEP 503/592/658/714) and
// the meta tags pypi:repository-version (PEP 629: the major version must
// be 1), pypi:project-status and pypi:project-status-reason (PEP 792).
// Attribute values are HTML-unescaped; a <base href> is honoured. A
// "Links for NAME" title must name the project asked for. It refuses a
// page with more than MaxFiles anchors, and drops any anchor that is not
// a checkable file of the project. An HTML page gives no size and no
// upload time: they are unknown.
func ParseHTML(body []byte, o ParseOptions) (*Page, error) {
	b := newBuilder(o, "html")
	z := html.NewTokenizer(bytes.NewReader(body))
	base := o.PageURL
	var (
		status, reason string
		anchors        int
		inTitle, inA   bool
		title, text    strings.Builder
		anchor         map[string]string
		seenBase       bool
	)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("not an HTML page: %w", err)
			}
			if inA {
				b.addAnchor(base, anchor, text.String())
			}
			if err := b.checkTitle(title.String()); err != nil {
				return nil, err
			}
			if status != "" || reason != "" {
				b.setStatus(status, reason)
			}
			return b.page, nil
		case html.TextToken:
			switch {
			case inA && text.Len() < maxAnchorText:
				text.Write(z.Text())
			case inTitle && title.Len() < maxAnchorText:
				title.Write(z.Text())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "a":
				if inA {
					b.addAnchor(base, anchor, text.String())
					inA = false
				}
			case "title":
				inTitle = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			switch string(name) {
			case "a":
				if inA { // an unclosed anchor ends where the next begins
					b.addAnchor(base, anchor, text.String())
				}
				anchors++
				if anchors > MaxFiles {
					return nil, fmt.Errorf("more than %d anchors", MaxFiles)
				}
				anchor, inA = attrs, tt == html.StartTagToken
				text.Reset()
				if !inA {
					b.addAnchor(base, anchor, "")
				}
			case "title":
				inTitle = tt == html.StartTagToken
			case "base":
				if href, ok := attrs["href"]; ok && !seenBase {
					seenBase = true
					if u, err := url.Parse(strings.TrimSpace(href)); err == nil {
						base = o.PageURL.ResolveReference(u)
					}
				}
			case "meta":
				content := attrs["content"]
				switch attrs["name"] {
				case "pypi:repository-version":
					if err := checkAPIVersion(content); err != nil {
						return nil, err
					}
				case "pypi:project-status":
					status = strings.TrimSpace(content)
				case "pypi:project-status-reason":
					reason = content
				}
			}
		}
	}
}

// checkTitle checks a PEP 503 title "Links for NAME" against the project
// asked for, and takes the name from it.
func (b *builder) checkTitle(title string) error {
	name, ok := strings.CutPrefix(strings.TrimSpace(title), "Links for ")
	if !ok {
		return nil
	}
	return b.setName(strings.TrimSpace(name))
}

// addAnchor checks and adds one anchor.
func (b *builder) addAnchor(base *url.URL, attrs map[string]string, text string) {
	href, ok := attrs["href"]
	if !ok {
		b.drop(strings.TrimSpace(text), "anchor without href")
		return
	}
	u, fragment, err := b.resolve(base, href)
	if err != nil {
		b.drop(strings.TrimSpace(text), err.Error())
		return
	}
	filename := path.Base(u.Path)
	if t := strings.TrimSpace(text); t != "" && t != filename {
		b.drop(t, fmt.Sprintf("the anchor's text differs from its URL's filename %q", cut(filename, 100)))
		return
	}
	f := rawFile{filename: filename, url: u, size: -1, requiresPython: attrs["data-requires-python"]}
	if algo, digest, ok := strings.Cut(fragment, "="); ok && algo == "sha256" {
		f.sha256, _, _ = strings.Cut(digest, "&")
	}
	f.yankedReason, f.yanked = attrs["data-yanked"]
	meta, ok := attrs["data-core-metadata"]
	if !ok {
		meta = attrs["data-dist-info-metadata"]
	}
	if algo, digest, ok := strings.Cut(meta, "="); ok && algo == "sha256" {
		f.metadataSHA256 = digest
	}
	b.add(f)
}
