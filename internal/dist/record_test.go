package dist

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// recordLine is the RECORD line of a member with content body.
func recordLine(name, body string) string {
	sum := sha256.Sum256([]byte(body))
	return fmt.Sprintf("%s,sha256=%s,%d\n", name, base64.RawURLEncoding.EncodeToString(sum[:]), len(body))
}

// goodRecord is a correct RECORD for wheelWithRecord's members.
func goodRecord() string {
	return recordLine("demo/__init__.py", testModule) +
		recordLine("demo-1.0.dist-info/METADATA", testMetadata) +
		recordLine("demo-1.0.dist-info/WHEEL", testWheel) +
		"demo-1.0.dist-info/RECORD,,\n"
}

// wheelWithRecord builds the demo wheel with the given RECORD and extra
// members.
func wheelWithRecord(t testing.TB, record string, extra ...zipEntry) []byte {
	t.Helper()
	entries := []zipEntry{file("demo/", ""), file("demo/__init__.py", testModule),
		file("demo-1.0.dist-info/METADATA", testMetadata), file("demo-1.0.dist-info/WHEEL", testWheel),
		file("demo-1.0.dist-info/RECORD", record)}
	return buildZip(t, nil, append(entries, extra...)...)
}

func TestWheelRecord(t *testing.T) {
	const missing = "Wheel 'demo-1.0-py3-none-any.whl' does not contain the required RECORD file: demo-1.0.dist-info/RECORD"
	tests := []struct {
		name        string
		record      string
		extra       []zipEntry
		wantProblem string
		wantErr     string
	}{
		{name: "every file listed with its hash and size", record: goodRecord()},
		{name: "hashes and sizes left empty", record: strings.NewReplacer(",sha256=", ",,").Replace("demo/__init__.py,,\ndemo-1.0.dist-info/METADATA,,\ndemo-1.0.dist-info/WHEEL,,\ndemo-1.0.dist-info/RECORD,,\n")},
		{name: "Windows separators", record: strings.ReplaceAll(goodRecord(), "demo/__init__.py", `demo\__init__.py`)},
		{name: "CRLF line ends", record: strings.ReplaceAll(goodRecord(), "\n", "\r\n")},
		{name: "blank lines", record: "\n" + strings.ReplaceAll(goodRecord(), "\n", "\n\n")},
		{name: "quoted path", record: strings.Replace(goodRecord(), "demo/__init__.py", `"demo/__init__.py"`, 1)},
		{name: "path with a comma", record: goodRecord() + `"demo/a,b.py",,` + "\n", extra: []zipEntry{file("demo/a,b.py", "")}},
		{name: "another hash algorithm is not checked", record: strings.Replace(goodRecord(), "sha256=", "sha512=", 1)},
		{name: "signature files need no entry", record: goodRecord(),
			extra: []zipEntry{file("demo-1.0.dist-info/RECORD.jws", "{}"), file("demo-1.0.dist-info/RECORD.p7s", "sig")}},
		{name: "a directory is not a file", record: goodRecord() + "demo/,,\n", wantProblem: "RECORD lists 'demo/', which the wheel does not contain"},
		{name: "file not listed", record: goodRecord(), extra: []zipEntry{file("demo/extra.py", "x = 1\n")},
			wantProblem: "RECORD does not list 'demo/extra.py'"},
		{name: "entry for a missing file", record: goodRecord() + "demo/gone.py,,\n",
			wantProblem: "RECORD lists 'demo/gone.py', which the wheel does not contain"},
		{name: "wrong hash", record: strings.Replace(goodRecord(), recordLine("demo/__init__.py", testModule), recordLine("demo/__init__.py", "evil()\n"), 1),
			wantProblem: "RECORD gives a wrong sha256 hash for 'demo/__init__.py'"},
		{name: "hash not base64", record: strings.Replace(goodRecord(), "sha256=", "sha256=!", 1),
			wantProblem: "RECORD gives a wrong sha256 hash for 'demo/__init__.py'"},
		{name: "wrong size", record: strings.Replace(goodRecord(), fmt.Sprintf(",%d\n", len(testModule)), ",3\n", 1),
			wantProblem: fmt.Sprintf("RECORD gives a wrong size for 'demo/__init__.py' (3; it has %d bytes)", len(testModule))},
		{name: "size not a number", record: strings.Replace(goodRecord(), fmt.Sprintf(",%d\n", len(testModule)), ",many\n", 1),
			wantProblem: fmt.Sprintf("RECORD gives a wrong size for 'demo/__init__.py' (many; it has %d bytes)", len(testModule))},
		{name: "RECORD not UTF-8", record: goodRecord() + "demo/\xff.py,,\n", wantErr: missing},
		{name: "RECORD field too long for Python's csv", record: goodRecord() + strings.Repeat("a", maxRecordField+1) + ",,\n", wantErr: missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := wheelWithRecord(t, tt.record, tt.extra...)
			w, err := InspectWheel(bytes.NewReader(data), int64(len(data)), "demo-1.0-py3-none-any.whl", "demo", "1.0", Limits{})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.RecordProblem != tt.wantProblem {
				t.Errorf("RecordProblem %q, want %q", w.RecordProblem, tt.wantProblem)
			}
		})
	}
}

// TestParseRecordLines checks the line and field splitting against what
// Python's str.splitlines and csv.reader give.
func TestParseRecordLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string // paths
	}{
		{"a,b,c\nd,e,f", []string{"a", "d"}},
		{"a\rb\r\nc\vd\fe\x1cf\x1dg\x1eh\u0085i\u2028j\u2029k", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}},
		{`"a""b",x`, []string{`a"b`}},
		{`a"b,x`, []string{`a"b`}},
		{`"a"b,x`, []string{`ab`}},
		{`"a,b`, []string{`a,b`}},
		{",x", []string{""}},
		{`a\b\c`, []string{"a/b/c"}},
		{"\n\n", nil},
	}
	for _, tt := range tests {
		var got []string
		if !parseRecord([]byte(tt.in), func(r recordRow) bool { got = append(got, r.path); return true }) {
			t.Errorf("%q: unreadable", tt.in)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: paths %q, want %q", tt.in, got, tt.want)
		}
	}
}
