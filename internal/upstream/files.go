package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// File returns a proxied file, or its core metadata (index.Upstream),
// named by the distribution's filename either way (the name
// index.Service.ResolveFile checks against the local files first):
// it must be listed now by a proxied project's page, visible under the
// minimum age and not quarantined, else store.ErrNotFound. A file not
// stored yet is fetched once (concurrent callers share the fetch, at
// most MaxFetches at a time), verified against the listed SHA-256 and
// size and stored before it is returned; a distribution file larger than
// StreamAbove is streamed to its first readers while it arrives instead
// (ProxiedFile.Stream, stream.go). A digest that differs stores nothing, records
// an upstream:file:hash_mismatch event and fails with problem.BadGateway.
func (p *Proxy) File(ctx context.Context, sha256, filename string, metadata bool) (*index.ProxiedFile, error) {
	notFound := fmt.Errorf("upstream: file %s/%s: %w", sha256, filename, store.ErrNotFound)
	if !validDigest(sha256) {
		return nil, notFound
	}
	f, proj, err := p.st.UpstreamFileBySHA(ctx, sha256)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	rules, err := p.currentRules(ctx)
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	switch {
	case f.Filename != filename, !f.RemovedAt.IsZero(), !proj.Found,
		proj.LocalStatus == store.UpstreamQuarantined, proj.UpstreamStatus == store.StatusQuarantined,
		!p.proxied(rules, proj.NormalizedName, now),
		!FileVisible(fileOf(f), now, p.cfg.MinAge, exempt(rules, proj.NormalizedName, now) != nil),
		metadata && f.MetadataSHA256 == "":
		return nil, notFound
	}
	key, storedAt := f.SHA256, f.StoredAt
	if metadata {
		key, storedAt = f.MetadataSHA256, f.MetadataStoredAt
	}
	pf := &index.ProxiedFile{UpstreamProjectID: proj.ID, Project: proj.NormalizedName, Filename: f.Filename, Key: key}
	if stored, err := p.stored(ctx, pf, storedAt); stored != nil || err != nil {
		return stored, err
	}
	c := p.client(proj.Upstream)
	if c == nil {
		return nil, problem.Errorf(problem.Unavailable, "The upstream index of '%s' is not configured any more.", proj.NormalizedName)
	}
	if !metadata && f.Size > p.cfg.StreamAbove {
		return p.streamFile(ctx, c, f, proj, pf)
	}
	got, _, err := p.fileFlight.Do(ctx, "file:"+key, func(ctx context.Context) (*index.ProxiedFile, error) {
		// A fetch that ended since the row was read stored it.
		again, _, err := p.st.UpstreamFileBySHA(ctx, f.SHA256)
		if err != nil {
			return nil, err
		}
		storedAt := again.StoredAt
		if metadata {
			storedAt = again.MetadataStoredAt
		}
		if stored, err := p.stored(ctx, pf, storedAt); stored != nil || err != nil {
			return stored, err
		}
		return p.fetchInto(ctx, c, f, proj, metadata, pf, nil)
	})
	return got, err
}

// stored returns pf with its size and time when it was stored (storedAt
// set) and is in the blob store; nil when it must be fetched.
func (p *Proxy) stored(ctx context.Context, pf *index.ProxiedFile, storedAt time.Time) (*index.ProxiedFile, error) {
	if storedAt.IsZero() {
		return nil, nil
	}
	info, err := p.blobs.Stat(ctx, pf.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil // evicted from the blob store: fetched again
	} else if err != nil {
		return nil, fmt.Errorf("upstream: stat %s: %w", pf.Key, err)
	}
	got := *pf
	got.Size, got.ModTime = info.Size, info.ModTime
	return &got, nil
}

