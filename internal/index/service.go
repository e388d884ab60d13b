// Package index is the package index itself: who may publish what, the
// rules every upload must pass, and the published views of projects (the
// simple repository API and the JSON API), kept in a cache that follows the
// database journal. It knows nothing of HTTP.
package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Defaults for Config.
const (
	DefaultMaxFileSize    = 100 << 20 // 100 MiB, as PyPI
	DefaultMaxProjectSize = 10 << 30  // 10 GiB, as PyPI
)

// Config holds the index's settings.
type Config struct {
	// BaseURL is the public URL of the server, without a trailing slash;
	// file URLs and help links are built from it.
	BaseURL        string
	MaxFileSize    int64
	MaxProjectSize int64
	// ReleaseUploadWindow is how long after its creation a release takes
	// new files; later, they are refused, as PyPI does from 2026 on (14
	// days), so that a stolen token cannot add files to old releases
	// that users pin. 0: no limit.
	ReleaseUploadWindow time.Duration
	// CacheBytes bounds the memory of cached project pages.
	CacheBytes int64
	// UploadGate, when set, may refuse a user any upload (for instance
	// the site-wide two-factor requirement): it returns the message that
	// tells the user why and what to do, or "".
	UploadGate func(ctx context.Context, u *store.User) (refusal string, err error)
	// ProjectGate, when set, may refuse a user any change to a project:
	// uploads, yanks, deletions, roles, invitations, settings, tokens
	// scoped to it or allowed to manage it. Reads are never gated.
	ProjectGate ProjectGate
	// NameCheck, when set, finds whether the name of a project being
	// created by an upload is a look-alike of a protected name; it runs
	// after the other name rules, and never for an existing project.
	NameCheck NameCheck
	// LookalikePolicy is what happens to such a project ("": hold).
	LookalikePolicy LookalikePolicy
	// AllowPrivateClassifiers accepts uploads with "Private :: …"
	// classifiers, which mark a project never meant for a public index;
	// PyPI refuses them, and so does the index unless this is set (for
	// a private index).
	AllowPrivateClassifiers bool
	// StrictRecord refuses wheels whose RECORD disagrees with their
	// contents (a file not listed, an entry for a missing file, a wrong
	// sha256 hash or size). Off, they are accepted as on PyPI, with a
	// warning in the upload's answer and an audit event on the project.
	StrictRecord bool
	// LegacySdistNames accepts an sdist whose file name spells the
	// project's name or version otherwise than PEP 625 does, as
	// setuptools before 69.3 writes it (nc-hello-0.1.0.tar.gz), and
	// stores it under its PEP 625 name (nc_hello-0.1.0.tar.gz), which is
	// then the only one the duplicate checks, the pages and the downloads
	// know. Off, such names are refused as PyPI refuses them.
	LegacySdistNames bool
	// ReadAccess says who may read the index ("": ReadPublic).
	ReadAccess ReadAccess
	// Upstream is the proxy of upstream indexes (nil: none): names that
	// do not exist locally are served from it (ResolveProject).
	Upstream Upstream
	// LocalNames is what happens when a new local project takes a name an
	// upstream lists (dependency confusion): LocalNamesRefuse,
	// LocalNamesAllow or LocalNamesAsk ("": ask). Unused without Upstream.
	LocalNames LocalNamesPolicy
	// Mailer tells users of every API token created for them, uploaders
	// of held projects and the administrators of look-alikes (nil: the
	// notices are only logged).
	Mailer mail.Mailer
}

// Service is the package index. It is safe for concurrent use.
type Service struct {
	store  *store.Store
	latest latestMemo // LatestReleases
	blobs  blob.Store
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	cache  *Cache
	mail   *mail.Sender // the users' token notices, through cfg.Mailer
	// readers caches the readers of API tokens (ReaderForToken).
	readers readers
}

