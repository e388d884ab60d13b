package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"cheeseshop/internal/app"
	"cheeseshop/internal/audit"
	"cheeseshop/internal/index"
	"cheeseshop/internal/lookalike"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// cliMeta is the origin of the administrators' events recorded from the
// command line.
var cliMeta = audit.Meta{UserAgent: "cheeseshop admin"}

// AdminNamesCmd groups the commands about project names: prohibited ones,
// protected ones and their look-alikes.
type AdminNamesCmd struct {
	Prohibit   NamesProhibitCmd   `cmd:"" help:"Forbid new projects from taking these names, or any name that looks like them once ultranormalized."`
	Lift       NamesLiftCmd       `cmd:"" help:"Lift the prohibition of names (an administrator's, or a deleted project's)."`
	Prohibited NamesProhibitedCmd `cmd:"" help:"List the prohibited names, with their reasons."`
	Protect    NamesProtectCmd    `cmd:"" help:"Replace the imported list of protected names (popular names whose look-alikes are held or flagged) with a TSV file's."`
	Check      NamesCheckCmd      `cmd:"" help:"Print the names that look like a protected name: name, protected target and kind, tab-separated, in input order."`
}

// NamesProhibitCmd prohibits project names.
type NamesProhibitCmd struct {
	Names     []string `arg:"" help:"Project names."`
	Reason    string   `help:"Why (kept for the record)."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *NamesProhibitCmd) Run(e *env) error {
	return eachName(e, &c.RuleFlags, quiet(), c.Names, func(idx *index.Service, n string) (string, error) {
		return "prohibited " + pep.NormalizeName(strings.TrimSpace(n)), idx.ProhibitName(e.ctx, nil, cliMeta, n, c.Reason)
	})
}

// NamesLiftCmd lifts prohibitions.
type NamesLiftCmd struct {
	Names     []string `arg:"" help:"Project names."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *NamesLiftCmd) Run(e *env) error {
	return eachName(e, &c.RuleFlags, quiet(), c.Names, func(idx *index.Service, n string) (string, error) {
		return "lifted " + pep.NormalizeName(strings.TrimSpace(n)), idx.LiftProhibition(e.ctx, nil, cliMeta, n)
	})
}

// NamesProhibitedCmd lists the prohibited names.
type NamesProhibitedCmd struct {
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *NamesProhibitedCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		ns, err := a.Index.ProhibitedNames(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSINCE\tREASON")
		for _, n := range ns {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n.Normalized, n.CreatedAt.Format("2006-01-02"), n.Reason)
		}
		return tw.Flush()
	})
}

// AdminLookalikeCmd groups the commands of the look-alike review queue.
type AdminLookalikeCmd struct {
	List    LookalikeListCmd    `cmd:"" help:"List the projects waiting for review: held (not published) and flagged."`
	Approve LookalikeApproveCmd `cmd:"" help:"Approve projects: a held one is published at once. The uploader is emailed."`
	Reject  LookalikeRejectCmd  `cmd:"" help:"Delete projects of the queue with their files, and prohibit their names (not an upstream's name: its project stays served). The uploader is emailed."`
}

// NoticeFlags say how a command emails the users it concerns.
type NoticeFlags struct {
	BaseURL  string `default:"http://localhost:8080" help:"Public URL of the index, for the links in the emails."`
	SMTPURL  string `name:"smtp-url" help:"SMTP server for the emails (as for serve). Default: write them to <data>/outbox."`
	MailFrom string `help:"Sender of the emails. Default: cheeseshop <noreply@HOST of --base-url>."`
}

// quiet are the mail settings of a command that sends no email: its
// services still take a base URL and a mailer (the outbox), unused.
func quiet() NoticeFlags { return NoticeFlags{BaseURL: "http://localhost:8080"} }

// eachName runs do for each name in turn, with the index of withApp,
// printing what it says; it stops at the first error.
func eachName(e *env, rules *RuleFlags, mail NoticeFlags, names []string, do func(idx *index.Service, name string) (string, error)) error {
	return withApp(e, rules, mail, false, func(a *app.App) error {
		for _, n := range names {
			said, err := do(a.Index, n)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, said)
		}
		return nil
	})
}