// fetchInto fetches a file (or its metadata) into the blob store, and
// into spool too when it is not nil (a streamed fetch, which holds its
// fetch slot already).
func (p *Proxy) fetchInto(ctx context.Context, c *Client, f *store.UpstreamFile, proj *store.UpstreamProject,
	metadata bool, pf *index.ProxiedFile, spool io.Writer) (*index.ProxiedFile, error) {
	if spool == nil {
		release, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	staged, err := p.blobs.Stage(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream: stage %s: %w", pf.Key, err)
	}
	defer staged.Abort()
	fetch := c.FetchFile
	if metadata {
		fetch = c.FetchMetadata
	}
	var dst io.Writer = staged
	if spool != nil {
		dst = io.MultiWriter(staged, spool)
	}
	t, err := fetch(ctx, fileOf(f), dst)
	if err != nil {
		return nil, p.fetchFailed(ctx, proj, f, metadata, err)
	}
	if err := staged.Commit(ctx, t.SHA256); err != nil {
		return nil, fmt.Errorf("upstream: store %s: %w", pf.Key, err)
	}
	now := p.cfg.Now()
	if err := p.st.MarkUpstreamStored(ctx, f.SHA256, metadata, t.Size, now); err != nil {
		return nil, err
	}
	p.log.Info("upstream file stored", "project", proj.NormalizedName, "file", f.Filename, "metadata", metadata,
		"bytes", t.Size, "upstream", proj.Upstream)
	got := *pf
	got.Size, got.ModTime = t.Size, now
	if info, err := p.blobs.Stat(ctx, t.SHA256); err == nil {
		got.ModTime = info.ModTime
	}
	return &got, nil
}

// acquire takes one of MaxFetches, waiting at most fetchWait.
func (p *Proxy) acquire(ctx context.Context) (release func(), err error) {
	select {
	case p.fetches <- struct{}{}:
		return func() { <-p.fetches }, nil
	default:
	}
	t := time.NewTimer(fetchWait)
	defer t.Stop()
	select {
	case p.fetches <- struct{}{}:
		return func() { <-p.fetches }, nil
	case <-t.C:
		return nil, &problem.Error{Kind: problem.Unavailable, RetryAfter: 5 * time.Second,
			Message: "This index is fetching as many files from its upstream as it may; retry shortly."}
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// fetchFailed turns a failed fetch into the caller's error, recording a
// mismatch.
func (p *Proxy) fetchFailed(ctx context.Context, proj *store.UpstreamProject, f *store.UpstreamFile, metadata bool, err error) error {
	switch {
	case errors.Is(err, ErrMismatch):
		p.log.Error("upstream file refused: digest or size differs from its page", "project", proj.NormalizedName,
			"file", f.Filename, "metadata", metadata, "err", err)
		if aerr := audit.Record(ctx, p.st, p.cfg.Now(), audit.Meta{}, store.Event{ProjectName: proj.NormalizedName,
			Tag: audit.UpstreamHashMismatch}, map[string]any{"file": f.Filename, "sha256": f.SHA256,
			"metadata": metadata, "upstream": proj.Upstream, "error": err.Error()}); aerr != nil {
			p.log.Error("upstream: record a mismatch", "err", aerr)
		}
		return problem.Wrap(err, problem.BadGateway,
			"The upstream index sent a file whose SHA-256 differs from the one it lists; it was not stored.")
	case errors.Is(err, ErrHostile):
		p.log.Warn("upstream file refused", "project", proj.NormalizedName, "file", f.Filename, "err", err)
		return problem.Wrap(err, problem.BadGateway, "The upstream index answered something this index refuses for this file.")
	case errors.Is(err, ErrNotFound):
		return problem.Wrap(err, problem.BadGateway, "The upstream index lists this file but does not serve it.")
	case errors.Is(err, ErrUnavailable):
		p.log.Warn("upstream file not fetched", "project", proj.NormalizedName, "file", f.Filename, "err", err)
		return &problem.Error{Kind: problem.Unavailable, RetryAfter: 30 * time.Second, Err: err,
			Message: "The upstream index is not answering and this file is not cached yet; retry later."}
	}
	return err
}
