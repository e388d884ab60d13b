package index

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// ReadAccess says who may read the index (--read-access).
type ReadAccess string

// The read access modes.
const (
	// ReadPublic: anybody reads every published project.
	ReadPublic ReadAccess = "public"
	// ReadAuthenticated: every read needs a signed-in session or an API
	// token (HTTP Basic, username __token__).
	ReadAuthenticated ReadAccess = "authenticated"
)

// Visibilities of a project (store.Project.Visibility, SetVisibility).
const (
	VisibilityPublic  = store.VisibilityPublic
	VisibilityPrivate = store.VisibilityPrivate
)

// Reader is who reads: anonymous, a signed-in user, or an API token
// (of a user, or minted for a trusted publisher). Build it with
// Anonymous, ReaderForToken or ReaderForUser, and ask CanRead whether it
// may read a project: that is the one decision of every read.
type Reader struct {
	User  *store.User  // nil: anonymous, or a trusted publisher's token
	Token *store.Token // nil: a session, or anonymous
	Admin bool
	// scope, when the token is scoped (or a publisher's), lists the
	// projects it may read, by normalized name, sorted; scopeIDs holds
	// their IDs. Unscoped readers have neither.
	scoped   bool
	scope    []string
	scopeIDs []int64
	// private lists the private projects the reader reads, by ID,
	// sorted, its scope applied: the projects of which its user is a
	// collaborator (every private project for an administrator), or
	// those a trusted publisher publishes. key identifies the list (the
	// reader's variant of the root); "" when it is empty.
	private []int64
	key     string
}

// Authenticated reports whether the reader proved who it is.
func (r *Reader) Authenticated() bool { return r.User != nil || r.Token != nil }

// Scoped reports whether the reader's token is limited to some projects
// (a scoped token, or a trusted publisher's, which reads the projects it
// publishes).
func (r *Reader) Scoped() bool { return r.scoped }

// ReadRequiresAuth reports whether every read needs a reader who signed
// in or gave a token (--read-access authenticated).
func (s *Service) ReadRequiresAuth() bool { return s.cfg.ReadAccess == ReadAuthenticated }

// Anonymous returns the reader of a request without credentials.
func (s *Service) Anonymous() *Reader { return anonymous }

var anonymous = &Reader{}

// CanRead decides whether r may read proj: its simple page, JSON API,
// files and public pages. A private project is read only by its
// collaborators, the administrators, and their tokens whose scope (if
// any) includes it, and by the tokens of the trusted publishers that
// publish it. With authenticated reads an anonymous reader reads
// nothing, and a scoped token (upload or read-only) or a trusted
// publisher's token reads only its projects. A token never reads less
// than anonymous: with public reads, a scope limits nothing for a public
// project (so that a scoped token in .netrc does not hide the rest of a
// public index from pip). A project r may not read is answered as one
// that does not exist (404), never 403.
func (s *Service) CanRead(r *Reader, proj *store.Project) bool {
	if proj.Private() {
		_, ok := slices.BinarySearch(r.private, proj.ID)
		return ok
	}
	if !s.ReadRequiresAuth() {
		return true
	}
	if !r.Authenticated() {
		return false
	}
	if r.scoped {
		_, ok := slices.BinarySearch(r.scopeIDs, proj.ID)
		return ok
	}
	return true
}

// CanReadFile is CanRead for a published file (and its metadata file),
// by the project it belongs to.
func (s *Service) CanReadFile(r *Reader, f *FileEntry) bool {
	return s.CanRead(r, f.Project())
}

// Shareable reports whether the read answers about proj (pages, JSON
// API, files) may be kept by shared caches (a CDN) and given to anybody:
// only when anyone reads the index and the project. With authenticated
// reads, or for a private project, every answer is the reader's own.
func (s *Service) Shareable(proj *store.Project) bool {
	return !s.ReadRequiresAuth() && !proj.Private()
}

// ReaderForUser returns the reader of a signed-in session of u. The
// private projects it reads are cached as a token's reader is.
func (s *Service) ReaderForUser(ctx context.Context, u *store.User) (*Reader, error) {
	key := readerCacheKey{user: u.ID, admin: u.IsAdmin}
	now := s.now()
	if r := s.readers.get(key, now); r != nil {
		rd := *r
		rd.User = u // the session's, as fresh as it is
		return &rd, nil
	}
	gen := s.readers.gen.Load()
	r := &Reader{User: u, Admin: u.IsAdmin}
	private, err := s.privateOf(ctx, u)
	if err != nil {
		return nil, err
	}
	r.setPrivate(private)
	s.readers.put(key, r, gen, now)
	return r, nil
}

