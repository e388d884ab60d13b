package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"cheeseshop/internal/app"
	"cheeseshop/internal/publish"
)

// AdminPublishersCmd groups the commands about trusted publishers.
type AdminPublishersCmd struct {
	List   PublishersListCmd   `cmd:"" help:"List the trusted publishers, active and pending, with their projects."`
	Remove PublishersRemoveCmd `cmd:"" help:"Remove a trusted publisher from every project, with the upload tokens minted for it (a takedown: no Owner's consent or second factor needed)."`
}

// PublishersListCmd lists trusted publishers.
type PublishersListCmd struct {
	Project   string `arg:"" optional:"" help:"Only this project's publishers, and the pending ones that would create it (any spelling). Default: every publisher."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *PublishersListCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		svc := a.Publish
		ls, err := svc.AllPublishers(e.ctx, c.Project)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tISSUER\tPROJECTS\tADDED BY\tADDED\tPUBLISHER")
		for _, l := range ls {
			p := l.Publisher
			projects := strings.Join(l.Projects, ",")
			if p.Pending() {
				projects = "(pending) " + p.PendingName
			}
			// Quoted, as Go quotes strings: the fields are the Owners',
			// and may hold terminal escapes.
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Kind, p.Issuer, projects, l.AddedBy,
				p.CreatedAt.Format("2006-01-02 15:04"), strconv.QuoteToASCII(publish.Describe(p)))
		}
		return tw.Flush()
	})
}

// PublishersRemoveCmd removes a trusted publisher.
type PublishersRemoveCmd struct {
	ID        int64 `arg:"" help:"The publisher's number (admin publishers list shows it)."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *PublishersRemoveCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		svc := a.Publish
		l, err := svc.RemoveByAdmin(e.ctx, cliMeta, c.ID)
		if err != nil {
			return err
		}
		from := "from " + strings.Join(l.Projects, ", ")
		if l.Publisher.Pending() {
			from = "pending for " + l.Publisher.PendingName
		} else if len(l.Projects) == 0 {
			from = "from no project"
		}
		fmt.Fprintf(e.stdout, "removed trusted publisher %d (%s), %s; its upload tokens no longer work\n", c.ID, publish.Describe(l.Publisher), from)
		return nil
	})
}
