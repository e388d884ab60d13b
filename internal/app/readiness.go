package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"cheeseshop/internal/blob"
	"cheeseshop/internal/store"
	"cheeseshop/internal/web"
)

// Readiness probing (/readyz).
const (
	// ReadinessTTL is how long a probe's result stands: however often
	// /readyz is asked, the database and the storage each see at most one
	// probe per ReadinessTTL, and a failed part is probed again after it.
	ReadinessTTL = 5 * time.Second
	// ProbeTimeout bounds a probe: a database or a storage slower than
	// this (SQLite's write lock held, S3 not answering) is not ready.
	ProbeTimeout = 3 * time.Second
)

// readiness checks that the server can take traffic: the database takes
// writes (Store.ProbeWrite) and the file storage too (blob.Store.Probe).
type readiness struct {
	parts []*probe
}

// probe is one part's check, its last result and when it was had. Its
// mutex is held while it runs: concurrent checks wait for the probe in
// flight and share its result.
type probe struct {
	part string
	run  func(context.Context) error
	log  *slog.Logger
	// now is the clock of the cache (time.Now; tests move it).
	now func() time.Time

	mu  sync.Mutex
	at  time.Time // zero: never run
	err error
}

func newReadiness(st *store.Store, blobs blob.Store, log *slog.Logger, now func() time.Time) *readiness {
	db := func(ctx context.Context) error { return st.ProbeWrite(ctx, now()) }
	return &readiness{parts: []*probe{
		{part: "database", run: db, log: log, now: time.Now},
		{part: "storage", run: blobs.Probe, log: log, now: time.Now},
	}}
}

// check returns nil when every part works, else a *web.Unready naming
// the first that does not (web.Options.Ready).
func (r *readiness) check() error {
	for _, p := range r.parts {
		if err := p.check(); err != nil {
			return &web.Unready{Part: p.part, Err: err}
		}
	}
	return nil
}

// check returns the part's last result if it is recent enough, else
// probes it; it logs a failed probe once.
func (p *probe) check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && p.now().Sub(p.at) < ReadinessTTL {
		return p.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	p.err = p.run(ctx)
	p.at = p.now()
	if p.err != nil {
		p.log.Warn("not ready", "part", p.part, "err", p.err)
	}
	return p.err
}