// privateOf returns the private projects u reads, sorted by ID: every
// one for an administrator, else those it holds a role on.
func (s *Service) privateOf(ctx context.Context, u *store.User) ([]int64, error) {
	var ids []int64
	var err error
	if u.IsAdmin && !u.Disabled {
		ids, err = s.store.PrivateProjectIDs(ctx)
	} else {
		ids, err = s.store.PrivateProjectsOf(ctx, u.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("index: reader: %w", err)
	}
	return ids, nil
}

// setPrivate sets the private projects r reads (sorted) and their key.
func (r *Reader) setPrivate(ids []int64) {
	r.private = ids
	r.key = ""
	if len(ids) == 0 {
		return
	}
	h := sha256.New()
	var b [8]byte
	for _, id := range ids {
		binary.BigEndian.PutUint64(b[:], uint64(id))
		h.Write(b[:])
	}
	r.key = string(h.Sum(nil))
}

// Bounds of the cache of token readers: a token's rights are read from
// the database at most once per readerTTL on each replica, and at once
// after an access change (AccessChanged, or ActionAccessChanged in the
// journal from another replica or the command line).
const (
	readerTTL        = 30 * time.Second
	maxCachedReaders = 10_000
)

// readers caches the readers of tokens by the hash of their secret,
// and those of sessions by user: positive answers only, so that a wrong
// token always costs its lookup and a new token works at once.
type readers struct {
	gen     atomic.Uint64 // bumped by every access change
	mu      sync.RWMutex
	entries map[readerCacheKey]cachedReader
}

// readerCacheKey is a token's hash, or a session's user (and whether it
// is an administrator, which changes what it reads).
type readerCacheKey struct {
	token [sha256.Size]byte
	user  int64
	admin bool
}

type cachedReader struct {
	r   *Reader
	gen uint64
	at  time.Time
}

func (c *readers) get(key readerCacheKey, now time.Time) *Reader {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || e.gen != c.gen.Load() || now.Sub(e.at) >= readerTTL {
		return nil
	}
	if t := e.r.Token; t != nil && !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return nil
	}
	return e.r
}

