package main

import (
	"fmt"

	"cheeseshop/internal/app"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
)

// AdminProjectCmd groups the commands about a project's status and
// visibility.
type AdminProjectCmd struct {
	Quarantine ProjectQuarantineCmd `cmd:"" help:"Quarantine a project: none of its files is served, no upload or change is accepted, nothing is deleted. Running servers follow within --follow-interval."`
	Release    ProjectReleaseCmd    `cmd:"" help:"Release a project from quarantine: it gets back the status it had, and its files are served again."`
	Visibility ProjectVisibilityCmd `cmd:"" help:"Make a project private (read only by its collaborators and the administrators; 404 for everybody else) or public. Running servers follow within --follow-interval."`
}

// projectMailFlags are the email settings of the project commands, which
// tell the project's Owners.
type projectMailFlags struct {
	BaseURL  string `default:"http://localhost:8080" help:"Public URL of the index, for the links in the email to the project's Owners."`
	SMTPURL  string `name:"smtp-url" help:"SMTP server for the email to the Owners (as for serve). Default: write it to <data>/outbox."`
	MailFrom string `help:"Sender of the email. Default: cheeseshop <noreply@HOST of --base-url>."`
}

// ProjectQuarantineCmd quarantines a project.
type ProjectQuarantineCmd struct {
	Name             string `arg:"" help:"Project name (any spelling)."`
	Reason           string `required:"" help:"Why: published with the status (PEP 792) and sent to the Owners."`
	projectMailFlags `embed:""`
	RuleFlags        `embed:""`
}

// Run implements the command.
func (c *ProjectQuarantineCmd) Run(e *env) error {
	return withProjectIndex(e, &c.RuleFlags, c.projectMailFlags, func(idx *index.Service) error {
		proxied, err := idx.IsProxiedName(e.ctx, c.Name)
		if err != nil {
			return err
		}
		if err := idx.Quarantine(e.ctx, nil, audit.Meta{UserAgent: "cheeseshop admin"}, c.Name, c.Reason); err != nil {
			return err
		}
		if proxied {
			fmt.Fprintf(e.stdout, "quarantined %s: no local project has that name; no upstream's project of that name is served (--upstream)\n", c.Name)
			return nil
		}
		fmt.Fprintf(e.stdout, "quarantined %s: its files are no longer served; its Owners were told\n", c.Name)
		return nil
	})
}

// ProjectReleaseCmd releases a project from quarantine.
type ProjectReleaseCmd struct {
	Name             string `arg:"" help:"Project name (any spelling)."`
	projectMailFlags `embed:""`
	RuleFlags        `embed:""`
}

// Run implements the command.
func (c *ProjectReleaseCmd) Run(e *env) error {
	return withProjectIndex(e, &c.RuleFlags, c.projectMailFlags, func(idx *index.Service) error {
		proxied, err := idx.IsProxiedName(e.ctx, c.Name)
		if err != nil {
			return err
		}
		if err := idx.ReleaseFromQuarantine(e.ctx, nil, audit.Meta{UserAgent: "cheeseshop admin"}, c.Name); err != nil {
			return err
		}
		if proxied {
			fmt.Fprintf(e.stdout, "released %s from quarantine: the upstream's project of that name is served again\n", c.Name)
			return nil
		}
		fmt.Fprintf(e.stdout, "released %s from quarantine: its files are served again; its Owners were told\n", c.Name)
		return nil
	})
}

// ProjectVisibilityCmd makes a project private or public.
type ProjectVisibilityCmd struct {
	Name       string `arg:"" help:"Project name (any spelling)."`
	Visibility string `arg:"" enum:"public,private" help:"public or private."`
	RuleFlags  `embed:""`
}

// Run implements the command.
func (c *ProjectVisibilityCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		if err := a.Index.SetVisibility(e.ctx, nil, cliMeta, c.Name, c.Visibility); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s is %s\n", c.Name, c.Visibility)
		return nil
	})
}

// withProjectIndex runs fn with the index of withApp, whose emails go
// out as f says. A name without a local project may be a proxied one:
// its quarantine is the proxy's row, which the servers follow.
func withProjectIndex(e *env, rules *RuleFlags, f projectMailFlags, fn func(idx *index.Service) error) error {
	return withApp(e, rules, NoticeFlags(f), true, func(a *app.App) error { return fn(a.Index) })
}
