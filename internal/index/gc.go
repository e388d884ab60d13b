package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cheeseshop/internal/blob"
)

// GCResult counts what a garbage collection did.
type GCResult struct {
	// Seen counts the blobs listed, Referenced those a file row names.
	Seen, Referenced int
	// Removed counts the unreferenced blobs removed (in a dry run, that
	// would have been removed), RemovedBytes their sizes.
	Removed      int
	RemovedBytes int64
	// Recent counts the unreferenced blobs kept because they were written
	// less than the grace period ago.
	Recent int
	// Aborted counts the incomplete uploads aborted (in a dry run, that
	// would have been aborted), IncompleteRecent those kept because they
	// started less than the grace period ago.
	Aborted, IncompleteRecent int
}

// StrayState is what garbage collection did with a stray.
type StrayState int

// The states of a stray.
const (
	// StrayRemoved: it was removed (or aborted, for an incomplete upload).
	StrayRemoved StrayState = iota
	// StrayWouldRemove: a dry run would have removed it.
	StrayWouldRemove
	// StrayRecent: it was kept, being newer than the grace period.
	StrayRecent
)

// Stray is something in the blob store that no file row references: a
// blob (of a deleted file, of an upload refused after its blob was
// committed, of a process killed between its commit and its row), or an
// incomplete upload a crashed process left in the store.
type Stray struct {
	// SHA256 is the blob's digest, or for an incomplete upload the store's
	// key of the object it was writing.
	SHA256 string
	// Incomplete is set for an incomplete upload (blob.Incompleter).
	Incomplete bool
	// Size is the blob's length in bytes (-1 for an incomplete upload,
	// whose length is not known).
	Size int64
	// Written is when the blob was last written (by the store's clock), or
	// when the incomplete upload started.
	Written time.Time
	State   StrayState
}

// CollectBlobs removes blobs that no file row references: the files of
// deleted files, and blobs committed by uploads refused afterwards (a lost
// race) or by processes that died before writing their row. Blobs written
// less than grace ago are kept, because an upload in flight commits its
// blob before its row; so are incomplete uploads (of a store that has
// them, blob.Incompleter) started less than grace ago, the older ones
// being aborted. With dryRun, nothing is removed or aborted. report, when
// not nil, is told of every stray and what became of it.
//
// The times compared with grace are the store's (for S3, the server's
// clock), and now is this process's: clocks apart by more than the grace
// period would remove blobs of uploads in flight, which is why grace is at
// least a minute and 24 hours by default.
func (s *Service) CollectBlobs(ctx context.Context, grace time.Duration, dryRun bool, report func(Stray)) (GCResult, error) {
	var res GCResult
	if report == nil {
		report = func(Stray) {}
	}
	removed := StrayRemoved
	if dryRun {
		removed = StrayWouldRemove
	}
	cutoff := s.now().Add(-grace)
	err := s.blobs.Walk(ctx, func(b blob.Info) error {
		sha := b.SHA256
		res.Seen++
		used, err := s.store.BlobReferenced(ctx, sha)
		if err != nil {
			return err
		}
		if used {
			res.Referenced++
			return nil
		}
		stray := Stray{SHA256: sha, Size: b.Size, Written: b.ModTime, State: StrayRecent}
		if !b.ModTime.After(cutoff) {
			// An upload may have committed the same digest again since
			// the walk listed it (which refreshes its time): look once
			// more.
			now, err := s.blobs.Stat(ctx, sha)
			if errors.Is(err, blob.ErrNotFound) {
				return nil // removed meanwhile
			}
			if err != nil {
				return err
			}
			stray.Written = now.ModTime
		}
		if stray.Written.After(cutoff) {
			res.Recent++
			report(stray)
			return nil
		}
		if !dryRun {
			if err := s.blobs.Delete(ctx, sha); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "removed unreferenced blob", "sha256", sha, "written", b.ModTime)
		}
		res.Removed++
		res.RemovedBytes += b.Size
		stray.State = removed
		report(stray)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("index: collect blobs: %w", err)
	}
	inc, ok := s.blobs.(blob.Incompleter)
	if !ok {
		return res, nil
	}
	// Listed first, aborted after: aborting while the store lists them
	// could upset its paging.
	var old []blob.Incomplete
	err = inc.Incomplete(ctx, func(u blob.Incomplete) error {
		if u.Started.After(cutoff) {
			res.IncompleteRecent++
			report(Stray{SHA256: u.Key, Incomplete: true, Size: -1, Written: u.Started, State: StrayRecent})
			return nil
		}
		old = append(old, u)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("index: collect blobs: list incomplete uploads: %w", err)
	}
	for _, u := range old {
		if !dryRun {
			if err := inc.AbortIncomplete(ctx, u.Key); err != nil {
				return res, fmt.Errorf("index: collect blobs: abort incomplete upload %s: %w", u.Key, err)
			}
			s.log.InfoContext(ctx, "aborted incomplete upload", "key", u.Key, "started", u.Started)
		}
		res.Aborted++
		report(Stray{SHA256: u.Key, Incomplete: true, Size: -1, Written: u.Started, State: removed})
	}
	return res, nil
}
