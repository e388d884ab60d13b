package index

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// BenchmarkRootChange is the cost of a project created, as the cache
// pays it (the project's row read, its piece of the list rendered and
// compressed again, the bodies' parts and digests joined), next to the
// list built whole (database read, HTML, gzip and zstd of it all).
func BenchmarkRootChange(b *testing.B) {
	benchForSizes(b, func(b *testing.B, ix *benchIndex) {
		ctx := context.Background()
		c := ix.svc.cache
		for _, whole := range []bool{false, true} {
			b.Run(fmt.Sprintf("whole=%v", whole), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					n := fmt.Sprintf("bench-change-%v-%d", whole, i)
					b.StopTimer()
					if err := ix.st.CreateProject(ctx, &store.Project{Name: n, NormalizedName: n, UltraName: n, CreatedAt: time.Now()}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					c.Invalidate(n, true)
					if whole {
						c.rootWhole.Store(true)
					}
					c.rootCost.Store(0)
					if _, err := c.Root(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// BenchmarkRootChangeNames is BenchmarkRootChange without the database,
// on PyPI's list of names (/work/shared/data/pypi-projects.tsv.gz, or
// CHEESESHOP_BENCH_NAMES) when there, else on as many synthetic ones:
// one name added to the list in pieces (patch), next to the list built
// in pieces (build) and rendered whole as it was before pieces (whole).
func BenchmarkRootChangeNames(b *testing.B) {
	for _, n := range []int{100, 886_324} {
		if testing.Short() && n > 1000 {
			continue
		}
		names := benchRootNames(b, n)
		b.Run(fmt.Sprintf("projects=%d", n), func(b *testing.B) {
			codec := newRootCodec()
			body := &rootBody{head: codec.text(rootHTMLHead), mid: codec.pieces(chunkNames(names, DefaultRootPieceBytes)), tail: codec.tail(1)}
			page := newPiecedRootPage(body, 1, false)
			b.Run("patch", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					i++
					add := fmt.Sprintf("%s-%d", names[len(names)/2].Normalized, i)
					next := &rootBody{head: body.head, mid: codec.patchPieces(body.mid, []rootChange{{normalized: add, present: true,
						name: store.ProjectName{Name: add, Normalized: add}}}, DefaultRootPieceBytes), tail: codec.tail(int64(i))}
					page = newPiecedRootPage(next, int64(i), false)
				}
				b.ReportMetric(float64(len(body.mid)), "pieces")
				b.ReportMetric(float64(page.HTML.Len()), "html-bytes")
				b.ReportMetric(float64(page.HTML.Gzip.Len()), "gzip-bytes")
				b.ReportMetric(float64(page.HTML.Zstd.Len()), "zstd-bytes")
			})
			b.Run("build", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					body := &rootBody{head: codec.text(rootHTMLHead), mid: codec.pieces(chunkNames(names, DefaultRootPieceBytes)), tail: codec.tail(1)}
					newPiecedRootPage(body, 1, false)
				}
			})
			b.Run("whole", func(b *testing.B) {
				b.ReportAllocs()
				var whole *RootPage
				for b.Loop() {
					whole = newRootPage(names, 1, true)
				}
				b.ReportMetric(float64(len(whole.HTML.Gzip.Body)), "gzip-bytes")
				b.ReportMetric(float64(len(whole.HTML.Zstd.Body)), "zstd-bytes")
			})
		})
	}
}

// benchRootNames returns n names, sorted: PyPI's, or synthetic ones.
func benchRootNames(b *testing.B, n int) []store.ProjectName {
	path := os.Getenv("CHEESESHOP_BENCH_NAMES")
	if path == "" {
		path = "/work/shared/data/pypi-projects.tsv.gz"
	}
	var names []store.ProjectName
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Scan() // the header
		for sc.Scan() && len(names) < n {
			name, _, _ := strings.Cut(sc.Text(), "\t")
			names = append(names, store.ProjectName{Name: name, Normalized: pep.NormalizeName(name)})
		}
	}
	for i := len(names); i < n; i++ {
		name := fmt.Sprintf("Project_%07d", i)
		names = append(names, store.ProjectName{Name: name, Normalized: pep.NormalizeName(name)})
	}
	slices.SortFunc(names, func(a, b store.ProjectName) int { return strings.Compare(a.Normalized, b.Normalized) })
	return slices.CompactFunc(names, func(a, b store.ProjectName) bool { return a.Normalized == b.Normalized })
}
