package index

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/readme"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadDescription: a release's description is rendered when its
// first file is uploaded, and reStructuredText that PyPI fails to render
// (any docutils warning) is refused with PyPI's message; a description
// without a content type is reStructuredText.
func TestUploadDescription(t *testing.T) {
	t.Parallel()
	const (
		badRST  = "Title\n====\n\ntext\n"                        // title underline too short
		goodRST = "Title\n=====\n\nSome *text*.\n\nMore\n----\n" // renders
	)
	tests := []struct {
		name, ct, desc string
		want           string // PyPI's message, "" when accepted
		html           string // in the stored rendering when accepted
	}{
		{name: "rst without content type", ct: disttest.NoContentType, desc: badRST,
			want: "The description failed to render in the default format of reStructuredText. See http://index.test/help/#description-content-type for more information."},
		{name: "rst", ct: "text/x-rst", desc: badRST,
			want: "The description failed to render for 'text/x-rst'. See http://index.test/help/#description-content-type for more information."},
		{name: "rst with charset", ct: "text/x-rst; charset=UTF-8", desc: "Unknown `target`_.\n",
			want: "The description failed to render for 'text/x-rst; charset=UTF-8'. See http://index.test/help/#description-content-type for more information."},
		{name: "sphinx role", ct: disttest.NoContentType, desc: "See :ref:`intro`.\n",
			want: "The description failed to render in the default format of reStructuredText. See http://index.test/help/#description-content-type for more information. " +
				`The renderer stopped at line 1: Unknown interpreted text role "ref".`},
		{name: "no description", ct: disttest.NoContentType, desc: ""},
		{name: "long reason cut", ct: "text/x-rst", desc: strings.Repeat("x", 5000) + "_\n",
			want: "The description failed to render for 'text/x-rst'. See http://index.test/help/#description-content-type for more information. " +
				`The renderer stopped at line 1: Unknown target name: "xxxx`},
		{name: "good rst", ct: "text/x-rst", desc: goodRST, html: "<p>Some <em>text</em>.</p>"},
		{name: "good rst without content type", ct: disttest.NoContentType, desc: goodRST, html: `<h2>More</h2>`},
		{name: "markdown never fails", ct: "text/markdown", desc: badRST, html: "<h1>Title</h1>"},
		{name: "plain text never fails", ct: "text/plain", desc: badRST, html: `<pre class="plain">`},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dist := disttest.Dist{Name: "described", Version: "1." + strconv.Itoa(i+1), Description: tt.desc, DescriptionContentType: tt.ct}
				_, err := f.uploadWheel(alice, dist)
				if tt.want != "" {
					var pe *problem.Error
					if !errors.As(err, &pe) || pe.Kind != problem.Invalid || !strings.HasPrefix(err.Error(), tt.want) || len(err.Error()) > 500 {
						t.Fatalf("upload: %.600v; want %q", err, tt.want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				proj, err := f.st.ProjectByName(ctx, "described")
				storetest.Must(t, err)
				rel, err := f.st.ReleaseByCanonicalVersion(ctx, proj.ID, dist.Version)
				storetest.Must(t, err)
				html, version, _, err := f.st.ReleaseDescriptionHTML(ctx, rel.ID)
				storetest.Must(t, err)
				if version != readme.Version {
					t.Errorf("stored rendering of version %d, want readme.Version %d", version, readme.Version)
				}
				if !strings.Contains(html, tt.html) {
					t.Errorf("stored rendering lacks %q:\n%s", tt.html, html)
				}
			})
		}
	})
}

// TestDescriptionRerendered: a rendering stored by an older renderer
// (before a fix to it) is rendered again at the release's next view and
// replaces the stored one, the project charged by the difference; a
// current one is read, not rendered again.
func TestDescriptionRerendered(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		alice := f.user("alice")
		f.mustWheel(alice, disttest.Dist{Name: "stale", Version: "1.0", Description: "# Fixed", DescriptionContentType: "text/markdown"})
		proj, err := f.st.ProjectByName(ctx, "stale")
		storetest.Must(t, err)
		rel, err := f.st.ReleaseByCanonicalVersion(ctx, proj.ID, "1")
		storetest.Must(t, err)
		current, version, _, err := f.st.ReleaseDescriptionHTML(ctx, rel.ID)
		storetest.Must(t, err)
		if version != readme.Version {
			t.Fatalf("upload stored version %d, want %d", version, readme.Version)
		}

		// A current rendering is served as stored.
		_, err = f.st.DB().ExecContext(ctx, `UPDATE releases SET description_html = '<p>kept</p>' WHERE id = $1`, rel.ID)
		storetest.Must(t, err)
		if h, err := readme.NewRenderer(f.svc.Descriptions(), 0, 0).Render(ctx, rel.ID, "# Fixed", "text/markdown"); err != nil || h != "<p>kept</p>" {
			t.Fatalf("a current rendering: %q, %v", h, err)
		}

		// An old one, as a renderer with a flaw since fixed stored it.
		stale := `<p><a href="javascript:alert(1)">flawed</a></p>`
		_, err = f.st.DB().ExecContext(ctx, `UPDATE releases SET description_html = $2, description_version = $3 WHERE id = $1`,
			rel.ID, stale, readme.Version-1)
		storetest.Must(t, err)
		_, err = f.st.DB().ExecContext(ctx, `UPDATE projects SET total_size = total_size - $2 + $3 WHERE id = $1`,
			proj.ID, len(current), len(stale))
		storetest.Must(t, err)
		proj, err = f.st.ProjectByID(ctx, proj.ID)
		storetest.Must(t, err)
		before := proj.TotalSize

		h, err := readme.NewRenderer(f.svc.Descriptions(), 0, 0).Render(ctx, rel.ID, "# Fixed", "text/markdown")
		if err != nil || string(h) != current {
			t.Fatalf("an old rendering at view: %q, %v; want %q", h, err, current)
		}
		html, version, _, err := f.st.ReleaseDescriptionHTML(ctx, rel.ID)
		storetest.Must(t, err)
		if html != current || version != readme.Version {
			t.Fatalf("stored after view: %q version %d", html, version)
		}
		proj, err = f.st.ProjectByID(ctx, proj.ID)
		storetest.Must(t, err)
		if want := before - int64(len(stale)) + int64(len(current)); proj.TotalSize != want {
			t.Errorf("charged %d bytes after the rendering was replaced, want %d", proj.TotalSize, want)
		}
	})
}
