package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"golang.org/x/net/html"

	"cheeseshop/internal/pep"
)

// The bounds of a simple-API source's answers.
const (
	// maxPage bounds a page (the root list of a large index is tens of
	// megabytes).
	maxPage = 256 << 20
	// pageTimeout bounds the fetch of a page, fileTimeout of a file.
	pageTimeout = 2 * time.Minute
	fileTimeout = 30 * time.Minute
)

// acceptSimple asks for PEP 691 JSON, and takes PEP 503 HTML.
const acceptSimple = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"

// Simple is the simple API (PEP 503 HTML or PEP 691 JSON) of another
// index, at the URL of its root list. Credentials in the URL's userinfo
// are sent (HTTP basic) to the index's own host only, and never appear in
// String or in errors.
type Simple struct {
	root   *url.URL // without userinfo, with a trailing slash
	user   string
	pass   string
	hasPW  bool
	client *http.Client
}

// NewSimple parses the root URL of an index's simple API.
func NewSimple(raw string) (*Simple, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("import: %q is not the http(s) URL of an index's simple API", redact(raw))
	}
	s := &Simple{}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, s.hasPW = u.User.Password()
		u.User = nil
	}
	u.Fragment, u.RawQuery = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	s.root = u
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: time.Minute,
			MaxIdleConnsPerHost:   4,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if !s.trusted(req.URL) {
				// net/http keeps them for the same host name on any
				// port or scheme.
				req.Header.Del("Authorization")
			}
			return nil
		},
	}
	return s, nil
}

// trusted reports whether the credentials may go to u: the index's own
// host (and port), over the root's scheme or https; never in clear to an
// https index's host, nor to another port, along a link or a redirect.
func (s *Simple) trusted(u *url.URL) bool {
	return u.Host == s.root.Host && (u.Scheme == s.root.Scheme || u.Scheme == "https")
}

// redact hides the password of a URL as typed, for an error.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the URL"
}

// String implements Source: the root URL without credentials.
func (s *Simple) String() string { return s.root.String() }

// get fetches a URL, with the credentials when it is on the index's host;
// the caller closes the answer's body.
func (s *Simple) get(ctx context.Context, u *url.URL, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", "cheeseshop-import")
	if (s.user != "" || s.hasPW) && s.trusted(u) {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL
		}
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u, printable(resp.Status)) // the source's text
	}
	return resp, nil
}

