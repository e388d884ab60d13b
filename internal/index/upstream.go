package index

import (
	"context"
	"io"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// Upstream is the proxy of upstream indexes (--upstream): the projects
// that do not exist on this index are served from an upstream's simple
// API, their files fetched, verified and stored on first use.
// internal/upstream implements it and internal/app wires it; this
// package never imports it. The Service decides first whether a name may
// reach the upstream at all (ResolveProject): a name that exists locally
// never does.
type Upstream interface {
	// Project returns a proxied project's page: store.ErrNotFound when no
	// upstream lists the name (or a rule keeps it off); a
	// problem.Unavailable when it was never cached and the upstreams do
	// not answer.
	Project(ctx context.Context, normalized string) (*ProxiedPage, error)
	// File returns a proxied distribution file (metadata false) or its
	// PEP 658 core metadata (true), fetched, verified against the
	// upstream's SHA-256 and stored on first use: store.ErrNotFound when
	// it is not a listed, visible file of a proxied project.
	File(ctx context.Context, sha256, filename string, metadata bool) (*ProxiedFile, error)
	// Name tells whether an upstream lists a name, for the creation of a
	// local project of that name (dependency confusion).
	Name(ctx context.Context, normalized string) (UpstreamName, error)
	// Quarantine and Release act on a proxied name: a quarantined one is
	// served without files, with the administrator's reason.
	Quarantine(ctx context.Context, actor *store.User, m audit.Meta, normalized, reason string) error
	Release(ctx context.Context, actor *store.User, m audit.Meta, normalized string) error
	// Invalidate drops what the proxy holds in memory for a name (its
	// rendered page), so that the next read re-renders it from the rows:
	// Cache.Follow calls it for the journal's upstream entries written by
	// other replicas and the command line.
	Invalidate(normalized string)
}

// LocalNamesPolicy is what happens when a new local project takes a
// name an upstream lists (--upstream-local-names).
type LocalNamesPolicy string

// The local names policies.
const (
	// LocalNamesRefuse refuses the upload (or pending publisher) that
	// would create it.
	LocalNamesRefuse LocalNamesPolicy = "refuse"
	// LocalNamesAllow creates it: it shadows the upstream's from then on.
	LocalNamesAllow LocalNamesPolicy = "allow"
	// LocalNamesAsk creates it held for an administrator's review; until
	// approved the upstream's project is still served.
	LocalNamesAsk LocalNamesPolicy = "ask"
)

// ProxiedPage is the page of a project served from an upstream: the
// simple API in both formats and the JSON API document, rendered by this
// index from what it could check (nothing of the upstream's markup).
type ProxiedPage struct {
	UpstreamProjectID int64
	Name              string // as the upstream spells it
	Upstream          string // the pinned upstream's URL, redacted
	HTML, JSON        Page   // the simple API
	API               Page   // the JSON API (/pypi/<name>/json)
	LastSerial        int64
	// Stale: the upstream did not answer and this is the last page it
	// gave (X-Cheeseshop-Upstream: stale).
	Stale bool
}

// ProxiedFile is a proxied file stored in the blob store, served like a
// local one.
type ProxiedFile struct {
	UpstreamProjectID int64
	Project           string // normalized
	Filename          string
	Key               string // the blob served: the file's digest, or its metadata's
	Size              int64
	ModTime           time.Time
	// Stream, when set, is the file being fetched for the first time
	// (a large one), from its first byte as it arrives: the caller sends
	// Size bytes from it and closes it, and cuts the answer short if it
	// fails (the upstream's bytes did not match; the tail is held back
	// until they did). Nil: the file is in the blob store under Key.
	Stream io.ReadCloser
}

// UpstreamName is what the upstreams say of a name.
type UpstreamName struct {
	Exists bool
	// Unknown: no upstream could be asked; callers fail closed.
	Unknown  bool
	Upstream string // the upstream that lists it, redacted
}

// UpstreamRules are the administrator's rules on upstream names, as read
// from the store.
type UpstreamRules []store.UpstreamRule

// Match returns the rule of action that applies to the normalized name
// at now, or nil: an exact pattern wins over a prefix pattern, a longer
// prefix over a shorter one; an expired rule never applies.
func (rs UpstreamRules) Match(name, action string, now time.Time) *store.UpstreamRule {
	var best *store.UpstreamRule
	bestLen := -1
	for i := range rs {
		r := &rs[i]
		if r.Action != action || (!r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)) {
			continue
		}
		n := -1
		if prefix, ok := strings.CutSuffix(r.Pattern, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				n = len(prefix)
			}
		} else if r.Pattern == name {
			n = len(name) + 1 // exact beats every prefix
		}
		if n > bestLen {
			best, bestLen = r, n
		}
	}
	return best
}

// ValidRulePattern reports whether p is a rule pattern: a normalized
// project name, or a prefix of one followed by "*" ("acme-*"; not "*"
// alone, which would be the allow-list switch in disguise).
func ValidRulePattern(p string) bool {
	prefix, wild := strings.CutSuffix(p, "*")
	if prefix == "" || strings.ContainsAny(prefix, "*") {
		return false
	}
	if wild {
		return pep.NormalizeName(prefix+"x") == prefix+"x" && pep.ValidProjectName(prefix+"x")
	}
	return pep.NormalizeName(prefix) == prefix && pep.ValidProjectName(prefix)
}
