package index

import (
	"context"
	"fmt"
	"time"

	"cheeseshop/internal/blob"
)

// GCResult counts what a garbage collection did.
type GCResult struct {
	Seen, Removed, Referenced, Recent int
	RemovedBytes                      int64
}

// CollectBlobs removes blobs that no file row references: the files of
// deleted files, and blobs committed by uploads refused afterwards (a lost
// race). Blobs written less than grace ago are kept, because an upload in
// flight commits its blob before its row.
func (s *Service) CollectBlobs(ctx context.Context, grace time.Duration) (GCResult, error) {
	var res GCResult
	cutoff := s.now().Add(-grace)
	err := s.blobs.Walk(ctx, func(b blob.Info) error {
		sha := b.SHA256
		res.Seen++
		if b.ModTime.After(cutoff) {
			res.Recent++
			return nil
		}
		used, err := s.store.BlobReferenced(ctx, sha)
		if err != nil {
			return err
		}
		if used {
			res.Referenced++
			return nil
		}
		// An upload may have committed the same digest again since the
		// walk listed it (which refreshes its time): look once more.
		if now, err := s.blobs.Stat(ctx, sha); err != nil || now.ModTime.After(cutoff) {
			res.Recent++
			return nil
		}
		if err := s.blobs.Delete(ctx, sha); err != nil {
			return err
		}
		res.Removed++
		res.RemovedBytes += b.Size
		s.log.InfoContext(ctx, "removed unreferenced blob", "sha256", sha, "written", b.ModTime)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("index: collect blobs: %w", err)
	}
	return res, nil
}
