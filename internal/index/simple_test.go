package index_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/index"
)

// proxiedProject is a project known only by its simple data, as the
// upstream proxy renders it: an HTML upstream gives neither sizes nor
// upload times.
func proxiedProject() *index.SimpleProject {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &index.SimpleProject{Name: "demo", Status: "deprecated", StatusReason: "use other",
		Versions: []string{"1.0", "2.0"},
		Files: []index.SimpleFile{
			{Filename: "demo-1.0.tar.gz", URL: "https://i.example/files/aa/demo-1.0.tar.gz", SHA256: "aa", Version: "1.0",
				Size: 10, UploadTime: at},
			{Filename: "demo-2.0-py3-none-any.whl", URL: "https://i.example/files/bb/demo-2.0-py3-none-any.whl", SHA256: "bb",
				Version: "2.0", RequiresPython: ">=3.9", MetadataSHA256: "cc", Yanked: true, YankedReason: "broken", Size: -1},
		}}
}

func TestRenderSimpleUnknownSizeAndTime(t *testing.T) {
	var doc struct {
		Meta  map[string]any   `json:"meta"`
		Files []map[string]any `json:"files"`
	}
	body := index.RenderSimpleJSON(proxiedProject())
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Meta["_last-serial"]; ok {
		t.Errorf("serial 0 shown: %s", body)
	}
	if doc.Files[0]["size"] != 10.0 || doc.Files[0]["upload-time"] != "2026-01-02T03:04:05.000000Z" {
		t.Errorf("known size and time: %v", doc.Files[0])
	}
	if _, ok := doc.Files[1]["size"]; ok {
		t.Errorf("unknown size shown: %v", doc.Files[1])
	}
	if _, ok := doc.Files[1]["upload-time"]; ok {
		t.Errorf("unknown upload time shown: %v", doc.Files[1])
	}
	html := string(index.RenderSimpleHTML(proxiedProject()))
	for _, want := range []string{`content="deprecated"`, `content="use other"`, `data-yanked="broken"`,
		`data-requires-python="&gt;=3.9"`, `data-core-metadata="sha256=cc"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "SERIAL") {
		t.Errorf("serial 0 shown:\n%s", html)
	}
}

func TestRenderSimpleAPI(t *testing.T) {
	var doc index.JSONDocument
	body := index.RenderSimpleAPI(proxiedProject(), "Demo")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	// 2.0's only file is yanked: the latest version is 1.0.
	if doc.Info.Name != "Demo" || doc.Info.Version != "1.0" || doc.Info.Summary != nil || doc.Info.ProjectStatus.Status != "deprecated" {
		t.Errorf("info = %+v", doc.Info)
	}
	if len(doc.URLs) != 1 || doc.URLs[0].Filename != "demo-1.0.tar.gz" || doc.URLs[0].PackageType != "sdist" ||
		doc.URLs[0].Digests["sha256"] != "aa" || doc.URLs[0].UploadTimeISO8601 != "2026-01-02T03:04:05Z" {
		t.Errorf("urls = %+v", doc.URLs)
	}
	w := doc.Releases["2.0"]
	if len(doc.Releases) != 2 || len(w) != 1 || w[0].PackageType != "bdist_wheel" || w[0].PythonVersion != "py3" ||
		!w[0].Yanked || *w[0].YankedReason != "broken" || *w[0].RequiresPython != ">=3.9" || w[0].Size != 0 {
		t.Errorf("releases = %+v", doc.Releases)
	}
	for _, null := range []string{`"summary":null`, `"license":null`, `"requires_dist":null`} {
		if !strings.Contains(string(body), null) {
			t.Errorf("no %s in %s", null, body)
		}
	}
}
