package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// DefaultTokenLifetime is how long a minted token uploads: 15 minutes,
// as on PyPI.
const DefaultTokenLifetime = 15 * time.Minute

// jtiMargin keeps a jti past its token's expiry, beyond any clock skew
// the signature verification allows.
const jtiMargin = 5 * time.Minute

// DefaultIssuers are the public issuers and the kind each serves.
func DefaultIssuers() map[string]string {
	return map[string]string{"github": store.PublisherGitHub, "gitlab": store.PublisherGitLab, "google": store.PublisherGoogle}
}

// Config holds the settings of trusted publishing.
type Config struct {
	// Issuers maps the name of every issuer this index trusts to the
	// kind of publishers it serves (store.PublisherGitHub, ...): the
	// public ones, and those an operator configured (a self-managed
	// GitLab serves the gitlab kind, any other issuer the generic one).
	// nil: DefaultIssuers.
	Issuers map[string]string
	// TokenLifetime is how long a minted token uploads (0:
	// DefaultTokenLifetime).
	TokenLifetime time.Duration
}

// Service keeps projects' trusted publishers and exchanges verified ID
// tokens for upload tokens. It is safe for concurrent use.
type Service struct {
	store *store.Store
	idx   *index.Service
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Service; now is its clock (nil: the system's).
func New(st *store.Store, idx *index.Service, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.Issuers == nil {
		cfg.Issuers = DefaultIssuers()
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Service{store: st, idx: idx, cfg: cfg, log: log, now: now}
}

// Issuers returns the name of every issuer this index trusts, mapped to
// the kind of publishers it serves: the web UI offers those.
func (s *Service) Issuers() map[string]string { return maps.Clone(s.cfg.Issuers) }

// newPublisher checks a configuration against the issuers this index
// trusts.
func (s *Service) newPublisher(spec Spec) (*store.Publisher, error) {
	pub, err := build(spec)
	if err != nil {
		return nil, err
	}
	if s.cfg.Issuers[pub.Issuer] != pub.Kind {
		return nil, invalid("This index does not trust the issuer %q for %s publishers.", pub.Issuer, pub.Kind)
	}
	return pub, nil
}

// Describe names a publisher for people: its kind and what it is bound
// to.
func Describe(p *store.Publisher) string {
	var d string
	switch p.Kind {
	case store.PublisherGitHub:
		d = fmt.Sprintf("GitHub %s/%s, workflow %s", p.RepositoryOwner, p.RepositoryName, p.WorkflowFilename)
	case store.PublisherGitLab:
		d = fmt.Sprintf("GitLab %s/%s/%s, %s", p.Instance, p.Namespace, p.GitLabProject, p.CIConfigPath)
	case store.PublisherGoogle:
		d = "Google service account " + p.Email
		if p.Subject != "" {
			d += " (" + p.Subject + ")"
		}
	default:
		d = p.Issuer + " " + p.ClaimRules
	}
	if p.Environment != "" {
		d += ", environment " + p.Environment
	}
	return d
}

// AddPublisher lets a publisher upload to the project: a change to the
// project (an Owner, through a session that proved its identity lately,
// passing the two-factor mandate). A publisher configured alike on
// another project is the same publisher, then also of this one.
func (s *Service) AddPublisher(ctx context.Context, p *index.Principal, m audit.Meta, project string, spec Spec) (*store.Publisher, error) {
	pub, err := s.newPublisher(spec)
	if err != nil {
		return nil, err
	}
	err = s.idx.ChangeProjectCredentials(ctx, p, m, project, index.ActionAddPublisher, func(tx *store.Tx, proj *store.Project) error {
		now := s.now()
		existing, err := tx.ActivePublisherByIdentity(ctx, pub.Issuer, pub.Identity)
		switch {
		case err == nil:
			linked, err := tx.PublisherLinked(ctx, existing.ID, proj.ID)
			if err != nil {
				return err
			}
			if linked {
				return problem.Errorf(problem.Conflict, "This trusted publisher is already registered on '%s'.", proj.Name)
			}
			pub = existing
		case errors.Is(err, store.ErrNotFound):
			pub.AddedBy, pub.CreatedAt = p.User.ID, now
			if err := tx.AddPublisher(ctx, pub); err != nil {
				return err
			}
		default:
			return err
		}
		if err := tx.LinkPublisher(ctx, pub.ID, proj.ID, now); err != nil {
			return err
		}
		return projectEvent(ctx, tx, now, m, proj, p.User, audit.PublisherAdded, pub)
	})
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// RemovePublisher takes a publisher from the project (the same checks as
// AddPublisher); a publisher left with no project is deleted, and with
// it every token minted for it. A token minted before stops uploading to
// the project at once.
func (s *Service) RemovePublisher(ctx context.Context, p *index.Principal, m audit.Meta, project string, id int64) error {
	return s.idx.ChangeProjectCredentials(ctx, p, m, project, index.ActionRemovePublisher, func(tx *store.Tx, proj *store.Project) error {
		pub, err := tx.PublisherByID(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		linked := false
		if err == nil {
			if linked, err = tx.PublisherLinked(ctx, id, proj.ID); err != nil {
				return err
			}
		}
		if !linked {
			return problem.Errorf(problem.NotFound, "'%s' has no trusted publisher number %d.", proj.Name, id)
		}
		left, err := tx.UnlinkPublisher(ctx, id, proj.ID)
		if err != nil {
			return err
		}
		if left == 0 {
			if err := tx.DeletePublisher(ctx, id); err != nil {
				return err
			}
		}
		return projectEvent(ctx, tx, s.now(), m, proj, p.User, audit.PublisherRemoved, pub)
	})
}

// ListPublishers lists the project's publishers; p must hold a role on
// it.
func (s *Service) ListPublishers(ctx context.Context, p *index.Principal, project string) ([]*store.Publisher, error) {
	proj, err := s.idx.CollaboratorProject(ctx, p, project)
	if err != nil {
		return nil, err
	}
	pubs, err := s.store.ProjectPublishers(ctx, proj.ID)
	if err != nil {
		return nil, fmt.Errorf("publish: publishers of %s: %w", project, err)
	}
	return pubs, nil
}

func projectEvent(ctx context.Context, tx *store.Tx, now time.Time, m audit.Meta, proj *store.Project, u *store.User, tag string, pub *store.Publisher) error {
	return audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, ActorID: u.ID, Tag: tag},
		map[string]any{"by": u.Username, "publisher": Describe(pub), "publisher_id": pub.ID})
}

// maxPending bounds the pending publishers of one account.
const maxPending = 32

// AddPending adds a pending publisher for p's account: on its first
// use, it creates the project named projectName, with the account as
// Owner, and becomes the project's publisher. The account acts through
// a session that proved its identity lately, with a verified email
// address; the project must not exist. The name rules and look-alike
// checks apply when the project is created.
func (s *Service) AddPending(ctx context.Context, p *index.Principal, m audit.Meta, projectName string, spec Spec) (*store.Publisher, error) {
	if err := s.accountChange(p); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(projectName)
	if !pep.ValidProjectName(name) || len(name) > index.MaxNameLength {
		return nil, invalidField("project_name", "The name '%s' is not a valid project name.", truncate(name, index.MaxNameLength))
	}
	pub, err := s.newPublisher(spec)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.ProjectByName(ctx, pep.NormalizeName(name)); err == nil {
		return nil, problem.Errorf(problem.Conflict, "The project '%s' exists already: add the publisher on its management page.", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("publish: pending publisher: %w", err)
	}
	if err := s.idx.CheckProjectName(ctx, name); err != nil {
		return nil, err
	}
	now := s.now()
	pub.PendingName, pub.PendingNormalized, pub.AddedBy, pub.CreatedAt = name, pep.NormalizeName(name), p.User.ID, now
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		mine, err := tx.PendingPublishersOf(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if len(mine) >= maxPending {
			return problem.Errorf(problem.Invalid, "You have %d pending trusted publishers, the most an account may have: remove one first.", len(mine))
		}
		if err := tx.AddPublisher(ctx, pub); err != nil {
			if store.IsUniqueViolation(err) {
				return problem.Errorf(problem.Conflict, "This trusted publisher is already pending for a project.")
			}
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.PendingPublisherAdded},
			map[string]any{"project": name, "publisher": Describe(pub), "publisher_id": pub.ID})
	})
	if err != nil {
		return nil, wrap(err, "add pending publisher")
	}
	return pub, nil
}

// ListPending lists the pending publishers of p's account.
func (s *Service) ListPending(ctx context.Context, p *index.Principal) ([]*store.Publisher, error) {
	if p.User == nil || p.Token != nil {
		return nil, problem.Errorf(problem.Forbidden, "Sign in to the web UI to see your pending trusted publishers.")
	}
	pubs, err := s.store.PendingPublishersOf(ctx, p.User.ID)
	return pubs, wrap(err, "pending publishers")
}

// RemovePending removes one of the pending publishers of p's account.
func (s *Service) RemovePending(ctx context.Context, p *index.Principal, m audit.Meta, id int64) error {
	if err := s.accountChange(p); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		pub, err := tx.PublisherByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!pub.Pending() || pub.AddedBy != p.User.ID)) {
			return problem.Errorf(problem.NotFound, "You have no pending trusted publisher number %d.", id)
		} else if err != nil {
			return err
		}
		if err := tx.DeletePublisher(ctx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{UserID: p.User.ID, ActorID: p.User.ID, Tag: audit.PendingPublisherRemoved},
			map[string]any{"project": pub.PendingName, "publisher": Describe(pub), "publisher_id": pub.ID})
	})
	return wrap(err, fmt.Sprintf("remove pending publisher %d", id))
}

