package index

import (
	"context"
	"fmt"
	"time"
)

// BlobWalker lists the blobs of a store.
type BlobWalker interface {
	Walk(ctx context.Context, fn func(sha256 string, modTime time.Time) error) error
}

// GCResult counts what a garbage collection did.
type GCResult struct {
	Seen, Removed, Referenced, Recent int
	RemovedBytes                      int64
}

// CollectBlobs removes blobs that no file row references: the files of
// deleted files, and blobs committed by uploads refused afterwards (a lost
// race). Blobs written less than grace ago are kept, because an upload in
// flight commits its blob before its row.
func (s *Service) CollectBlobs(ctx context.Context, w BlobWalker, grace time.Duration) (GCResult, error) {
	var res GCResult
	cutoff := s.now().Add(-grace)
	err := w.Walk(ctx, func(sha string, modTime time.Time) error {
		res.Seen++
		if modTime.After(cutoff) {
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
		if obj, err := s.blobs.Open(ctx, sha); err == nil {
			res.RemovedBytes += obj.Size()
			obj.Close()
		}
		if err := s.blobs.Delete(ctx, sha); err != nil {
			return err
		}
		res.Removed++
		s.log.InfoContext(ctx, "removed unreferenced blob", "sha256", sha, "written", modTime)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("index: collect blobs: %w", err)
	}
	return res, nil
}
