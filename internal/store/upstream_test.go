package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestSaveUpstreamPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		sha := func(c byte) string {
			b := make([]byte, 64)
			for i := range b {
				b[i] = c
			}
			return string(b)
		}
		file := func(c byte, name string) *store.UpstreamFile {
			return &store.UpstreamFile{SHA256: sha(c), Filename: name, URL: "https://files.example/" + name,
				Version: "1.0", Size: -1, UploadTime: at.Add(-time.Hour)}
		}
		page := &store.UpstreamProject{Name: "Demo", NormalizedName: "demo", Upstream: "https://up.example/simple/",
			Found: true, ETag: `"e1"`, FetchedAt: at}
		files := []*store.UpstreamFile{file('a', "demo-1.0.tar.gz"), file('b', "demo-1.0-py3-none-any.whl")}
		changed, err := s.SaveUpstreamPage(ctx, page, files, at)
		if err != nil || !changed || page.ID == 0 {
			t.Fatalf("first save: changed %v, id %d, %v", changed, page.ID, err)
		}
		serial, _ := s.LastSerial(ctx)
		// The same page again changes nothing and journals nothing.
		again := *page
		again.ID = 0
		changed, err = s.SaveUpstreamPage(ctx, &again, []*store.UpstreamFile{file('a', "demo-1.0.tar.gz"), file('b', "demo-1.0-py3-none-any.whl")}, at.Add(time.Minute))
		if err != nil || changed || again.ID != page.ID {
			t.Fatalf("same page: changed %v, id %d (want %d), %v", changed, again.ID, page.ID, err)
		}
		if s2, _ := s.LastSerial(ctx); s2 != serial {
			t.Fatalf("serial moved from %d to %d without a change", serial, s2)
		}
		// A yank and a file gone: one refresh journaled, the gone file kept.
		yanked := file('a', "demo-1.0.tar.gz")
		yanked.Yanked, yanked.YankedReason = true, "broken"
		if changed, err = s.SaveUpstreamPage(ctx, page, []*store.UpstreamFile{yanked}, at.Add(2*time.Minute)); err != nil || !changed {
			t.Fatalf("yank: changed %v, %v", changed, err)
		}
		entries, err := s.JournalSince(ctx, serial, 10)
		if err != nil || len(entries) != 1 || entries[0].Action != store.ActionUpstreamRefresh ||
			entries[0].ProjectID != page.ID || entries[0].NormalizedName != "demo" {
			t.Fatalf("journal = %+v, %v", entries, err)
		}
		listed, err := s.UpstreamFiles(ctx, page.ID)
		if err != nil || len(listed) != 1 || !listed[0].Yanked || listed[0].YankedReason != "broken" {
			t.Fatalf("listed = %+v, %v", listed, err)
		}
		gone, proj, err := s.UpstreamFileBySHA(ctx, sha('b'))
		if err != nil || gone.RemovedAt.IsZero() || proj.NormalizedName != "demo" || !gone.UploadTime.Equal(at.Add(-time.Hour)) {
			t.Fatalf("gone file = %+v, %+v, %v", gone, proj, err)
		}
		// Another project listing a digest this one holds gets no row.
		other := &store.UpstreamProject{Name: "other", NormalizedName: "other", Upstream: "u", Found: true}
		if _, err := s.SaveUpstreamPage(ctx, other, []*store.UpstreamFile{file('a', "other-1.0.tar.gz")}, at); err != nil {
			t.Fatal(err)
		}
		if fs, _ := s.UpstreamFiles(ctx, other.ID); len(fs) != 0 {
			t.Fatalf("other project took a digest: %+v", fs)
		}
		// Stored, with its size learnt.
		if err := s.MarkUpstreamStored(ctx, sha('a'), false, 42, at); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkUpstreamStored(ctx, sha('a'), true, 0, at); err != nil {
			t.Fatal(err)
		}
		f, _, err := s.UpstreamFileBySHA(ctx, sha('a'))
		if err != nil || f.Size != 42 || !f.StoredAt.Equal(at) || !f.MetadataStoredAt.Equal(at) {
			t.Fatalf("stored file = %+v, %v", f, err)
		}
		// A page that gives no size (HTML) keeps the one learnt: no change.
		again2 := file('a', "demo-1.0.tar.gz")
		again2.Yanked, again2.YankedReason = true, "broken"
		if changed, err := s.SaveUpstreamPage(ctx, page, []*store.UpstreamFile{again2}, at.Add(3*time.Minute)); err != nil || changed {
			t.Fatalf("same page without a size: changed %v, %v", changed, err)
		}
		if f, _, _ := s.UpstreamFileBySHA(ctx, sha('a')); f.Size != 42 {
			t.Fatalf("size %d after a page without one", f.Size)
		}
		if err := s.MarkUpstreamStored(ctx, sha('c'), false, 1, at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("mark unknown: %v", err)
		}
		// Not found any more: every file removed; the local status stays.
		if _, err := s.SetUpstreamLocalStatus(ctx, "demo", "demo", store.UpstreamQuarantined, "bad", at); err != nil {
			t.Fatal(err)
		}
		gonePage := &store.UpstreamProject{Name: "demo", NormalizedName: "demo"}
		if changed, err = s.SaveUpstreamPage(ctx, gonePage, nil, at.Add(time.Hour)); err != nil || !changed {
			t.Fatalf("not found: %v, %v", changed, err)
		}
		p, err := s.UpstreamProjectByName(ctx, "demo")
		if err != nil || p.Found || p.Upstream != "" || p.LocalStatus != store.UpstreamQuarantined || p.LocalStatusReason != "bad" ||
			!p.CheckedAt.Equal(at.Add(time.Hour)) || !p.FetchedAt.Equal(at) {
			t.Fatalf("project = %+v, %v", p, err)
		}
		if fs, _ := s.UpstreamFiles(ctx, p.ID); len(fs) != 0 {
			t.Fatalf("files of a name not found: %+v", fs)
		}
		// A pre-emptive block of a name never asked.
		id, err := s.SetUpstreamLocalStatus(ctx, "never", "never", store.UpstreamQuarantined, "pre-emptive", at)
		if err != nil {
			t.Fatal(err)
		}
		p, err = s.UpstreamProjectByName(ctx, "never")
		if err != nil || p.ID != id || p.Found || !p.CheckedAt.IsZero() || p.LocalStatus != store.UpstreamQuarantined {
			t.Fatalf("pre-emptive = %+v, %v", p, err)
		}
		if _, err := s.UpstreamProjectByName(ctx, "nothing"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
	})
}

