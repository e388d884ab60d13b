package index

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
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
				html, _, err := f.st.ReleaseDescriptionHTML(ctx, rel.ID)
				storetest.Must(t, err)
				if !strings.Contains(html, tt.html) {
					t.Errorf("stored rendering lacks %q:\n%s", tt.html, html)
				}
			})
		}
	})
}
