package web

import (
	"context"
	"time"

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
// page chooses (index.Service.LatestReleases).
func (p *public) listings(ctx context.Context, projects []store.Listing) ([]listing, error) {
	latest, err := p.s.idx.LatestReleases(ctx, projects)
	if err != nil {
		return nil, err
	}
	out := make([]listing, len(projects))
	var shown []int64
	for i, p := range projects {
		out[i] = listing{Listing: p}
		if b := latest[p.ID]; b != nil {
			shown = append(shown, b.ID)
			out[i].Version, out[i].Updated, out[i].Yanked = b.Version, b.CreatedAt, b.Yanked
		}
	}
	// Only the summaries shown, each bounded by the database.
	summaries, err := p.s.idx.ReleaseSummaries(ctx, shown)
	if err != nil {
		return nil, err
	}
	for i, p := range projects {
		if b := latest[p.ID]; b != nil {
			out[i].Summary = summaries[b.ID]
		}
	}
	return out, nil
}
