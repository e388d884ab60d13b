package main

import (
	"fmt"
	"time"

	"cheeseshop/internal/app"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
)

// MandateFlags are the settings of the critical-project mandate, shared
// by the server and the admin commands.
type MandateFlags struct {
	CriticalPercent float64 `default:"1" help:"Percentage of all projects that are critical: the top ceil(P% × projects) by downloads, ties included."`
	CriticalWindow  int     `default:"180" help:"Days of downloads the computation looks at, ending the day before it runs."`
	CriticalAt      string  `default:"03:00" help:"Time of day (UTC, HH:MM) of the daily computation of the critical projects."`
	MandateGrace    int     `default:"0" help:"Days a newly critical project's collaborators have to set up two-factor authentication before it is required."`
}

// config turns the flags into the mandate's settings (app.New sets their
// BaseURL and Mailer).
func (f *MandateFlags) config() (mandate.Config, error) {
	at, err := time.Parse("15:04", f.CriticalAt)
	if err != nil {
		return mandate.Config{}, fmt.Errorf("--critical-at %q: write the time of day as HH:MM (UTC), e.g. 03:00", f.CriticalAt)
	}
	if f.MandateGrace < 0 {
		return mandate.Config{}, fmt.Errorf("--mandate-grace must be 0 or more days, not %d", f.MandateGrace)
	}
	return mandate.Config{Percent: f.CriticalPercent, WindowDays: f.CriticalWindow,
		Grace: time.Duration(f.MandateGrace) * 24 * time.Hour,
		RunAt: time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute}, nil
}

// AdminCriticalCmd groups the commands about critical projects.
type AdminCriticalCmd struct {
	Compute CriticalComputeCmd `cmd:"" help:"Designate the critical projects now (the server also does it daily at --critical-at)."`
	List    CriticalListCmd    `cmd:"" help:"List the critical projects, when they became so, and their collaborators' two-factor status."`
}

// CriticalComputeCmd runs the computation of the critical projects.
type CriticalComputeCmd struct {
	RuleFlags   `embed:""`
	NoticeFlags `embed:""`
	DryRun      bool   `help:"Show what the computation would designate, without changing anything or telling anyone."`
	AsOf        string `help:"Compute as of this day (YYYY-MM-DD, UTC): the window is the days before it. Default: today."`
}

// Run implements the command.
func (c *CriticalComputeCmd) Run(e *env) error {
	asOf := store.DayOf(time.Now())
	if c.AsOf != "" {
		d, err := store.ParseDay(c.AsOf)
		if err != nil {
			return fmt.Errorf("--as-of: %w", err)
		}
		asOf = d
	}
	return withApp(e, &c.RuleFlags, c.NoticeFlags, false, func(a *app.App) error { return c.compute(e, a.Mandate, asOf) })
}

// compute designates the critical projects as of asOf and says which.
func (c *CriticalComputeCmd) compute(e *env, svc *mandate.Service, asOf store.Day) error {
	started := time.Now()
	res, err := svc.Compute(e.ctx, asOf, mandate.ComputeOptions{DryRun: c.DryRun, Trigger: mandate.TriggerAdmin})
	if err != nil {
		return err
	}
	w := e.stdout
	mode := ""
	if c.DryRun {
		mode = " (dry run: nothing changed)"
	}
	fmt.Fprintf(w, "critical projects as of %s%s\n", res.AsOf, mode)
	fmt.Fprintf(w, "  window:     %s .. %s (%d days)\n", res.First, res.Last, res.Last-res.First+1)
	fmt.Fprintf(w, "  projects:   %d; top %g%% = %d\n", res.Projects, c.CriticalPercent, res.TopN)
	if res.Cutoff == 0 {
		fmt.Fprintf(w, "  no project has downloads in the window: none qualifies\n")
	} else {
		fmt.Fprintf(w, "  cutoff:     %d downloads; %d projects reach it\n", res.Cutoff, res.Qualified)
	}
	verb := "became critical"
	if c.DryRun {
		verb = "would become critical"
	}
	fmt.Fprintf(w, "  %d %s\n", len(res.Designated), verb)
	for _, p := range res.Designated {
		fmt.Fprintf(w, "    %s\n", p.Name)
	}
	fmt.Fprintf(w, "  took %s\n", time.Since(started).Round(time.Millisecond))
	return nil
}

// CriticalListCmd lists the critical projects.
type CriticalListCmd struct{}

// Run implements the command.
func (c *CriticalListCmd) Run(e *env) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	ps, err := st.CriticalProjects(e.ctx)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		fmt.Fprintln(e.stdout, "no critical project")
		return nil
	}
	for _, pm := range ps {
		fmt.Fprintf(e.stdout, "%s\tcritical since %s\n", pm.Project.Name, pm.Project.CriticalSince.Format(time.DateOnly))
		for _, c := range pm.Collaborators {
			status := "no 2FA"
			if c.TwoFactor {
				status = "2FA"
			}
			fmt.Fprintf(e.stdout, "\t%s\t%s\t%s\n", c.Username, c.Role, status)
		}
	}
	return nil
}
