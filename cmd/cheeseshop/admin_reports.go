package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"cheeseshop/internal/app"
	"cheeseshop/internal/report"
)

// AdminReportsCmd groups the commands about users' reports of projects.
type AdminReportsCmd struct {
	List    ReportsListCmd    `cmd:"" help:"List the open reports, by project (the report's text quoted, as Go quotes strings)."`
	Dismiss ReportsDismissCmd `cmd:"" help:"Dismiss the open reports of a project, without acting on them. To quarantine it, use admin project quarantine."`
}

// ReportsListCmd lists the open reports.
type ReportsListCmd struct {
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *ReportsListCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		ps, err := a.Reports.Queue(e.ctx)
		if err != nil {
			return err
		}
		return printReports(e, ps)
	})
}

// printReports prints the open reports of the projects.
func printReports(e *env, ps []*report.Reported) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECT\tSTATUS\tREPORTER\tKIND\tREPORTED\tTEXT")
	for _, p := range ps {
		for _, r := range p.Reports {
			// Quoted: the text is the reporter's, and may hold tabs,
			// newlines or terminal escapes.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.NormalizedName, p.Status, r.Reporter, r.Kind,
				r.CreatedAt.Format("2006-01-02 15:04"), strconv.QuoteToASCII(r.Body))
		}
	}
	return tw.Flush()
}

// ReportsDismissCmd dismisses the open reports of a project.
type ReportsDismissCmd struct {
	Name      string `arg:"" help:"Project name (any spelling)."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *ReportsDismissCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		n, err := a.Reports.Dismiss(e.ctx, nil, cliMeta, c.Name)
		if err != nil {
			return err
		}
		reports := "reports"
		if n == 1 {
			reports = "report"
		}
		fmt.Fprintf(e.stdout, "dismissed %d open %s of %s\n", n, reports, c.Name)
		return nil
	})
}
