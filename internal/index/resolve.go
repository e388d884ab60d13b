package index

// Where a read is answered from: a local project, or the proxy of the
// upstream indexes (Config.Upstream). Dependency confusion is decided
// here, once, for the simple pages, the JSON API and the files: a name
// that exists locally, in any state (published, held for review,
// quarantined, private, archived), is answered from the local project
// alone, or not at all; it never reaches the upstream. The one exception
// is a local project held because an upstream listed its name before it
// existed (LocalNamesAsk): until an administrator approves it, the
// upstream's project is still served, so that an uploader cannot take a
// popular name off the proxy by uploading it. A prohibited name (an
// administrator's, or a deleted project's, in every spelling that
// ultranormalizes alike) and a name that collides with another local
// project once ultranormalized are never proxied either.
//
// The reads of proxied projects are hot (pip asks for every dependency):
// what a name resolves to is kept in memory (Cache.source), and so is
// that a filename is no local file's, both forgotten by every
// invalidation of the cache, which every local change and the journal's
// entries make.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// source is where a project name is answered from.
type source uint8

const (
	// sourceLocal: a local project of that name shadows the upstream.
	sourceLocal source = iota + 1
	// sourceUpstream: no local project shadows it; the upstream may be
	// asked.
	sourceUpstream
	// sourceNone: neither (a prohibited name, or one that collides
	// with a local project's).
	sourceNone
)

// ResolveProject returns what r reads at a project name (normalized):
// the local project's pages (local), or a proxied project's (proxied),
// or store.ErrNotFound when there is none r may read. A local project r
// may not read is not found either, and never answered by the upstream.
// Without an upstream it is the local project or nothing. A proxied
// project is read by every reader allowed to read at all; the upstream's
// problem.Unavailable (never cached, upstream down) is returned as is.
func (s *Service) ResolveProject(ctx context.Context, r *Reader, normalized string) (local *ProjectPage, proxied *ProxiedPage, err error) {
	src := sourceLocal
	if s.cfg.Upstream != nil {
		if !pep.ValidProjectName(normalized) {
			return nil, nil, fmt.Errorf("index: project %q: %w", normalized, store.ErrNotFound)
		}
		if src, err = s.sourceOf(ctx, normalized); err != nil {
			return nil, nil, err
		}
	}
	switch src {
	case sourceUpstream:
		p, err := s.cfg.Upstream.Project(ctx, normalized)
		if err != nil {
			return nil, nil, fmt.Errorf("index: proxied project %s: %w", normalized, err)
		}
		return nil, p, nil
	case sourceNone:
		return nil, nil, fmt.Errorf("index: project %s is not proxied: %w", normalized, store.ErrNotFound)
	}
	page, err := s.cache.Project(ctx, normalized)
	if err != nil {
		return nil, nil, err
	}
	if !s.CanRead(r, page.View.Project) {
		return nil, nil, fmt.Errorf("index: project %s: %w", normalized, store.ErrNotFound)
	}
	return page, nil, nil
}

// ResolveFile returns the file r reads at /files/<sha256>/<filename>
// (metadata: its PEP 658 core metadata): a local file (local), or a
// proxied one (proxied), or store.ErrNotFound. A local file of that name
// answers alone: with another digest, or withheld (its project
// quarantined or held), or of a project r may not read, it is not found,
// never asked of the upstream. A proxied file is served only while its
// project still resolves to the upstream: a local project created since
// shadows it at once.
func (s *Service) ResolveFile(ctx context.Context, r *Reader, sha256, filename string, metadata bool) (local *FileEntry, proxied *ProxiedFile, err error) {
	if s.cfg.Upstream == nil || !s.cache.nonLocalFile(filename) {
		gen := s.cache.generation()
		f, err := s.cache.File(ctx, filename)
		switch {
		case err == nil:
			if f.SHA256 != sha256 || !s.CanReadFile(r, f) || (metadata && f.MetadataSHA256 == "") {
				return nil, nil, fileNotFound(filename)
			}
			return f, nil, nil
		case errors.Is(err, errWithheld):
			return nil, nil, fileNotFound(filename)
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
		if s.cfg.Upstream == nil {
			return nil, nil, fileNotFound(filename)
		}
		s.cache.rememberNonLocalFile(filename, gen)
	}
	pf, err := s.cfg.Upstream.File(ctx, sha256, filename, metadata)
	if err != nil {
		return nil, nil, fmt.Errorf("index: proxied file %s: %w", filename, err)
	}
	src, err := s.sourceOf(ctx, pf.Project)
	if err != nil || src != sourceUpstream {
		if pf.Stream != nil {
			pf.Stream.Close() // a first fetch the proxy streams: not read here
		}
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fileNotFound(filename)
	}
	return nil, pf, nil
}

// upstreamServedSince returns when this proxy's rows first recorded the
// upstream's project of a name, zero when they hold none found. Rows are
// written only for names that resolve to the upstream, so a row found
// predates every look-alike that blocks the name since.
func (s *Service) upstreamServedSince(ctx context.Context, normalized string) (time.Time, error) {
	row, err := s.store.UpstreamProjectByName(ctx, normalized)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, err
	case !row.Found:
		return time.Time{}, nil
	}
	return row.CreatedAt, nil
}

// fileNotFound is ResolveFile's store.ErrNotFound.
func fileNotFound(filename string) error {
	return fmt.Errorf("index: file %s: %w", filename, store.ErrNotFound)
}

// sourceOf returns where a name is answered from, from memory when it
// can.
func (s *Service) sourceOf(ctx context.Context, normalized string) (source, error) {
	if src := s.cache.source(normalized); src != 0 {
		return src, nil
	}
	gen := s.cache.generation()
	src, err := s.loadSource(ctx, normalized)
	if err != nil {
		return 0, fmt.Errorf("index: resolve %s: %w", normalized, err)
	}
	s.cache.rememberSource(normalized, src, gen)
	return src, nil
}

// loadSource decides from the database where a name is answered from.
func (s *Service) loadSource(ctx context.Context, normalized string) (source, error) {
	proj, err := s.store.ProjectByName(ctx, normalized)
	switch {
	case err == nil:
		rv, err := s.store.NameReviewOf(ctx, proj.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !(rv.Held && rv.Kind == store.ReviewUpstreamName)) {
			return sourceLocal, nil
		} else if err != nil {
			return 0, err
		}
		// Held until approved for taking an upstream name: the
		// upstream's project is still served.
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	// A look-alike's prohibition or a colliding local project made
	// after this proxy first served the upstream's project does not take
	// it off: else any uploader could, with co-lorama for colorama, held
	// or rejected. The name's own prohibition always does.
	first, err := s.upstreamServedSince(ctx, normalized)
	if err != nil {
		return 0, err
	}
	ultra := pep.UltraNormalizeName(normalized)
	bans, err := s.store.ProhibitionsLike(ctx, ultra)
	if err != nil {
		return 0, err
	}
	for _, b := range bans {
		if b.Normalized == normalized || first.IsZero() || !first.Before(b.CreatedAt) {
			return sourceNone, nil
		}
	}
	other, err := s.store.ProjectByUltraName(ctx, ultra)
	switch {
	case err == nil && other.NormalizedName != normalized && (first.IsZero() || !first.Before(other.CreatedAt)):
		s.log.WarnContext(ctx, "upstream blocked: collides with local project", "project", normalized, "local", other.NormalizedName)
		return sourceNone, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	return sourceUpstream, nil
}
