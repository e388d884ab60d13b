package index

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// rewriteRecord returns wheel with its RECORD replaced by edit's result
// and the extra members added.
func rewriteRecord(t *testing.T, wheel []byte, edit func(string) string, extra map[string]string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(wheel), int64(len(wheel)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := disttest.NewZipWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(rc)
		rc.Close()
		content := body.String()
		if strings.HasSuffix(f.Name, ".dist-info/RECORD") {
			content = edit(content)
		}
		if err := zw.AddBytes(f.Name, zip.Deflate, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range extra {
		if err := zw.AddBytes(name, zip.Deflate, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadRecordPolicy uploads wheels whose RECORD disagrees with them:
// accepted as on PyPI, with a warning and an audit event, or refused
// with StrictRecord.
func TestUploadRecordPolicy(t *testing.T) {
	same := func(s string) string { return s }
	tests := []struct {
		name    string
		edit    func(string) string
		extra   map[string]string
		problem string // "" for an honest RECORD
	}{
		{name: "honest RECORD", edit: same},
		{name: "file not listed", edit: same, extra: map[string]string{"rec/extra.py": "x = 1\n"},
			problem: "RECORD does not list 'rec/extra.py'"},
		{name: "entry for a missing file", edit: func(s string) string { return s + "rec/gone.py,,\n" },
			problem: "RECORD lists 'rec/gone.py', which the wheel does not contain"},
		{name: "wrong hash", edit: func(s string) string {
			return strings.Replace(s, "rec/__init__.py,sha256=", "rec/__init__.py,sha256=AA", 1)
		},
			problem: "RECORD gives a wrong sha256 hash for 'rec/__init__.py'"},
		{name: "wrong size", edit: func(s string) string {
			i := strings.Index(s, "rec/__init__.py,")
			j := i + strings.IndexByte(s[i:], '\n')
			k := strings.LastIndexByte(s[:j], ',')
			return s[:k+1] + "99999" + s[j:]
		}, problem: "RECORD gives a wrong size for 'rec/__init__.py'"},
	}
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		for _, strict := range []bool{false, true} {
			t.Run(map[bool]string{false: "as PyPI", true: "strict"}[strict], func(t *testing.T) {
				f := newFixture(t, d, Config{StrictRecord: strict})
				alice := f.user("alice")
				for i, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						dist := disttest.Dist{Name: "rec", Version: "1." + string(rune('0'+i))}
						w := rewriteRecord(t, dist.Wheel(), tt.edit, tt.extra)
						before := f.countEvents(alice.User.ID, audit.FileRecordMismatch)
						res, err := f.upload(alice, dist.Form("bdist_wheel", w), dist.WheelFilename(), w)
						after := f.countEvents(alice.User.ID, audit.FileRecordMismatch)
						switch {
						case tt.problem == "":
							if err != nil || len(res.Warnings) != 0 {
								t.Fatalf("got %v, warnings %q; want a clean upload", err, res.Warnings)
							}
						case strict:
							want := "Invalid distribution file. Wheel '" + dist.WheelFilename() + "' has a RECORD that does not match its contents: " + tt.problem
							if pe, ok := problem.As(err); !ok || pe.Kind != problem.Invalid || !strings.HasPrefix(pe.Message, want) {
								t.Fatalf("got %v, want %q", err, want)
							}
							if after != before {
								t.Errorf("a refused upload recorded %d record events", after-before)
							}
						default:
							if err != nil {
								t.Fatalf("refused: %v", err)
							}
							if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "Warning: wheel '"+dist.WheelFilename()+"' has a RECORD that does not match its contents: "+tt.problem) {
								t.Errorf("warnings %q, want one about %q", res.Warnings, tt.problem)
							}
							if after != before+1 {
								t.Errorf("%d record events recorded, want 1", after-before)
							}
						}
					})
				}
			})
		}
	})
}