// LookalikeListCmd lists the review queue.
type LookalikeListCmd struct {
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *LookalikeListCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		rs, err := a.Index.NameReviews(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tSTATE\tRESEMBLES\tRANK\tKIND\tUPLOADER\tCREATED")
		for _, r := range rs {
			state := "flagged"
			if r.Held {
				state = "held"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.NormalizedName, state, r.Target, r.TargetRank, r.Kind, r.Uploader,
				r.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	})
}

// LookalikeApproveCmd approves projects of the queue.
type LookalikeApproveCmd struct {
	RuleFlags   `embed:""`
	NoticeFlags `embed:""`
	Projects    []string `arg:"" help:"Project names."`
}

// Run implements the command.
func (c *LookalikeApproveCmd) Run(e *env) error {
	return eachName(e, &c.RuleFlags, c.NoticeFlags, c.Projects, func(idx *index.Service, p string) (string, error) {
		r, err := idx.ApproveName(e.ctx, nil, cliMeta, p)
		if err != nil {
			return "", err
		}
		if r.Held {
			return "approved " + r.NormalizedName + ": published", nil
		}
		return "approved " + r.NormalizedName, nil
	})
}

// LookalikeRejectCmd deletes projects of the queue and prohibits their
// names.
type LookalikeRejectCmd struct {
	RuleFlags   `embed:""`
	NoticeFlags `embed:""`
	Projects    []string `arg:"" help:"Project names."`
}

// Run implements the command.
func (c *LookalikeRejectCmd) Run(e *env) error {
	return eachName(e, &c.RuleFlags, c.NoticeFlags, c.Projects, func(idx *index.Service, p string) (string, error) {
		r, err := idx.RejectName(e.ctx, nil, cliMeta, p)
		if err != nil {
			return "", err
		}
		if r.Kind == store.ReviewUpstreamName {
			return "rejected " + r.NormalizedName + ": deleted; the upstream's project of that name stays served", nil
		}
		return "rejected " + r.NormalizedName + ": deleted, its name prohibited", nil
	})
}

// NamesProtectCmd replaces the imported list of protected names.
type NamesProtectCmd struct {
	File      string `arg:"" type:"existingfile" help:"TSV of the names to protect: a header with a 'name' column and an optional rank column (1 = most popular; without one, the file's order), gzip or plain, such as PyPI's most-downloaded projects."`
	Top       int    `default:"0" help:"Import only the names ranked 1..N (0: every ranked name)."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *NamesProtectCmd) Run(e *env) error {
	if c.Top < 0 {
		return fmt.Errorf("--top must be 0 or more, not %d", c.Top)
	}
	names, err := readProtected(c.File, c.Top)
	if err != nil {
		return err
	}
	list := make([]store.ProtectedName, len(names))
	for i, n := range names {
		list[i] = store.ProtectedName{Name: n.Name, Rank: int64(n.Rank)}
	}
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		kept, err := a.Index.SetProtectedNames(e.ctx, list)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "protected %d names (of %d read); running servers use them within %s\n", kept, len(names), app.ProtectRefresh)
		return nil
	})
}

// readProtected reads a TSV of protected names (gzip or plain).
func readProtected(path string, top int) ([]lookalike.Protected, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := lookalike.ReadTSV(f, top)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return names, nil
}

// NamesCheckCmd runs the look-alike detector over names, the way project
// creation does, so that operators can measure it on any corpus.
type NamesCheckCmd struct {
	Protected string   `type:"path" placeholder:"FILE" help:"TSV of the protected names: a header with a 'name' column and an optional rank column (1 = most popular), gzip or plain. Default: the index's own (the imported list and its --top most-downloaded projects)."`
	Top       int      `default:"0" help:"With --protected, protect only the names ranked 1..N (0: every ranked name; names ranked below N are still never flagged themselves). Without it, --protect-own-top and --protect-upstream-top say which of the index's names are protected, as for serve."`
	Names     []string `arg:"" optional:"" name:"name" help:"Names to check. Default: one a line on standard input."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *NamesCheckCmd) Run(e *env) error {
	if c.Top < 0 {
		return fmt.Errorf("--top must be 0 or more, not %d", c.Top)
	}
	ix, err := c.detector(e)
	if err != nil {
		return err
	}

	names := c.Names
	if len(names) == 0 {
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if name := strings.TrimSpace(sc.Text()); name != "" {
				names = append(names, name)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading names: %w", err)
		}
	}
	w := bufio.NewWriter(e.stdout)
	for i, m := range ix.CheckMany(names, runtime.GOMAXPROCS(0)) {
		if m.Target != "" {
			fmt.Fprintf(w, "%s\t%s\t%s\n", names[i], m.Target, m.Kind)
		}
	}
	return w.Flush()
}

// detector builds the detector: from the file, or from the index's
// protected names as serve does.
func (c *NamesCheckCmd) detector(e *env) (*lookalike.Index, error) {
	if c.Protected != "" {
		protected, err := readProtected(c.Protected, 0)
		if err != nil {
			return nil, err
		}
		opt := lookalike.DefaultOptions()
		opt.Top = c.Top
		return lookalike.New(protected, opt), nil
	}
	var ix *lookalike.Index
	err := withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) (err error) {
		ix, err = app.BuildDetector(e.ctx, a.Index, c.ProtectOwnTop, c.ProtectUpstreamTop)
		return err
	})
	return ix, err
}
