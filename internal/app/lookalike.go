package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cheeseshop/internal/index"
	"cheeseshop/internal/lookalike"
)

// DefaultProtectOwnTop is how many of the index's own most-downloaded
// projects are protected from look-alikes, beside the imported list.
const DefaultProtectOwnTop = 1000

// DefaultProtectUpstreamTop is how many of the proxied projects most
// downloaded through the index are protected from look-alikes.
const DefaultProtectUpstreamTop = 1000

// ProtectRefresh is how often the detector is rebuilt from the protected
// names, so that an imported list (`admin names protect`) and the
// downloads of every replica reach it.
const ProtectRefresh = 10 * time.Minute

// BuildDetector builds the look-alike detector from the index's protected
// names: the imported list, its own ownTop most-downloaded projects and
// the upstreamTop proxied projects most downloaded through it (the best
// rank of a name wins).
func BuildDetector(ctx context.Context, idx *index.Service, ownTop, upstreamTop int) (*lookalike.Index, error) {
	names, err := idx.ProtectedNames(ctx, ownTop, upstreamTop)
	if err != nil {
		return nil, err
	}
	ps := make([]lookalike.Protected, len(names))
	for i, n := range names {
		ps[i] = lookalike.Protected{Name: n.Name, Rank: int(n.Rank), Source: n.Source}
	}
	return lookalike.New(ps, lookalike.DefaultOptions()), nil
}

// detector is the look-alike detector project creation asks
// (index.Config.NameCheck), swapped whole when it is rebuilt.
type detector struct {
	ix          atomic.Pointer[lookalike.Index]
	idx         *index.Service
	ownTop      int
	upstreamTop int
	log         *slog.Logger
}

// check is an index.NameCheck.
func (d *detector) check(_ context.Context, name string) (*index.NameMatch, error) {
	ix := d.ix.Load()
	if ix == nil {
		return nil, nil
	}
	m, ok := ix.Check(name)
	if !ok {
		return nil, nil
	}
	return &index.NameMatch{Target: m.Target, TargetRank: m.TargetRank, Kind: m.Kind}, nil
}

// refresh rebuilds the detector from the protected names.
func (d *detector) refresh(ctx context.Context) error {
	ix, err := BuildDetector(ctx, d.idx, d.ownTop, d.upstreamTop)
	if err != nil {
		return fmt.Errorf("app: look-alike detector: %w", err)
	}
	d.ix.Store(ix)
	return nil
}

// refreshEvery rebuilds the detector every interval until ctx ends; a
// failure keeps the last detector and is logged.
func (d *detector) refreshEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.refresh(ctx); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "rebuild the look-alike detector", "err", err)
			}
		}
	}
}
