package web

import (
	"html/template"
	"net/http"
	"strconv"
)

type page struct {
	Title string
	Body  template.HTML
}

// renderPage shows static help text inside the layout.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, p page) {
	s.render(w, r, http.StatusOK, "page", p.Title, p.Body)
}

// homeRecent is how many recently updated projects the home page lists.
const homeRecent = 10

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	recent, err := s.acct.Store().RecentProjects(r.Context(), homeRecent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	listed, err := s.listings(r.Context(), recent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "home", "Python package index", map[string]any{"Recent": listed})
}

func (s *Server) help(w http.ResponseWriter, r *http.Request) {
	base := template.HTMLEscapeString(s.idx.Config().BaseURL)
	s.renderPage(w, r, page{Title: "Help", Body: template.HTML(`
<h2 id="invalid-auth">Authentication for uploads</h2>
<p>Uploads authenticate with an API token: the username is <code>__token__</code> and the password is the token,
which starts with <code>cheeseshop-</code>. An administrator creates one with
<code>cheeseshop admin token create --username NAME</code>.</p>
<h2 id="apitoken">API tokens</h2>
<p>Passwords are never accepted for uploads. A token can act for all of its user's projects, or be scoped to some
projects (it then cannot create new ones), and can expire.</p>
<pre>twine upload --repository-url ` + base + `/legacy/ -u __token__ -p cheeseshop-… dist/*</pre>
<h2 id="project-name">Project names</h2>
<p>Names start and end with a letter or digit and contain only ASCII letters, digits, <code>.</code>, <code>_</code>
and <code>-</code>. A new name is refused when it is a Python standard-library module, prohibited by the
administrators, or too similar to an existing project: names are compared after lower-casing, removing
<code>.</code>, <code>_</code> and <code>-</code>, and reading <code>l</code> and <code>i</code> as <code>1</code>
and <code>o</code> as <code>0</code>. Only the project's Owners and Maintainers may upload to it.</p>
<h2 id="file-name-reuse">File name reuse</h2>
<p>A file name can be used once. Uploading the identical file again succeeds and changes nothing, so retries are
safe; a different file under a used name is refused, even if the earlier file was deleted. Publish a new version
(or a post-release, such as <code>1.0.post1</code>) instead.</p>
<h2 id="file-size-limit">File size limit</h2>
<p>Each file may be at most ` + template.HTMLEscapeString(byteSize(s.idx.Config().MaxFileSize)) + `.</p>
<h2 id="project-size-limit">Project size limit</h2>
<p>All files of a project together may be at most ` + template.HTMLEscapeString(byteSize(s.idx.Config().MaxProjectSize)) + `.
Delete old files to make room, or ask the administrators for a larger limit.</p>`)})
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return itoa(n>>30) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
