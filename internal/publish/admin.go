package publish

import (
	"context"
	"errors"
	"fmt"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// cliActor names the administrator acting through `cheeseshop admin`.
const cliActor = "an administrator at the command line"

// Listed is a publisher as the operators see it: with the projects it
// uploads to and the account that added it.
type Listed struct {
	Publisher *store.Publisher
	// Projects are the names of the projects an active publisher
	// uploads to (none for a pending one).
	Projects []string
	// AddedBy is the username of the account that added the publisher
	// ("" if it is gone).
	AddedBy string
}

// AllPublishers lists the publishers for the operators, oldest first:
// every one, active and pending, when project is "", else the project's
// and the pending ones that would create a project of that name.
func (s *Service) AllPublishers(ctx context.Context, project string) ([]Listed, error) {
	var pubs []*store.Publisher
	if project == "" {
		var err error
		if pubs, err = s.store.Publishers(ctx); err != nil {
			return nil, fmt.Errorf("publish: publishers: %w", err)
		}
	} else {
		normalized := pep.NormalizeName(project)
		proj, err := s.store.ProjectByName(ctx, normalized)
		switch {
		case err == nil:
			if pubs, err = s.store.ProjectPublishers(ctx, proj.ID); err != nil {
				return nil, fmt.Errorf("publish: publishers of %s: %w", project, err)
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("publish: publishers of %s: %w", project, err)
		}
		pending, err := s.store.PendingPublishersFor(ctx, normalized)
		if err != nil {
			return nil, fmt.Errorf("publish: pending publishers of %s: %w", project, err)
		}
		if proj == nil && len(pending) == 0 {
			return nil, problem.Errorf(problem.NotFound, "No project named '%s', and no pending trusted publisher for one.", project)
		}
		pubs = append(pubs, pending...)
	}
	out := make([]Listed, 0, len(pubs))
	for _, p := range pubs {
		l, err := s.listed(ctx, s.store, p)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// reader reads a publisher's projects and accounts: the store, or a
// transaction.
type reader interface {
	PublisherProjects(ctx context.Context, publisherID int64) ([]*store.Project, error)
	UserByID(ctx context.Context, id int64) (*store.User, error)
}

// listed adds a publisher's projects and the account that added it.
func (s *Service) listed(ctx context.Context, q reader, p *store.Publisher) (Listed, error) {
	l := Listed{Publisher: p}
	projects, err := q.PublisherProjects(ctx, p.ID)
	if err != nil {
		return l, fmt.Errorf("publish: projects of publisher %d: %w", p.ID, err)
	}
	for _, proj := range projects {
		l.Projects = append(l.Projects, proj.Name)
	}
	if p.AddedBy != 0 {
		u, err := q.UserByID(ctx, p.AddedBy)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return l, fmt.Errorf("publish: account of publisher %d: %w", p.ID, err)
		}
		if u != nil {
			l.AddedBy = u.Username
		}
	}
	return l, nil
}

// RemoveByAdmin deletes a publisher, active or pending, from every
// project it uploads to, with the tokens minted for it (a token minted
// before stops uploading at once): an operator's takedown, which no
// collaborator's check or mandate applies to. Every project it leaves
// (or, for a pending publisher, the account that added it) gets an
// event naming an administrator. It returns what was removed.
func (s *Service) RemoveByAdmin(ctx context.Context, m audit.Meta, id int64) (*Listed, error) {
	var removed Listed
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		pub, err := tx.PublisherByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No trusted publisher number %d.", id)
		} else if err != nil {
			return err
		}
		if removed, err = s.listed(ctx, tx, pub); err != nil {
			return err
		}
		projects, err := tx.PublisherProjects(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeletePublisher(ctx, id); err != nil {
			return err
		}
		now := s.now()
		for _, proj := range projects {
			if err := audit.Record(ctx, tx, now, m, store.Event{ProjectID: proj.ID, ProjectName: proj.Name, Tag: audit.PublisherRemoved},
				map[string]any{"by": cliActor, "publisher": Describe(pub), "publisher_id": pub.ID}); err != nil {
				return err
			}
		}
		if pub.Pending() && pub.AddedBy != 0 && removed.AddedBy != "" {
			return audit.Record(ctx, tx, now, m, store.Event{UserID: pub.AddedBy, Tag: audit.PendingPublisherRemoved},
				map[string]any{"project": pub.PendingName, "publisher": Describe(pub), "publisher_id": pub.ID, "by": cliActor})
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, fmt.Sprintf("remove publisher %d", id))
	}
	return &removed, nil
}
