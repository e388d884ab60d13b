package index

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// SetProtectedNames replaces the operator's imported list of protected
// names (for instance the public index's most-downloaded projects, so
// that a private index or a mirror protects them too). Names are kept
// normalized; invalid ones are skipped. It returns how many were kept.
func (s *Service) SetProtectedNames(ctx context.Context, names []store.ProtectedName) (int, error) {
	kept := make([]store.ProtectedName, 0, len(names))
	for _, n := range names {
		if len(n.Name) > MaxNameLength || !pep.ValidProjectName(n.Name) || n.Rank < 1 {
			continue
		}
		kept = append(kept, store.ProtectedName{Name: pep.NormalizeName(n.Name), Rank: n.Rank, Source: store.ProtectedImported})
	}
	if err := s.store.InTx(ctx, func(tx *store.Tx) error { return tx.ReplaceProtectedNames(ctx, kept) }); err != nil {
		return 0, fmt.Errorf("index: set protected names: %w", err)
	}
	return len(kept), nil
}

// ProtectedNames returns the names new projects must not imitate: the
// imported list, this index's own top ownTop projects by downloads (the
// ranking of the critical computation) and the top upstreamTop proxied
// projects by their downloads through this index over the same window
// (what the organisation installs from the upstreams: a local reqeusts
// is held when requests is popular through the proxy), normalized, each
// once with its best rank, best first. Each ranking counts from 1: the
// upstream projects this organisation installs most are as popular here
// as its own, and the detector's tiers (by rank) protect them as much.
// The look-alike detector is built from it.
func (s *Service) ProtectedNames(ctx context.Context, ownTop, upstreamTop int) ([]store.ProtectedName, error) {
	imported, err := s.store.ProtectedNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("index: protected names: %w", err)
	}
	var own, upstream []store.ProtectedName
	if ownTop > 0 {
		if own, err = s.store.TopDownloaded(ctx, ownTop); err != nil {
			return nil, fmt.Errorf("index: protected names: %w", err)
		}
	}
	if upstreamTop > 0 {
		if upstream, err = s.store.TopDownloadedUpstream(ctx, upstreamTop); err != nil {
			return nil, fmt.Errorf("index: protected names: %w", err)
		}
	}
	best := make(map[string]store.ProtectedName, len(imported)+len(own)+len(upstream))
	for _, n := range slices.Concat(imported, own, upstream) {
		n.Name = pep.NormalizeName(n.Name)
		if b, ok := best[n.Name]; !ok || n.Rank < b.Rank {
			best[n.Name] = n
		}
	}
	out := make([]store.ProtectedName, 0, len(best))
	for _, n := range best {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b store.ProtectedName) int {
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}
