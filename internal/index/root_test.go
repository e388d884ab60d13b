package index

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"strconv"
	"sync"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
)

// TestRenderRoot: the lists appended into one buffer are the documents
// of a plain rendering, names that need escaping included.
func TestRenderRoot(t *testing.T) {
	t.Parallel()
	for _, names := range [][]store.ProjectName{
		nil,
		{{Name: "a", Normalized: "a"}},
		{{Name: "Django", Normalized: "django"}, {Name: "zope.interface", Normalized: "zope-interface"}, {Name: "x_Y-z", Normalized: "x-y-z"}},
		{{Name: `a<b>&"c'`, Normalized: "a-b-c"}, {Name: "caf\u00e9\u2028", Normalized: "cafe"}},
	} {
		var h bytes.Buffer
		h.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"" + APIVersion + "\">\n")
		h.WriteString("    <title>Simple index</title>\n  </head>\n  <body>\n")
		type entry struct {
			Name string `json:"name"`
		}
		doc := struct {
			Meta struct {
				APIVersion string `json:"api-version"`
				Serial     int64  `json:"_last-serial"`
			} `json:"meta"`
			Projects []entry `json:"projects"`
		}{Projects: []entry{}}
		doc.Meta.APIVersion, doc.Meta.Serial = APIVersion, 42
		for _, n := range names {
			h.WriteString(`    <a href="/simple/` + n.Normalized + `/">` + html.EscapeString(n.Name) + "</a>\n")
			doc.Projects = append(doc.Projects, entry{n.Name})
		}
		h.WriteString("  </body>\n</html>\n<!--SERIAL " + strconv.Itoa(42) + "-->\n")
		if got := renderRootHTML(names, 42); !bytes.Equal(got, h.Bytes()) {
			t.Errorf("HTML of %v:\n%s\nwant\n%s", names, got, h.Bytes())
		}
		got := renderRootJSON(names, 42)
		want, _ := json.Marshal(doc)
		if !bytes.Equal(got, want) {
			t.Errorf("JSON of %v:\n%s\nwant\n%s", names, got, want)
		}
		// Sized in advance: no growth (which doubles), the serial's
		// digits the only slack.
		if h := renderRootHTML(names, 42); cap(h)-len(h) > 32 {
			t.Errorf("HTML buffer of %d bytes for %d", cap(h), len(h))
		}
		if j := renderRootJSON(names, 42); cap(j)-len(j) > 64+4*len(names) {
			t.Errorf("JSON buffer of %d bytes for %d", cap(j), len(j))
		}
	}
}

// TestWarmRoot: the start-up build and a reader who comes during it get
// the same list: the reader waits for that build, not for another.
func TestWarmRoot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.SQLite, Config{})
	ctx := context.Background()
	f.mustWheel(f.user("alice"), disttest.Dist{Name: "one", Version: "1.0"})
	var wg sync.WaitGroup
	wg.Go(func() { f.svc.Cache().Warm(ctx) })
	pages := make([]*RootPage, 4)
	for i := range pages {
		wg.Go(func() {
			p, err := f.svc.Cache().Root(ctx)
			if err != nil {
				t.Error(err)
			}
			pages[i] = p
		})
	}
	wg.Wait()
	warm, _ := f.svc.Cache().Root(ctx)
	for _, p := range pages {
		if p != warm {
			t.Fatal("the list was built more than once")
		}
	}
	if warm.Projects != 1 || !warm.HTML.Gzip.Prepared() || !warm.HTML.Zstd.Prepared() {
		t.Errorf("warm list: %d projects, gzip %d bytes, zstd %d bytes", warm.Projects, warm.HTML.Gzip.Len(), warm.HTML.Zstd.Len())
	}
}