// accountChange refuses a change to an account's pending publishers but
// through a signed-in session that proved its identity lately, by an
// account with a verified email address.
func (s *Service) accountChange(p *index.Principal) error {
	switch {
	case p.User == nil || p.Token != nil:
		return problem.Errorf(problem.Forbidden, "API tokens cannot change pending trusted publishers: sign in to the web UI.")
	case !p.User.EmailVerified:
		return problem.Errorf(problem.Forbidden, "Verify your email address before adding trusted publishers.")
	case !p.RecentAuth:
		return problem.Wrap(auth.ErrReauthRequired, problem.Forbidden,
			"Confirm it is you before you change pending trusted publishers: re-authenticate (with your second factor if you have one), then try again within 10 minutes.")
	}
	return nil
}

// Minted is an upload token just minted for a publisher.
type Minted struct {
	// Token is the secret, shown this once.
	Token   string
	Expires time.Time
	// Publisher is the publisher the token acts for, Projects the names
	// of the projects it uploads to.
	Publisher *store.Publisher
	Projects  []string
	// Created is the project a pending publisher created ("" if none).
	Created string
}

// Exchange exchanges the verified claims of an ID token for an upload
// token, as PyPI's mint-token: a pending publisher matching the claims
// first creates its project (the index's name rules and look-alike
// checks apply) and becomes an active publisher; then the active
// publisher matching the claims is found, the token's jti is claimed
// once (a replay is refused, on every replica sharing the database), and
// a token is minted that uploads, nothing more, only to the publisher's
// projects, for Config.TokenLifetime. m is the origin of the request,
// for the events. A refusal is an *Error with PyPI's code.
func (s *Service) Exchange(ctx context.Context, c Claims, m audit.Meta) (*Minted, error) {
	kindName := s.cfg.Issuers[c.Issuer]
	k, ok := kinds[kindName]
	if !ok {
		return nil, noPublisher(fmt.Sprintf("Unknown issuer %q", c.Issuer))
	}
	if name := k.missing(c.Claims); name != "" {
		return nil, noPublisher(fmt.Sprintf("Missing claim '%s'", name))
	}
	lookup, err := k.lookup(c.Claims)
	if err != nil {
		return nil, err
	}
	var pub *store.Publisher
	pending, err := s.find(ctx, k, kindName, lookup, c, true)
	if _, none := errors.AsType[*Error](err); none {
		pending = nil
		if pub, err = s.find(ctx, k, kindName, lookup, c, false); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	// The token matched a publisher: it is used up now, whatever
	// happens next.
	if err := s.claimJTI(ctx, c); err != nil {
		return nil, err
	}
	created := ""
	if pending != nil {
		if err := s.reify(ctx, pending, m); err != nil {
			return nil, err
		}
		created = pending.PendingName
		if pub, err = s.find(ctx, k, kindName, lookup, c, false); err != nil {
			return nil, err
		}
	}
	minted, err := s.mint(ctx, pub, c, m)
	if err != nil {
		return nil, err
	}
	minted.Created = created
	if n, err := s.store.PruneJTIs(ctx, s.now()); err != nil {
		s.log.WarnContext(ctx, "prune jtis", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "pruned jtis", "count", n)
	}
	return minted, nil
}

// find returns the publisher, pending or active, that the claims match.
func (s *Service) find(ctx context.Context, k kind, kindName, lookup string, c Claims, pending bool) (*store.Publisher, error) {
	cands, err := s.store.PublisherCandidates(ctx, c.Issuer, kindName, lookup, pending)
	if err != nil {
		return nil, fmt.Errorf("publish: find publisher: %w", err)
	}
	pub := k.pick(cands, c.Claims)
	if pub == nil {
		return nil, noPublisher("Publisher with matching claims was not found")
	}
	if err := k.verify(pub, c.Claims); err != nil {
		return nil, err
	}
	return pub, nil
}

// reify creates a pending publisher's project, with the account that
// added it as Owner, and makes the publisher the project's; the other
// pending publishers of that project's name are deleted.
func (s *Service) reify(ctx context.Context, pending *store.Publisher, m audit.Meta) error {
	invalidPending := func(desc string) error {
		return &Error{Code: CodeInvalidPendingPublisher, Description: desc}
	}
	var u *store.User
	if pending.AddedBy != 0 {
		var err error
		if u, err = s.store.UserByID(ctx, pending.AddedBy); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("publish: pending publisher's account: %w", err)
		}
	}
	if u == nil || u.Disabled {
		if err := s.store.DeletePublisher(ctx, pending.ID); err != nil {
			return fmt.Errorf("publish: pending publisher: %w", err)
		}
		return invalidPending("valid token, but the account that added the pending publisher is gone or disabled")
	}
	_, err := s.idx.CreateProjectFor(ctx, u, m, pending.PendingName, func(tx *store.Tx, proj *store.Project) error {
		now := s.now()
		pub := pending
		if active, err := tx.ActivePublisherByIdentity(ctx, pending.Issuer, pending.Identity); err == nil {
			pub = active
			if err := tx.DeletePublisher(ctx, pending.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		} else if err := tx.ActivatePublisher(ctx, pending.ID); err != nil {
			return err
		}
		if err := tx.LinkPublisher(ctx, pub.ID, proj.ID, now); err != nil {
			return err
		}
		stale, err := tx.PendingPublishersFor(ctx, proj.NormalizedName)
		if err != nil {
			return err
		}
		for _, st := range stale {
			if err := tx.DeletePublisher(ctx, st.ID); err != nil {
				return err
			}
		}
		return projectEvent(ctx, tx, now, m, proj, u, audit.PublisherAdded, pub)
	})
	if problem.Is(err, problem.Conflict) {
		if derr := s.store.DeletePublisher(ctx, pending.ID); derr != nil {
			return fmt.Errorf("publish: pending publisher: %w", derr)
		}
		return invalidPending("valid token, but project already exists")
	}
	if pe, ok := problem.As(err); ok {
		return invalidPending("valid token, but the project cannot be created: " + pe.Message)
	}
	return err
}

// storedClaims are the claims of an ID token a minted token keeps, for
// the events of its uploads (Warehouse's stored_claims).
func storedClaims(kind string, c map[string]any) map[string]string {
	var names []string
	switch kind {
	case store.PublisherGitHub:
		names = []string{"ref", "sha", "job_workflow_ref", "run_id"}
	case store.PublisherGitLab:
		names = []string{"ref_path", "sha", "ci_config_ref_uri", "pipeline_id"}
	case store.PublisherGeneric:
		names = []string{"sub", "ref", "sha"}
	}
	out := map[string]string{}
	for _, n := range names {
		if v, ok := claim(c, n); ok && v != "" {
			out[n] = truncate(v, 512)
		}
	}
	return out
}

// mint claims the token's jti and creates the upload token, in one
// transaction, with an event on each of the publisher's projects.
func (s *Service) mint(ctx context.Context, pub *store.Publisher, c Claims, m audit.Meta) (*Minted, error) {
	now := s.now()
	secret, hash := auth.NewToken()
	stored := storedClaims(pub.Kind, c.Claims)
	claimsJSON, err := json.Marshal(stored)
	if err != nil {
		return nil, fmt.Errorf("publish: stored claims: %w", err)
	}
	name := Describe(pub)
	if sha := stored["sha"]; sha != "" {
		name += " at " + truncate(sha, 12)
	}
	t := &store.Token{PublisherID: pub.ID, PublisherClaims: string(claimsJSON), Name: name, Prefix: auth.DisplayPrefix(secret), Hash: hash,
		Scoped: true, ExpiresAt: now.Add(s.cfg.TokenLifetime), CreatedAt: now}
	var names []string
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		projects, err := tx.PublisherProjects(ctx, pub.ID)
		if err != nil {
			return err
		}
		t.ProjectIDs, names = nil, nil
		for _, proj := range projects {
			t.ProjectIDs = append(t.ProjectIDs, proj.ID)
			names = append(names, proj.Name)
		}
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		for _, proj := range projects {
			if err := audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, Tag: audit.PublisherTokenMinted},
				map[string]any{"publisher": name, "publisher_id": pub.ID, "expires": t.ExpiresAt.Format(time.RFC3339), "claims": stored}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "mint token")
	}
	return &Minted{Token: secret, Expires: t.ExpiresAt, Publisher: pub, Projects: names}, nil
}

// claimJTI uses up the ID token's jti (a token without one, which only
// Google's and generic issuers may send, cannot be told from a replay
// but by its short life); a jti used before is a replay.
func (s *Service) claimJTI(ctx context.Context, c Claims) error {
	jti, ok := claim(c.Claims, "jti")
	if !ok {
		return nil
	}
	won, err := s.store.ClaimJTI(ctx, c.Issuer, jti, jtiExpiry(c.Claims, s.now().Add(s.cfg.TokenLifetime)))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if !won {
		return reuse()
	}
	return nil
}

// jtiExpiry is how long a jti is kept: past the ID token's exp, or the
// minted token's expiry when the token has none.
func jtiExpiry(c map[string]any, fallback time.Time) time.Time {
	if exp, ok := c["exp"].(float64); ok && exp > 0 && exp < math.MaxInt32*4 {
		return time.Unix(int64(exp), 0).UTC().Add(jtiMargin)
	}
	return fallback.Add(jtiMargin)
}

// wrap keeps refusals as they are and gives other errors context.
func wrap(err error, what string) error {
	if _, refused := errors.AsType[*Error](err); err == nil || refused || problem.KindOf(err) != 0 {
		return err
	}
	return fmt.Errorf("publish: %s: %w", what, err)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
