package storetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestLoadIndex checks that LoadIndex writes each project with its role,
// release, file and daily downloads, on both databases.
func TestLoadIndex(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u := &store.User{Username: "owner", Email: "owner@example.org", PasswordHash: "!", CreatedAt: time.Now()}
		storetest.Must(t, s.CreateUser(ctx, u))
		var projects []storetest.IndexProject
		for i, daily := range []int64{1000, 0, 3} {
			name := fmt.Sprintf("proj-%d", i)
			projects = append(projects, storetest.IndexProject{Name: name, NormalizedName: name, UltraName: name, Daily: daily,
				Filename: fmt.Sprintf("proj_%d-0.1.0-py3-none-any.whl", i), FilenameKey: fmt.Sprintf("key-%d", i), Size: int64(900 + i),
				MD5: fmt.Sprintf("%032x", i), SHA256: fmt.Sprintf("%064x", i), Blake2: fmt.Sprintf("b%063x", i)})
		}
		storetest.Must(t, storetest.LoadIndex(ctx, s, &storetest.IndexLoad{Projects: projects, Owner: u.ID, First: 100, Last: 106}))
		if n, err := s.CountProjects(ctx); err != nil || n != 3 {
			t.Fatalf("CountProjects = %d, %v; want 3", n, err)
		}
		for i, want := range projects {
			p, err := s.ProjectByName(ctx, want.NormalizedName)
			storetest.Must(t, err)
			files, err := s.ListFiles(ctx, p.ID)
			storetest.Must(t, err)
			if len(files) != 1 || files[0].Filename != want.Filename || files[0].SHA256 != want.SHA256 || files[0].Size != want.Size {
				t.Errorf("%s: files %+v, want one of %s", want.Name, files, want.Filename)
			}
			var sum int64
			for d := store.Day(100); d <= 106; d++ {
				if want.Daily > 0 {
					sum += storetest.DailyCount(want.Daily, p.ID, d)
				}
			}
			got, err := s.ProjectDownloads(ctx, p.ID, 0, 1000)
			storetest.Must(t, err)
			if got != sum {
				t.Errorf("project %d: %d downloads, want %d", i, got, sum)
			}
		}
	})
}
