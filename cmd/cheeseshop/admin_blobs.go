package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"cheeseshop/internal/app"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// AdminBlobsCmd groups blob-store commands.
type AdminBlobsCmd struct {
	Gc   BlobsGCCmd   `cmd:"" name:"gc" help:"Remove stored files that no published file references (deleted files, refused uploads, uploads a crash cut short)."`
	Copy BlobsCopyCmd `cmd:"" help:"Copy every stored file from --storage to another storage (a folder to S3), resumably, then check that every file the database names is there."`
}

// BlobsGCCmd removes unreferenced blobs.
type BlobsGCCmd struct {
	Grace     time.Duration `default:"24h" help:"Keep blobs written more recently than this (uploads in flight write their blob before their row; the times are the storage's clock: allow for the skew between it and this machine)."`
	DryRun    bool          `help:"List what would be removed, and remove nothing."`
	RuleFlags `embed:""`
}

// Run implements the command. It prints one line per stray (sha256, size,
// when written, what became of it), then a summary.
func (c *BlobsGCCmd) Run(e *env) error {
	if c.Grace < time.Minute {
		return errors.New("--grace must be at least 1m: an upload in flight writes its file before its row")
	}
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		grace := shortDuration(c.Grace)
		res, err := a.Index.CollectBlobs(e.ctx, c.Grace, c.DryRun, func(s index.Stray) {
			size := fmt.Sprint(s.Size)
			if s.Incomplete {
				size = "-"
			}
			fmt.Fprintf(e.stdout, "%s %s %s %s\n", s.SHA256, size, s.Written.UTC().Format(time.RFC3339), strayState(s, grace))
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
	})
}

// strayState says what gc did with a stray: a blob was "removed", "would
// remove" or "kept: newer than <grace>"; an incomplete upload (whose key
// is printed instead of a digest) is said to be so.
func strayState(s index.Stray, grace string) string {
	state := "kept: newer than " + grace
	switch {
	case s.State == index.StrayRemoved && s.Incomplete:
		state = "aborted"
	case s.State == index.StrayRemoved:
		state = "removed"
	case s.State == index.StrayWouldRemove && s.Incomplete:
		state = "would abort"
	case s.State == index.StrayWouldRemove:
		state = "would remove"
	}
	if s.Incomplete {
		return "incomplete upload, " + state
	}
	return state
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

// BlobsCopyCmd copies the blob store to another one.
type BlobsCopyCmd struct {
	To     string `required:"" help:"The storage to copy to, a URL as for --storage: file:///abs/path or s3://BUCKET/PREFIX?endpoint=…"`
	Verify bool   `help:"Read every file back from the destination and check its SHA-256, also those already there (which are copied again if they do not match)."`
	Jobs   int    `default:"4" help:"Files copied at once (1 to 64)."`
}

// Run implements the command. A file already in the destination with the
// same size is skipped, so that the command resumes where an interrupted
// run stopped. Every copy is verified as it is written (the destination
// hashes what it stores); a source file whose content does not match its
// name is reported as corrupt and the copy goes on. At the end, every
// digest the database names (files and their metadata) must be in the
// destination. The exit status is 1 when anything failed or is missing.
func (c *BlobsCopyCmd) Run(e *env) error {
	if c.Jobs < 1 || c.Jobs > 64 {
		return fmt.Errorf("--jobs must be between 1 and 64, not %d", c.Jobs)
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := e.openBlobs()
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := blob.Open(e.ctx, c.To, blob.Options{DataDir: e.Data, Logger: e.log})
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()
	if fmt.Sprint(src) == fmt.Sprint(dst) {
		return fmt.Errorf("--to names the source storage (%v)", src)
	}
	cp := &blobCopier{src: src, dst: dst, verify: c.Verify, out: e.stdout}
	if err := cp.copyAll(e.ctx, c.Jobs); err != nil {
		fmt.Fprintf(e.stdout, "%s; interrupted\n", cp.summary())
		return fmt.Errorf("copy stopped (run it again to resume): %w", err)
	}
	digests, missing, err := cp.checkRows(e.ctx, st, c.Jobs)
	if err != nil {
		fmt.Fprintf(e.stdout, "%s; rows: not checked\n", cp.summary())
		return err
	}
	rows := "all present"
	if missing > 0 {
		rows = fmt.Sprintf("%d missing", missing)
	}
	fmt.Fprintf(e.stdout, "%s; rows: %d digests, %s\n", cp.summary(), digests, rows)
	if cp.failed > 0 || missing > 0 {
		return fmt.Errorf("%d files failed to copy, %d named by the database are missing from %v", cp.failed, missing, dst)
	}
	return nil
}

// blobCopier copies blobs from src to dst, printing a line for every file
// copied or failed to out.
type blobCopier struct {
	src, dst blob.Store
	verify   bool

	mu                      sync.Mutex
	out                     io.Writer
	copied, skipped, failed int
	copiedBytes             int64
}

// summary counts what was done.
func (c *blobCopier) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("copied %d (%d bytes), skipped %d, failed %d", c.copied, c.copiedBytes, c.skipped, c.failed)
}

// printf writes a line to out; the copy jobs share it.
func (c *blobCopier) printf(format string, a ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format+"\n", a...)
}

