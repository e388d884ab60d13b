package pep

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

var benchVersions = []string{
	"1.0", "2.31.0", "1.26.4", "1!2.0.0rc1.post2.dev3+ubuntu.1",
	" V1.0-ALPHA.1-POST.2-DEV.3 ", "1.0.99999999999999999999",
}

func BenchmarkParseVersion(b *testing.B) {
	for _, s := range benchVersions {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseVersion(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompare(b *testing.B) {
	pairs := []struct {
		name string
		a, b string
	}{
		{"release", "1.26.4", "1.26.5"},
		{"trailing zeros", "1.0", "1.0.0.0"},
		{"pre/dev", "1.0.dev1", "1.0a1.dev1"},
		{"local", "1.0+ubuntu.1.2", "1.0+ubuntu.1.10"},
	}
	for _, p := range pairs {
		x, y := mustParse(b, p.a), mustParse(b, p.b)
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				x.Compare(y)
			}
		})
	}
}

func BenchmarkNormalizeName(b *testing.B) {
	for _, s := range []string{"requests", "Flask-SQLAlchemy", "zope.interface__Extra", "ΟΔΟΣ-Straße"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NormalizeName(s)
			}
		})
	}
}

// BenchmarkLongInputs feeds the parsers the long hostile inputs an upload
// form could carry before its fields were bounded, at two sizes: a time
// per byte that stays flat from 64 KiB to 1 MiB shows the parsers are
// linear (they are single left-to-right passes, with no backtracking).
func BenchmarkLongInputs(b *testing.B) {
	shapes := map[string]func(n int) string{
		"release-dots": func(n int) string { return strings.Repeat("1.", n/2) + "1" },
		"local-parts":  func(n int) string { return "1+" + strings.Repeat("a.", n/2) + "a" },
		"zeros":        func(n int) string { return "1." + strings.Repeat("0", n) },
		"separators":   func(n int) string { return "a" + strings.Repeat("-_.", n/3) + "a" },
		"kelvin":       func(n int) string { return strings.Repeat("\u212a", n/3) },
		"spaces":       func(n int) string { return strings.Repeat(" ", n) + "1.0" },
	}
	funcs := map[string]func(s string){
		"ParseVersion":       func(s string) { ParseVersion(s) },
		"NormalizeName":      func(s string) { NormalizeName(s) },
		"UltraNormalizeName": func(s string) { UltraNormalizeName(s) },
		"ValidProjectName":   func(s string) { ValidProjectName(s) },
		"FilenameKey":        func(s string) { FilenameKey(s + "-" + s + "-py3-none-any.whl") },
	}
	for _, fn := range slices.Sorted(maps.Keys(funcs)) {
		for _, shape := range slices.Sorted(maps.Keys(shapes)) {
			for _, n := range []int{64 << 10, 1 << 20} {
				in := shapes[shape](n)
				b.Run(fmt.Sprintf("%s/%s/%dKiB", fn, shape, n>>10), func(b *testing.B) {
					b.SetBytes(int64(len(in)))
					for b.Loop() {
						funcs[fn](in)
					}
				})
			}
		}
	}
}
