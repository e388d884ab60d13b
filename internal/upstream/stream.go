package upstream

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// Streaming of large first fetches. A file larger than StreamAbove is
// not fetched whole before its first byte is sent: an installer (pip
// gives up after 15 s without a byte) would time out while a gigabyte
// wheel crosses. The fetch writes into the blob store's staged file and
// into a spool, and every client asking for the file meanwhile reads the
// spool as it grows. The last HoldBack bytes are given only once the
// whole file matched its listed SHA-256 and size: a client never gets a
// complete file that was not verified (on a mismatch every reader fails
// and its connection is cut, so the client sees a truncated body).
const (
	// DefaultStreamAbove is the size above which a first fetch streams.
	DefaultStreamAbove = 32 << 20
	// HoldBack is the tail of a streamed file kept from readers until the
	// file is verified.
	HoldBack = 64 << 10
)

// spool is a file being fetched that readers stream while it grows. The
// file is unlinked once open, so a crash leaves nothing behind; it is
// closed when the fetch ended and its last reader closed.
type spool struct {
	f    *os.File
	size int64 // the listed size: what readers get in the end

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change
	written int64
	done    bool
	err     error // the fetch's failure, once done
	refs    int   // the fetch and the open readers
}

// newSpool creates an unlinked spool file in dir for a file of size
// bytes.
func newSpool(dir string, size int64) (*spool, error) {
	f, err := os.CreateTemp(dir, "upstream-*.part")
	if err != nil {
		return nil, fmt.Errorf("upstream: spool: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("upstream: spool: %w", err)
	}
	return &spool{f: f, size: size, changed: make(chan struct{}), refs: 1}, nil
}

// Write appends p to the spool (the fetch's side).
func (s *spool) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.mu.Lock()
	s.written += int64(n)
	s.notify()
	s.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("upstream: spool: %w", err)
	}
	return n, nil
}

// notify wakes the readers; s.mu is held.
func (s *spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// finish ends the fetch: err nil means the file was verified (and
// stored), and readers get its tail; else they fail with err.
func (s *spool) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.notify()
	s.mu.Unlock()
	s.release()
}

func (s *spool) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last {
		s.f.Close()
	}
}

// open returns a reader of the whole file from its first byte.
func (s *spool) open() *spoolReader {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
	return &spoolReader{s: s}
}

// spoolReader reads a spool from its start, waiting for bytes the fetch
// has not written (or verified) yet.
type spoolReader struct {
	s      *spool
	off    int64
	closed bool
}

// Read blocks until bytes past the reader's offset may be given; it
// returns the fetch's error if the fetch failed, io.EOF after the
// verified file's last byte.
func (r *spoolReader) Read(p []byte) (int, error) {
	return r.read(context.Background(), p)
}

func (r *spoolReader) read(ctx context.Context, p []byte) (int, error) {
	s := r.s
	for {
		s.mu.Lock()
		avail, done, err, changed := s.written, s.done, s.err, s.changed
		s.mu.Unlock()
		if done && err != nil {
			return 0, err
		}
		if !done {
			avail = min(avail, s.size-HoldBack) // the tail waits for the verification
		} else {
			avail = min(avail, s.size)
		}
		if r.off < avail {
			n, err := s.f.ReadAt(p[:min(int64(len(p)), avail-r.off)], r.off)
			r.off += int64(n)
			if err == io.EOF && n > 0 {
				err = nil
			}
			return n, err
		}
		if done {
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
	}
}

// Close releases the reader.
func (r *spoolReader) Close() error {
	if !r.closed {
		r.closed = true
		r.s.release()
	}
	return nil
}

// ctxReader is a spoolReader that gives up waiting when its request's
// context ends (the client left).
type ctxReader struct {
	*spoolReader
	ctx context.Context
}

func (r ctxReader) Read(p []byte) (int, error) { return r.read(r.ctx, p) }

// streamFile starts (or joins) the streamed first fetch of a large file
// and returns pf with Stream set: the file from its first byte, read as
// it arrives, for ctx's request. The fetch runs detached from the
// caller, so a client that leaves does not stop it; it stores the file
// as a whole fetch does. A reader joining a fetch under way needs no
// fetch slot, and never waits behind a caller waiting for one.
func (p *Proxy) streamFile(ctx context.Context, c *Client, f *store.UpstreamFile, proj *store.UpstreamProject,
	pf *index.ProxiedFile) (*index.ProxiedFile, error) {
	// A reader is opened under spoolsMu: a fetch leaves p.spools (under
	// it) before it releases its spool, so the spool cannot close between
	// finding it and opening a reader of it.
	p.spoolsMu.Lock()
	var r *spoolReader
	if sp := p.spools[f.SHA256]; sp != nil {
		r = sp.open()
	}
	p.spoolsMu.Unlock()
	if r == nil {
		release, err := p.acquire(ctx)
		if err != nil {
			return nil, err
		}
		var stored *index.ProxiedFile
		if r, stored, err = p.startStream(ctx, c, f, proj, pf, release); r == nil {
			return stored, err
		}
	}
	got := *pf
	got.Size, got.ModTime = f.Size, p.cfg.Now()
	got.Stream = ctxReader{spoolReader: r, ctx: ctx}
	return &got, nil
}

// startStream starts the streamed fetch of f, which frees the fetch
// slot release frees when it ends, and returns a reader of its spool. It
// frees the slot at once and starts nothing when another caller started
// the fetch meanwhile (a reader of its spool is returned), when the file
// was stored since the row was read (stored), or on an error.
func (p *Proxy) startStream(ctx context.Context, c *Client, f *store.UpstreamFile, proj *store.UpstreamProject,
	pf *index.ProxiedFile, release func()) (r *spoolReader, stored *index.ProxiedFile, err error) {
	p.spoolsMu.Lock()
	defer p.spoolsMu.Unlock()
	if sp := p.spools[f.SHA256]; sp != nil {
		release()
		return sp.open(), nil, nil
	}
	// A fetch leaves p.spools only once it stored the file or failed.
	again, _, err := p.st.UpstreamFileBySHA(ctx, f.SHA256)
	if err == nil {
		stored, err = p.stored(ctx, pf, again.StoredAt)
	}
	var sp *spool
	if err == nil && stored == nil {
		sp, err = newSpool(p.cfg.SpoolDir, f.Size)
	}
	if sp == nil {
		release()
		return nil, stored, err
	}
	p.spools[f.SHA256] = sp
	r = sp.open()
	go func() {
		defer release()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fileFlightTimeout)
		defer cancel()
		_, err := p.fetchInto(fctx, c, f, proj, false, pf, sp)
		p.spoolsMu.Lock()
		delete(p.spools, f.SHA256)
		p.spoolsMu.Unlock()
		sp.finish(err)
	}()
	return r, nil, nil
}
