package web

import (
	"encoding/json"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadMetadataValuesAndImportNames: an upload whose metadata PyPI
// refuses gets PyPI's message in the status line; metadata 2.5's import
// names are shown on the project page and in the JSON API, and the
// License-Expression in its canonical form.
func TestUploadMetadataValuesAndImportNames(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		s := newTestServer(t, d)
		_, tok := s.user("alice")

		bad := disttest.Dist{Name: "demo", Version: "0.9", Headers: "Classifier: Private :: Do Not Upload\n"}
		w := bad.Wheel()
		resp, _ := s.do(s.uploadRequest(tok, bad.Form("bdist_wheel", w), bad.WheelFilename(), w))
		if want := "400 'Private :: Do Not Upload' is not a valid classifier. Classifiers starting with 'Private ::'"; !strings.HasPrefix(resp.Status, want) {
			t.Fatalf("private classifier: %q, want %q", resp.Status, want)
		}

		good := disttest.Dist{Name: "demo", Version: "1.0", MetadataVersion: "2.5",
			Headers: "License-Expression: mit\nImport-Name: demo\nImport-Name: demo._speedups; private\nImport-Namespace: demo_plugins\n"}
		s.uploadDist(tok, good, false)
		_, body := s.get("/pypi/demo/json")
		var doc struct {
			Info struct {
				LicenseExpression string   `json:"license_expression"`
				ImportNames       []string `json:"import_names"`
				ImportNamespaces  []string `json:"import_namespaces"`
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if i := doc.Info; i.LicenseExpression != "MIT" || strings.Join(i.ImportNames, "|") != "demo|demo._speedups; private" ||
			strings.Join(i.ImportNamespaces, "|") != "demo_plugins" {
			t.Fatalf("JSON info: %+v", i)
		}
		_, page := s.get("/project/demo/")
		for _, want := range []string{"<dt>Import names</dt><dd><code>demo</code>, <code>demo._speedups; private</code></dd>",
			"<dt>Import namespaces</dt><dd><code>demo_plugins</code></dd>", "<dt>License</dt><dd>MIT</dd>"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("project page lacks %s", want)
			}
		}
	})
}