// page fetches a simple-API page: its body, whether it is PEP 691 JSON,
// and its URL after redirects (the base of relative links).
func (s *Simple) page(ctx context.Context, u *url.URL) ([]byte, bool, *url.URL, error) {
	ctx, cancel := context.WithTimeout(ctx, pageTimeout)
	defer cancel()
	resp, err := s.get(ctx, u, acceptSimple)
	if err != nil {
		return nil, false, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, false, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxPage {
		return nil, false, nil, fmt.Errorf("GET %s: the page is larger than %d MiB", u, maxPage>>20)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	final := *resp.Request.URL
	final.User = nil
	return body, ct == "application/vnd.pypi.simple.v1+json", &final, nil
}

// Projects implements Source: the names of the root list.
func (s *Simple) Projects(ctx context.Context) ([]string, error) {
	body, isJSON, _, err := s.page(ctx, s.root)
	if err != nil {
		return nil, err
	}
	if isJSON {
		var doc struct {
			Projects []struct {
				Name string `json:"name"`
			} `json:"projects"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("GET %s: not a PEP 691 project list: %w", s.root, err)
		}
		names := make([]string, 0, len(doc.Projects))
		for _, p := range doc.Projects {
			if pep.ValidProjectName(p.Name) {
				names = append(names, p.Name)
			}
		}
		return names, nil
	}
	var names []string
	for _, a := range anchors(body) {
		if name := strings.TrimSpace(string(a.text)); pep.ValidProjectName(name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// Files implements Source: the files of the project's page.
func (s *Simple) Files(ctx context.Context, project string) ([]File, error) {
	u := s.root.JoinPath(pep.NormalizeName(project) + "/")
	body, isJSON, base, err := s.page(ctx, u)
	if err != nil {
		return nil, err
	}
	if isJSON {
		return jsonFiles(body, base, project)
	}
	return htmlFiles(body, base, project)
}

// jsonFiles reads the files of a PEP 691 project page.
func jsonFiles(body []byte, base *url.URL, project string) ([]File, error) {
	var doc struct {
		Files []struct {
			Filename   string            `json:"filename"`
			URL        string            `json:"url"`
			Hashes     map[string]string `json:"hashes"`
			UploadTime string            `json:"upload-time"`
			Yanked     json.RawMessage   `json:"yanked"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("GET %s: not a PEP 691 project page: %w", base, err)
	}
	files := make([]File, 0, len(doc.Files))
	for _, jf := range doc.Files {
		loc, err := base.Parse(jf.URL)
		if err != nil {
			return nil, fmt.Errorf("GET %s: the URL of %s: %w", base, jf.Filename, err)
		}
		loc.Fragment = ""
		f := File{Filename: jf.Filename, Project: project, SHA256: strings.ToLower(jf.Hashes["sha256"]), loc: loc.String(), remote: true}
		if jf.UploadTime != "" {
			if t, err := time.Parse(time.RFC3339Nano, jf.UploadTime); err == nil {
				f.UploadTime = t.UTC()
			}
		}
		var yanked any
		if len(jf.Yanked) > 0 && json.Unmarshal(jf.Yanked, &yanked) == nil {
			switch y := yanked.(type) {
			case bool:
				f.Yanked = y
			case string:
				f.Yanked, f.YankedReason = true, y
			}
		}
		files = append(files, f)
	}
	return files, nil
}

// htmlFiles reads the files of a PEP 503 project page: each anchor's URL
// (relative to the page, or to its <base href>), its #sha256= fragment
// and its PEP 592 data-yanked. HTML gives no upload time.
func htmlFiles(body []byte, page *url.URL, project string) ([]File, error) {
	var files []File
	for _, a := range anchors(body) {
		base := page
		if a.base != "" {
			if b, err := page.Parse(a.base); err == nil {
				base = b
			}
		}
		loc, err := base.Parse(a.href)
		if err != nil {
			continue
		}
		f := File{Filename: path.Base(loc.Path), Project: project, remote: true}
		if algo, digest, ok := strings.Cut(loc.Fragment, "="); ok && algo == "sha256" {
			f.SHA256 = strings.ToLower(digest)
		}
		if un, err := url.PathUnescape(f.Filename); err == nil {
			f.Filename = un
		}
		loc.Fragment = ""
		f.loc = loc.String()
		f.YankedReason, f.Yanked = a.yanked, a.isYanked
		files = append(files, f)
	}
	return files, nil
}

// maxAnchorText bounds the text kept of an anchor: a project's name is
// far shorter, and a page of many text pieces in one anchor is read in
// linear time.
const maxAnchorText = 1024

// anchor is an <a> of an HTML page.
type anchor struct {
	href, base string
	text       []byte
	yanked     string
	isYanked   bool
}

// anchors reads the <a href> of an HTML page, with the <base href> before
// them.
func anchors(body []byte) []anchor {
	z := html.NewTokenizer(bytes.NewReader(body))
	var (
		out  []anchor
		cur  = -1 // the open anchor's index in out
		base string
	)
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch t.Data {
			case "base":
				for _, at := range t.Attr {
					if at.Key == "href" {
						base = at.Val
					}
				}
			case "a":
				a := anchor{base: base}
				hasHref := false
				for _, at := range t.Attr {
					switch at.Key {
					case "href":
						a.href, hasHref = at.Val, true
					case "data-yanked":
						a.yanked, a.isYanked = at.Val, true
					}
				}
				if hasHref {
					out = append(out, a)
					cur = len(out) - 1
				}
			}
		case html.TextToken:
			if cur >= 0 && len(out[cur].text) < maxAnchorText {
				out[cur].text = append(out[cur].text, z.Text()...)
			}
		case html.EndTagToken:
			if t := z.Token(); t.Data == "a" {
				cur = -1
			}
		}
	}
}

// Open implements Source: the file's content, fetched within fileTimeout.
func (s *Simple) Open(ctx context.Context, f File) (io.ReadCloser, error) {
	u, err := url.Parse(f.loc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fileTimeout)
	resp, err := s.get(ctx, u, "")
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelBody{ReadCloser: resp.Body, cancel: cancel}, nil
}

// cancelBody ends the fetch's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
