package web

import (
	"context"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// listing is a project in a public list, with its latest version.
type listing struct {
	store.Listing
	Version string    // "" when the project has no release with files
	Summary string    // of that version
	Updated time.Time // when that version was released
	Yanked  bool      // every release is yanked
}

// listings adds to projects their latest versions, chosen as the project
// page chooses (index.ProjectView.Latest): the highest non-yanked final
// release with files, else the highest non-yanked one, else the highest.
func (p *public) listings(ctx context.Context, projects []store.Listing) ([]listing, error) {
	ids := make([]int64, len(projects))
	for i, p := range projects {
		ids[i] = p.ID
	}
	rels, err := p.s.idx.ReleasesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]listing, len(projects))
	var shown []int64
	latest := make([]*store.ReleaseBrief, len(projects))
	for i, p := range projects {
		out[i] = listing{Listing: p}
		if b := latestBrief(rels[p.ID]); b != nil {
			latest[i] = b
			shown = append(shown, b.ID)
			out[i].Version, out[i].Updated, out[i].Yanked = b.Version, b.CreatedAt, b.Yanked
		}
	}
	// Only the summaries shown, each bounded by the database.
	summaries, err := p.s.idx.ReleaseSummaries(ctx, shown)
	if err != nil {
		return nil, err
	}
	for i, b := range latest {
		if b != nil {
			out[i].Summary = summaries[b.ID]
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