// New returns a Service.
func New(st *store.Store, blobs blob.Store, cfg Config, log *slog.Logger) *Service {
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = DefaultMaxFileSize
	}
	if cfg.MaxProjectSize <= 0 {
		cfg.MaxProjectSize = DefaultMaxProjectSize
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.ReadAccess == "" {
		cfg.ReadAccess = ReadPublic
	}
	if cfg.LookalikePolicy == "" {
		cfg.LookalikePolicy = LookalikeHold
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Service{store: st, blobs: blobs, cfg: cfg, log: log, now: func() time.Time { return time.Now().UTC() },
		mail: &mail.Sender{Mailer: cfg.Mailer, BaseURL: cfg.BaseURL, Log: log}}
	s.cache = newCache(s)
	return s
}

// Config returns the settings in use.
func (s *Service) Config() Config { return s.cfg }

// Blobs returns the file store.
func (s *Service) Blobs() blob.Store { return s.blobs }

// Cache returns the cache of published views.
func (s *Service) Cache() *Cache { return s.cache }

func (s *Service) helpURL(anchor string) string {
	return s.cfg.BaseURL + "/help/#" + anchor
}

// tokenTouchInterval is how stale a token's recorded last use may be.
const tokenTouchInterval = time.Minute

// Principal is who is acting: a user, through an API token or a
// signed-in web session; or a trusted publisher, through a token minted
// for it (User is then nil: see Publisher).
type Principal struct {
	User  *store.User
	Token *store.Token // nil when acting through a web session
	// RecentAuth is set when the session proved its identity lately
	// (signed in, with its second factor if it has one, or
	// re-authenticated within twofactor.ReauthWindow); never through a
	// token. Creating a token needs it.
	RecentAuth bool
	// Meta is the origin of the request, for security events.
	Meta audit.Meta
}

// Publisher reports whether p is a trusted publisher, acting through a
// token minted for it: no user, and the token (upload-only, scoped to
// the publisher's projects, short-lived) names the publisher.
func (p *Principal) Publisher() bool { return p.Token != nil && p.Token.PublisherID != 0 }

// Name names who acts, for messages and events: the user's name, or the
// token's, which names the publisher and the workflow run.
func (p *Principal) Name() string {
	if p.Publisher() {
		return p.Token.Name
	}
	return p.User.Username
}

// actorID is the user acting, 0 for a trusted publisher.
func (p *Principal) actorID() int64 {
	if p.User == nil {
		return 0
	}
	return p.User.ID
}

// AuthenticateToken resolves an API token to the user it acts for, or
// to the trusted publisher it was minted for; m is the origin of the
// request, kept in the principal for security events.
func (s *Service) AuthenticateToken(ctx context.Context, token string, m audit.Meta) (*Principal, error) {
	t, err := s.store.TokenByHash(ctx, auth.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.Errorf(problem.Unauthenticated, "Invalid API Token: the token is not valid (it may have been revoked). Create a new one.")
	}
	if err != nil {
		return nil, fmt.Errorf("index: authenticate: %w", err)
	}
	now := s.now()
	if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
		return nil, problem.Errorf(problem.Unauthenticated, "Invalid API Token: the token expired at %s. Create a new one.", t.ExpiresAt.Format(time.RFC3339))
	}
	if t.PublisherID != 0 {
		// A minted token lives minutes and its minting is the event;
		// its last use is kept, no event per use.
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			return nil, fmt.Errorf("index: authenticate: %w", err)
		}
		t.LastUsedAt = now
		return &Principal{Token: t, Meta: m}, nil
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("index: authenticate: %w", err)
	}
	if u.Disabled {
		return nil, problem.Errorf(problem.Unauthenticated, "Invalid API Token: the account %q is disabled. Contact the index administrators.", u.Username)
	}
	// Record the use at minute precision: writing on every upload would
	// take the database's write lock twice per upload.
	if now.Sub(t.LastUsedAt) >= tokenTouchInterval {
		if err := s.touchToken(ctx, t, u, now, m); err != nil {
			return nil, fmt.Errorf("index: authenticate: %w", err)
		}
		t.LastUsedAt = now
	}
	return &Principal{User: u, Token: t, Meta: m}, nil
}

// canUpload decides whether p may upload to an existing project.
func (s *Service) canUpload(ctx context.Context, q interface {
	RoleOf(ctx context.Context, projectID, userID int64) (string, error)
	PublisherLinked(ctx context.Context, publisherID, projectID int64) (bool, error)
	GateQuerier
}, p *Principal, proj *store.Project) error {
	if p.Token != nil && p.Token.ReadOnly {
		return errReadOnlyToken
	}
	if p.Token != nil && p.Token.Scoped {
		allowed := false
		for _, id := range p.Token.ProjectIDs {
			allowed = allowed || id == proj.ID
		}
		if !allowed {
			return problem.Errorf(problem.Forbidden, "The given token isn't allowed to upload to project '%s'. Use a token scoped to this project or to all your projects.", proj.Name)
		}
	}
	if p.Publisher() {
		// The publisher's projects are its token's scope; the two-factor
		// mandate binds people, and an Owner bound by it added the
		// publisher (as on PyPI). A project taken from the publisher
		// since the token was minted is out of its reach at once. The
		// project's status still applies.
		if linked, err := q.PublisherLinked(ctx, p.Token.PublisherID, proj.ID); err != nil {
			return fmt.Errorf("index: publisher: %w", err)
		} else if !linked {
			return problem.Errorf(problem.Forbidden, "The trusted publisher of this token no longer publishes project '%s'.", proj.Name)
		}
		return s.statusRefusal(p, proj, ActionUpload)
	}
	if _, err := q.RoleOf(ctx, proj.ID, p.User.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.Forbidden, "The user '%s' isn't allowed to upload to project '%s'. See %s for more information.",
				p.User.Username, proj.Name, s.helpURL("project-name"))
		}
		return fmt.Errorf("index: role: %w", err)
	}
	return s.mandated(ctx, q, p, proj, ActionUpload)
}

// CheckUploader refuses an upload by a principal whose user a policy
// forbids to upload at all (Config.UploadGate), before any of the upload
// is read.
func (s *Service) CheckUploader(ctx context.Context, p *Principal) error {
	if s.cfg.UploadGate == nil || p.User == nil {
		return nil
	}
	msg, err := s.cfg.UploadGate(ctx, p.User)
	if err != nil {
		return fmt.Errorf("index: upload gate: %w", err)
	}
	if msg != "" {
		return problem.Errorf(problem.Forbidden, "%s", msg)
	}
	return nil
}
