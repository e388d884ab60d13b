package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"cheeseshop/internal/index"
)

// AdminBlobsCmd groups blob-store commands.
type AdminBlobsCmd struct {
	Gc BlobsGCCmd `cmd:"" name:"gc" help:"Remove stored files that no published file references (deleted files, refused uploads, uploads a crash cut short)."`
}

// BlobsGCCmd removes unreferenced blobs.
type BlobsGCCmd struct {
	Grace  time.Duration `default:"24h" help:"Keep blobs written more recently than this (uploads in flight write their blob before their row; the times are the storage's clock: allow for the skew between it and this machine)."`
	DryRun bool          `help:"List what would be removed, and remove nothing."`
}

// Run implements the command. It prints one line per stray (sha256, size,
// when written, what became of it), then a summary.
func (c *BlobsGCCmd) Run(e *env) error {
	if c.Grace < time.Minute {
		return errors.New("--grace must be at least 1m: an upload in flight writes its file before its row")
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := e.openBlobs()
	if err != nil {
		return err
	}
	defer blobs.Close()
	grace := shortDuration(c.Grace)
	idx := index.New(st, blobs, index.Config{}, e.log)
	res, err := idx.CollectBlobs(e.ctx, c.Grace, c.DryRun, func(s index.Stray) {
		var state string
		switch s.State {
		case index.StrayRemoved:
			state = "removed"
		case index.StrayWouldRemove:
			state = "would remove"
		default:
			state = "kept: newer than " + grace
		}
		size := fmt.Sprint(s.Size)
		if s.Incomplete {
			size = "-"
			state = "incomplete upload, " + strings.NewReplacer("removed", "aborted", "would remove", "would abort").Replace(state)
		}
		fmt.Fprintf(e.stdout, "%s %s %s %s\n", s.SHA256, size, s.Written.UTC().Format(time.RFC3339), state)
	})
	removed, aborted := "removed", "aborted"
	if c.DryRun {
		removed, aborted = "would be removed", "would be aborted"
	}
	fmt.Fprintf(e.stdout, "blobs: %d seen, %d %s (%d bytes), %d in use, %d newer than %s",
		res.Seen, res.Removed, removed, res.RemovedBytes, res.Referenced, res.Recent, grace)
	if res.Aborted+res.IncompleteRecent > 0 {
		fmt.Fprintf(e.stdout, "; incomplete uploads: %d %s, %d newer than %s", res.Aborted, aborted, res.IncompleteRecent, grace)
	}
	fmt.Fprintln(e.stdout)
	return err
}

// shortDuration writes d as time.Duration does, without its zero minutes
// and seconds: 24h, 1m, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
