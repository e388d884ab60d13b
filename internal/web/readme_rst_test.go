package web

import (
	"net/http"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// rstDescription is a reStructuredText description as real projects
// write them (badges, sections, code, links), with attempts to run a
// script.
const rstDescription = "Demo\n====\n\n" +
	".. image:: https://img.shields.io/badge/ok-green.svg\n   :target: https://example.org/ci\n   :alt: build\n\n" +
	"A *demo* with ``code`` and a `link <https://example.org/docs>`_.\n\n" +
	"Install\n-------\n\n.. code-block:: bash\n\n    pip install demo\n\n" +
	"Hostile\n-------\n\n`click <javascript:alert(1)>`_ and bad_.\n\n" +
	".. image:: javascript:alert(2)\n\n.. _bad: javascript:alert(3)\n"

// TestProjectPageRST: a reStructuredText description (here without a
// Description-Content-Type, so rST by default) is rendered on the
// project page, safely; one PyPI fails to render is refused with PyPI's
// message; an older release's is rendered at its first view.
func TestProjectPageRST(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		u := s.userWithPassword("alice", "correct horse battery")
		tok := s.token(u)
		s.uploadDist(tok, disttest.Dist{Name: "demo", Version: "1.0", Description: rstDescription,
			DescriptionContentType: disttest.NoContentType}, false)
		resp, body := s.get("/project/demo/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("project page: %s", resp.Status)
		}
		page := string(body)
		assertSafe(t, page)
		for _, want := range []string{
			`<div class="rst">`,
			`<a href="https://example.org/ci" rel="nofollow ugc noopener"><img alt="build" src="https://img.shields.io/badge/ok-green.svg"></a>`,
			"A <em>demo</em> with <code>code</code> and a " + `<a href="https://example.org/docs" rel="nofollow ugc noopener">link</a>.`,
			`<section id="install">` + "\n<h2>Install</h2>",
			`<pre class="code bash"><code>pip install demo</code></pre>`,
			"<p>click and bad.</p>",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("project page lacks %q", want)
			}
		}
		if strings.Contains(page, "javascript:") {
			t.Error("project page carries a javascript: address")
		}

		// PyPI refuses what docutils warns about, with its message.
		dist := disttest.Dist{Name: "demo", Version: "2.0", Description: "Title\n====\n\ntext\n", DescriptionContentType: "text/x-rst"}
		content := dist.Wheel()
		resp, body = s.do(s.uploadRequest(tok, dist.Form("bdist_wheel", content), dist.WheelFilename(), content))
		const want = "The description failed to render for 'text/x-rst'. See "
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Status, want) || !strings.Contains(string(body), "Title underline too short.") {
			t.Fatalf("upload of a description PyPI refuses: %s\n%s", resp.Status, body)
		}

		// A release stored without its rendering is rendered at its
		// first view.
		if _, err := s.st.DB().Exec(`UPDATE releases SET description_html = NULL`); err != nil {
			t.Fatal(err)
		}
		if _, body := s.get("/project/demo/1.0/"); !strings.Contains(string(body), `<section id="install">`) {
			t.Errorf("release page without a stored rendering lacks the rST description")
		}
	})
}
