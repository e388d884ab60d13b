package mandate

import (
	"context"
	"errors"
	"fmt"

	"cheeseshop/internal/store"
)

// CriticalReport is what the administrators see of the critical
// projects: the last computation, and every critical project with its
// collaborators' two-factor status.
type CriticalReport struct {
	// Run is the last computation (nil: none yet).
	Run *store.CriticalRun
	// Projects are the critical projects, the most recently designated
	// first.
	Projects []CriticalProject
	// Collaborators of all the critical projects, and how many of them
	// have two-factor authentication (a person is counted once per
	// project).
	Collaborators, WithTwoFactor int
}

// CriticalProject is a critical project in a CriticalReport.
type CriticalProject struct {
	Project *store.Project
	// Downloads in the window of the last computation.
	Downloads int64
	// Collaborators, Owners first, and how many of them have two-factor
	// authentication (twofactor.HasTwoFactor).
	Collaborators []store.MandateCollaborator
	WithTwoFactor int
}

// CriticalReport returns the report on the critical projects. It reads
// the database in three queries, however many projects are critical.
func (s *Service) CriticalReport(ctx context.Context) (*CriticalReport, error) {
	run, err := s.store.LastCriticalRun(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("mandate: critical report: %w", err)
	}
	projects, err := s.store.CriticalProjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("mandate: critical report: %w", err)
	}
	rep := &CriticalReport{Run: run, Projects: make([]CriticalProject, 0, len(projects))}
	for _, pm := range projects {
		cp := CriticalProject{Project: pm.Project, Downloads: pm.Downloads, Collaborators: pm.Collaborators}
		for _, c := range pm.Collaborators {
			if c.TwoFactor {
				cp.WithTwoFactor++
			}
		}
		rep.Collaborators += len(cp.Collaborators)
		rep.WithTwoFactor += cp.WithTwoFactor
		rep.Projects = append(rep.Projects, cp)
	}
	return rep, nil
}