// copyAll copies every blob of src, jobs at a time. It stops at the
// first storage fault (a store unreachable or full would fail every file
// after it) or when ctx is done; other failures are counted and printed.
func (c *blobCopier) copyAll(ctx context.Context, jobs int) error {
	g, ctx := errgroup.WithContext(ctx)
	todo := make(chan blob.Info)
	g.Go(func() error {
		defer close(todo)
		return c.src.Walk(ctx, func(b blob.Info) error {
			select {
			case todo <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range jobs {
		g.Go(func() error {
			for b := range todo {
				if err := c.copyOne(ctx, b); err != nil {
					if ctx.Err() == nil && !blob.IsUnavailable(err) {
						c.mu.Lock()
						c.failed++
						c.mu.Unlock()
						c.printf("failed %s: %v", b.SHA256, err)
						continue
					}
					return fmt.Errorf("%s: %w", b.SHA256, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// copyOne copies one blob, unless the destination has it already.
func (c *blobCopier) copyOne(ctx context.Context, b blob.Info) error {
	sha := b.SHA256
	have, err := c.dst.Stat(ctx, sha)
	switch {
	case err == nil && have.Size == b.Size:
		ok := !c.verify
		if !ok {
			if ok, err = hashes(ctx, c.dst, sha); err != nil {
				return fmt.Errorf("verify the copy: %w", err)
			}
		}
		if ok {
			c.mu.Lock()
			c.skipped++
			c.mu.Unlock()
			return nil
		}
		c.printf("corrupt %s in the destination: copying it again", sha)
	case err == nil, errors.Is(err, blob.ErrNotFound):
		// Missing, or a different size: copy.
	default:
		return err
	}
	obj, err := c.src.Open(ctx, sha)
	if errors.Is(err, blob.ErrNotFound) {
		return nil // removed meanwhile (gc)
	}
	if err != nil {
		return err
	}
	err = c.dst.Put(ctx, sha, obj, obj.Size())
	obj.Close()
	if err != nil {
		// The destination refuses content that does not hash to its
		// name: tell a corrupt source from a failing destination.
		if ok, herr := hashes(ctx, c.src, sha); herr == nil && !ok {
			return errors.New("the source is corrupt: its content does not hash to its name")
		}
		return err
	}
	if c.verify {
		if ok, err := hashes(ctx, c.dst, sha); err != nil {
			return fmt.Errorf("verify the copy: %w", err)
		} else if !ok {
			return errors.New("verify the copy: the destination's content does not hash to its name")
		}
	}
	c.mu.Lock()
	c.copied++
	c.copiedBytes += obj.Size()
	c.mu.Unlock()
	c.printf("copied %s %d", sha, obj.Size())
	return nil
}

// hashes reports whether the blob sha of s hashes to its name.
func hashes(ctx context.Context, s blob.Store, sha string) (bool, error) {
	obj, err := s.Open(ctx, sha)
	if err != nil {
		return false, err
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == sha, nil
}

// checkRows checks that every digest the database names is in the
// destination, printing those that are not. It returns how many digests
// the database names and how many are missing.
func (c *blobCopier) checkRows(ctx context.Context, st *store.Store, jobs int) (digests, missing int, err error) {
	const page = 1000
	var mu sync.Mutex
	after := ""
	for {
		shas, err := st.ReferencedDigests(ctx, after, page)
		if err != nil {
			return digests, missing, err
		}
		if len(shas) == 0 {
			return digests, missing, nil
		}
		digests += len(shas)
		after = shas[len(shas)-1]
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(jobs)
		for _, sha := range shas {
			g.Go(func() error {
				_, err := c.dst.Stat(gctx, sha)
				if errors.Is(err, blob.ErrNotFound) {
					mu.Lock()
					missing++
					mu.Unlock()
					c.printf("missing %s: named by the database, not in the destination", sha)
					return nil
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return digests, missing, fmt.Errorf("check the rows' digests: %w", err)
		}
	}
}
