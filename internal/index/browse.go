package index

import (
	"context"
	"fmt"

	"cheeseshop/internal/store"
)

// The public lists of the web UI (home page, search, a user's projects)
// read through these methods, so that the web layer never holds the
// store.

// RecentProjects returns the limit projects updated last, most recent
// first.
func (s *Service) RecentProjects(ctx context.Context, limit int) ([]store.Listing, error) {
	return s.store.RecentProjects(ctx, limit)
}

// SearchProjects returns the projects whose normalized name starts with
// normalized, then (for a query of store.SearchMinInside characters or
// more) those that contain it elsewhere, each part by normalized name,
// never the one equal to it (ProjectByName finds that one), skipping
// offset and returning at most limit.
func (s *Service) SearchProjects(ctx context.Context, normalized string, offset, limit int) ([]store.Listing, error) {
	return s.store.SearchProjects(ctx, normalized, offset, limit)
}

// UserProjects returns a page of the projects on which the user holds a
// role, with the role.
func (s *Service) UserProjects(ctx context.Context, userID int64, limit, offset int) ([]store.Listing, error) {
	return s.store.UserProjects(ctx, userID, limit, offset)
}

// CountUserProjects returns how many projects the user holds a role on.
func (s *Service) CountUserProjects(ctx context.Context, userID int64) (int, error) {
	return s.store.CountUserProjects(ctx, userID)
}

// ReleaseSummaries returns the summaries of the releases, by release id.
func (s *Service) ReleaseSummaries(ctx context.Context, releaseIDs []int64) (map[int64]string, error) {
	return s.store.ReleaseSummaries(ctx, releaseIDs)
}

// ProjectByName returns the published project of a normalized name, read
// from the database (not the cache); store.ErrNotFound when there is
// none, or when it is held for review.
func (s *Service) ProjectByName(ctx context.Context, normalized string) (*store.Project, error) {
	p, err := s.store.ProjectByName(ctx, normalized)
	if err != nil {
		return nil, err
	}
	if held, err := s.store.IsHeld(ctx, p.ID); err != nil {
		return nil, err
	} else if held {
		return nil, fmt.Errorf("index: project %s is held for review: %w", normalized, store.ErrNotFound)
	}
	return p, nil
}

// ProjectByID returns a project read afresh from the database: a cached
// view may predate changes that do not drop it (its mandate status).
func (s *Service) ProjectByID(ctx context.Context, id int64) (*store.Project, error) {
	return s.store.ProjectByID(ctx, id)
}
