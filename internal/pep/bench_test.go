package pep

import "testing"

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
