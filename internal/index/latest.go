package index

import (
	"context"
	"sync"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// latestMemoMax bounds the latest releases remembered (a few hundred
// KiB); when it is reached the memo starts afresh.
const latestMemoMax = 16384

// latestMemo remembers each listed project's latest release under the
// project's last serial, which every change to its releases, files or
// yanks moves on: a list of projects with thousands of releases each (PyPI
// has them) would otherwise read and parse every release of every listed
// project on every view (about 3.5 µs a release).
type latestMemo struct {
	mu sync.Mutex
	m  map[int64]latestEntry // by project id
}

type latestEntry struct {
	serial int64
	brief  *store.ReleaseBrief // nil: no release with files
}

// LatestReleases returns the latest release of each listed project, by
// project id, chosen as the project page chooses (ProjectView.Latest): the
// highest non-yanked final release with files, else the highest
// non-yanked one, else the highest; none for a project without a release
// with files. Only the projects whose last serial moved since they were
// last listed are read again.
func (s *Service) LatestReleases(ctx context.Context, projects []store.Listing) (map[int64]*store.ReleaseBrief, error) {
	out := make(map[int64]*store.ReleaseBrief, len(projects))
	var miss []store.Listing
	s.latest.mu.Lock()
	for _, p := range projects {
		if e, ok := s.latest.m[p.ID]; ok && e.serial == p.LastSerial {
			if e.brief != nil {
				out[p.ID] = e.brief
			}
			continue
		}
		miss = append(miss, p)
	}
	s.latest.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	ids := make([]int64, len(miss))
	for i, p := range miss {
		ids[i] = p.ID
	}
	rels, err := s.store.ReleasesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	s.latest.mu.Lock()
	defer s.latest.mu.Unlock()
	if s.latest.m == nil || len(s.latest.m)+len(miss) > latestMemoMax {
		s.latest.m = make(map[int64]latestEntry, len(miss))
	}
	for _, p := range miss {
		b := latestBrief(rels[p.ID])
		s.latest.m[p.ID] = latestEntry{serial: p.LastSerial, brief: b}
		if b != nil {
			out[p.ID] = b
		}
	}
	return out, nil
}

// latestBrief picks the latest of a project's releases, or nil.
func latestBrief(rels []store.ReleaseBrief) *store.ReleaseBrief {
	type cand struct {
		b *store.ReleaseBrief
		v pep.Version
	}
	var best [3]*cand // final non-yanked, non-yanked, any
	for i := range rels {
		b := &rels[i]
		if !b.HasFiles {
			continue
		}
		v, err := pep.ParseVersion(b.Version)
		if err != nil {
			continue
		}
		c := &cand{b, v}
		better := func(cur *cand) bool { return cur == nil || cur.v.Compare(v) < 0 }
		if !b.Yanked && !b.IsPrerelease && better(best[0]) {
			best[0] = c
		}
		if !b.Yanked && better(best[1]) {
			best[1] = c
		}
		if better(best[2]) {
			best[2] = c
		}
	}
	for _, c := range best {
		if c != nil {
			return c.b
		}
	}
	return nil
}