// TestPruneUpstreamNegatives: names no upstream listed go once older than
// the cut; a newer one, one quarantined in advance, one with files and a
// found one stay.
func TestPruneUpstreamNegatives(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		save := func(name string, found bool, checked time.Time, files ...*store.UpstreamFile) {
			t.Helper()
			p := &store.UpstreamProject{Name: name, NormalizedName: name, Found: found, FetchedAt: checked}
			if found {
				p.Upstream = "https://up.example/simple/"
			}
			if _, err := s.SaveUpstreamPage(ctx, p, files, checked); err != nil {
				t.Fatal(err)
			}
		}
		save("old-miss", false, at.Add(-time.Hour))
		save("new-miss", false, at)
		save("found", true, at.Add(-time.Hour), &store.UpstreamFile{SHA256: strings.Repeat("c", 64),
			Filename: "found-1.0.tar.gz", URL: "https://files.example/found-1.0.tar.gz", Version: "1.0", Size: -1})
		if _, err := s.SetUpstreamLocalStatus(ctx, "blocked", "blocked", store.UpstreamQuarantined, "typosquat", at.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneUpstreamNegatives(ctx, at.Add(-time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		for name, want := range map[string]bool{"old-miss": false, "new-miss": true, "found": true, "blocked": true} {
			_, err := s.UpstreamProjectByName(ctx, name)
			if got := err == nil; got != want {
				t.Errorf("%s kept %v, want %v (%v)", name, got, want, err)
			}
		}
	})
}