func (c *readers) put(key readerCacheKey, r *Reader, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return // an access change happened during the lookup
	}
	if c.entries == nil {
		c.entries = make(map[readerCacheKey]cachedReader)
	}
	if len(c.entries) >= maxCachedReaders {
		for k, e := range c.entries { // drop the stale first, else any
			if now.Sub(e.at) >= readerTTL || e.gen != gen {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxCachedReaders {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cachedReader{r: r, gen: gen, at: now}
}

func (c *readers) forget() {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.entries)
	c.mu.Unlock()
}

// AccessChanged makes this replica forget the readers it cached, at
// once; other replicas do when they read the ActionAccessChanged entry
// the change journaled (accessChanged).
func (s *Service) AccessChanged() { s.readers.forget() }

// accessChanged journals that who may read changed, in tx, so that every
// replica forgets its cached readers (Cache.Follow); the caller calls
// AccessChanged once tx committed.
func (s *Service) accessChanged(ctx context.Context, tx *store.Tx) error {
	_, err := tx.AddJournal(ctx, 0, "", store.ActionAccessChanged, s.now())
	return err
}

// ReaderForToken returns the reader of an API token (the password of
// HTTP Basic with the username __token__): every token reads, within its
// scope. An unknown, revoked or expired token, or one of a disabled
// account, is a problem.Unauthenticated: a wrong token is never read as
// anonymous. Readers are cached in memory for at most readerTTL, and
// forgotten at once on an access change, so that the hot read paths
// (pip's GETs) do not query the database.
func (s *Service) ReaderForToken(ctx context.Context, secret string, m audit.Meta) (*Reader, error) {
	key := readerCacheKey{token: sha256.Sum256([]byte(secret))} // as auth.HashToken, without its hex
	now := s.now()
	if r := s.readers.get(key, now); r != nil {
		return r, nil
	}
	gen := s.readers.gen.Load()
	r, err := s.loadReader(ctx, secret, m)
	if err != nil {
		return nil, err
	}
	s.readers.put(key, r, gen, now)
	return r, nil
}

// loadReader builds a token's reader from the database.
func (s *Service) loadReader(ctx context.Context, secret string, m audit.Meta) (*Reader, error) {
	p, err := s.AuthenticateToken(ctx, secret, m)
	if err != nil {
		return nil, err
	}
	r := &Reader{User: p.User, Token: p.Token}
	if p.User != nil {
		r.Admin = p.User.IsAdmin
	}
	var names []string
	var private []int64
	switch {
	case p.Publisher():
		projects, err := s.store.PublisherProjects(ctx, p.Token.PublisherID)
		if err != nil {
			return nil, fmt.Errorf("index: reader: %w", err)
		}
		for _, proj := range projects {
			r.scopeIDs = append(r.scopeIDs, proj.ID)
			names = append(names, proj.NormalizedName)
			if proj.Private() {
				private = append(private, proj.ID)
			}
		}
		slices.Sort(private)
	default:
		if private, err = s.privateOf(ctx, p.User); err != nil {
			return nil, err
		}
		if !p.Token.Scoped {
			r.setPrivate(private)
			return r, nil
		}
		r.scopeIDs = slices.Clone(p.Token.ProjectIDs)
		for _, n := range p.Token.ProjectNames {
			names = append(names, pep.NormalizeName(n))
		}
	}
	r.scoped = true
	slices.Sort(r.scopeIDs)
	slices.Sort(names)
	r.scope = names
	r.setPrivate(slices.DeleteFunc(private, func(id int64) bool {
		_, in := slices.BinarySearch(r.scopeIDs, id)
		return !in
	}))
	return r, nil
}

// RootFor returns the project list r reads (/simple/): the cached list
// of every published public project; for a reader of private projects,
// that list with them, rendered once per set of private projects and
// kept while neither the list nor anybody's access changes; for a reader
// limited to a scope with authenticated reads (CanRead), the projects of
// its scope that the index publishes, rendered for it alone (a scope is
// small; its pages are cached).
func (s *Service) RootFor(ctx context.Context, r *Reader) (*RootPage, error) {
	base, err := s.cache.Root(ctx)
	if err != nil {
		return nil, err
	}
	if r.scoped && s.ReadRequiresAuth() {
		return s.scopeRoot(ctx, r, base)
	}
	if r.key == "" {
		return base, nil
	}
	gen := s.readers.gen.Load()
	if p := s.cache.variants.get(r.key, base, gen); p != nil {
		return p, nil
	}
	private, err := s.store.PrivateProjectNames(ctx, r.private)
	if err != nil {
		return nil, fmt.Errorf("index: root: %w", err)
	}
	public := base.allNames()
	names := make([]store.ProjectName, 0, len(public)+len(private))
	i, j := 0, 0
	for i < len(public) || j < len(private) {
		if j == len(private) || (i < len(public) && public[i].Normalized < private[j].Normalized) {
			names = append(names, public[i])
			i++
		} else {
			names = append(names, private[j])
			j++
		}
	}
	p := newRootPage(names, base.Serial, true)
	p.Personal = true
	s.cache.variants.put(r.key, p, base, gen)
	return p, nil
}

// scopeRoot is the project list of a scoped token with authenticated
// reads: the projects of its scope that it reads.
func (s *Service) scopeRoot(ctx context.Context, r *Reader, base *RootPage) (*RootPage, error) {
	var names []store.ProjectName
	for _, n := range r.scope {
		page, err := s.cache.Project(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		p := page.View.Project
		if !s.CanRead(r, p) {
			continue
		}
		names = append(names, store.ProjectName{Name: p.Name, Normalized: p.NormalizedName})
	}
	p := newRootPage(names, base.Serial, false)
	p.Personal = true
	return p, nil
}

// errReadOnlyToken is the refusal of a read-only token by every route
// that writes (uploads, the management API).
var errReadOnlyToken = problem.Errorf(problem.Forbidden, "This API token can only read (install packages): create an upload token to upload.")

// CheckWrite refuses a read-only token any write: an upload or a
// management call. The attempt is recorded.
func (s *Service) CheckWrite(ctx context.Context, p *Principal) error {
	if p.Token != nil && p.Token.ReadOnly {
		s.tokenRefused(ctx, p, "to write with a read-only token")
		return errReadOnlyToken
	}
	return nil
}
