package index

import (
	"context"
	"fmt"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// upstreamRetry is how long an uploader is told to wait when the
// upstreams could not say whether they list a name.
const upstreamRetry = 30 * time.Second

// upstreamVerdict is what the upstreams' knowledge of a name makes of a
// new local project of that name (dependency confusion): decided once,
// outside any transaction (asking may take the network), then applied by
// newProject in the creating transaction.
type upstreamVerdict struct {
	// decided: upstreamDecision ran for the name (a creation without a
	// verdict must get one first).
	decided bool
	// hold: create the project held for an administrator's review
	// (LocalNamesAsk): until approved, the upstream's project is served.
	hold bool
	// shadow: create it although an upstream lists the name
	// (LocalNamesAllow): the local project hides the upstream's.
	shadow bool
	name   UpstreamName
}

// upstreamDecision asks the upstreams whether they list normalized, the
// name of a project p's upload or pending publisher would create (p nil:
// an early check, which records no refusal), and
// applies Config.LocalNames: a refusal is a problem (Invalid, or
// Unavailable when the upstreams could not be asked under "refuse"). An
// administrator's unexpired "local" rule for the name lets the project be
// created as any other, without asking. It runs after the other name
// rules (CheckNewName), and never in a transaction.
func (s *Service) upstreamDecision(ctx context.Context, p *Principal, name, normalized string) (upstreamVerdict, error) {
	v := upstreamVerdict{decided: true}
	if s.cfg.Upstream == nil {
		return v, nil
	}
	rules, err := s.store.UpstreamRules(ctx)
	if err != nil {
		return v, fmt.Errorf("index: upstream rules: %w", err)
	}
	if UpstreamRules(rules).Match(normalized, store.RuleLocal, s.now()) != nil {
		return v, nil
	}
	n, err := s.cfg.Upstream.Name(ctx, normalized)
	if err != nil {
		// Fail closed: a name the upstreams could not be asked about is
		// treated as theirs.
		s.log.WarnContext(ctx, "upstream name check failed", "project", normalized, "err", err)
		n = UpstreamName{Unknown: true}
	}
	if !n.Exists && !n.Unknown {
		return v, nil
	}
	v.name = n
	switch s.cfg.LocalNames {
	case LocalNamesRefuse:
		if p != nil {
			s.recordUpstreamRefusal(ctx, p, normalized, n)
		}
		if n.Unknown {
			e := problem.Errorf(problem.Unavailable, "Could not check the upstream index for '%s'; retry.", name)
			e.RetryAfter = upstreamRetry
			return v, e
		}
		return v, problem.Errorf(problem.Invalid, "The name '%s' exists on the upstream index %s: this index does not let a local project "+
			"take an upstream name (dependency confusion). Ask an administrator to allow it (cheeseshop admin upstream local %s).",
			name, n.Upstream, normalized)
	case LocalNamesAllow:
		if n.Unknown {
			s.log.WarnContext(ctx, "local project created while the upstreams could not be asked", "project", normalized)
		}
		v.shadow = n.Exists
	default:
		v.hold = true
	}
	return v, nil
}

// recordUpstreamRefusal records that p was refused a new project of an
// upstream's name.
func (s *Service) recordUpstreamRefusal(ctx context.Context, p *Principal, normalized string, n UpstreamName) {
	err := audit.Record(ctx, s.store, s.now(), p.Meta, store.Event{UserID: p.User.ID, ProjectName: normalized,
		ActorID: p.actorID(), Tag: audit.UpstreamNameRefused},
		map[string]any{"by": p.Name(), "upstream": n.Upstream, "unknown": n.Unknown})
	if err != nil {
		s.log.ErrorContext(ctx, "record upstream name refusal", "project", normalized, "err", err)
	}
}

// upstreamHold puts a project just created under an upstream's name in
// the review queue, held (LocalNamesAsk), with its event; match is the
// look-alike the name also is (nil: none), said in the event.
func (s *Service) upstreamHold(ctx context.Context, tx *store.Tx, p *Principal, m audit.Meta, proj *store.Project,
	v upstreamVerdict, match *NameMatch) (*store.NameReview, error) {
	r := &store.NameReview{ProjectID: proj.ID, Target: v.name.Upstream, Kind: store.ReviewUpstreamName, Held: true,
		UploaderID: p.User.ID, CreatedAt: s.now(),
		Project: proj.Name, NormalizedName: proj.NormalizedName, Uploader: p.User.Username, UploaderEmail: p.User.Email}
	if err := tx.AddNameReview(ctx, r); err != nil {
		return nil, err
	}
	details := map[string]any{"upstream": v.name.Upstream, "unknown": v.name.Unknown}
	if match != nil {
		details["lookalike"] = match.Target
		details["kind"] = match.Kind
	}
	return r, s.projectEvent(ctx, tx, p, m, proj, audit.UpstreamNameHeld, p.User.ID, details)
}

// tellShadowed emails the administrators that a new local project took
// a name an upstream lists (LocalNamesAllow): from now on it hides the
// upstream's project. Failures are logged: the project exists.
func (s *Service) tellShadowed(ctx context.Context, p *Principal, project, normalized string, n UpstreamName) {
	admins, err := s.store.Administrators(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "upstream name: list administrators", "project", project, "err", err)
		return
	}
	for _, a := range admins {
		_ = s.mail.Send(ctx, a.Email, "upstream-name-shadowed", mail.Data{"Username": a.Username, "Project": project,
			"Normalized": normalized, "Upstream": n.Upstream, "Uploader": p.Name()})
	}
	s.log.InfoContext(ctx, "local project shadows an upstream project", "project", project, "upstream", n.Upstream,
		"administrators", len(admins))
}
