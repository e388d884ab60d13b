package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"cheeseshop/internal/app"
	"cheeseshop/internal/downloads"
	"cheeseshop/internal/store"
)

// AdminDownloadsCmd groups the commands about download counts.
type AdminDownloadsCmd struct {
	Import DownloadsImportCmd `cmd:"" help:"Count the downloads in access logs of a proxy or CDN in front of cheeseshop (nginx combined format or JSON lines, plain or gzip). Importing a log again counts only the lines added since."`
}

// DownloadsImportCmd imports access logs into the download counts.
type DownloadsImportCmd struct {
	Files []string `arg:"" name:"file" help:"Access logs to import, each in its own transaction."`
	// The window of the computation (--critical-window): the import keeps
	// its sums (see mandate.Service.StartWindow).
	RuleFlags `embed:""`
	// Which lines count: as the server counts.
	DownloadPolicyFlags `embed:""`
}

// DownloadPolicyFlags say which downloads count, for serve and for the
// import of access logs (docs/DOWNLOADS.md).
type DownloadPolicyFlags struct {
	DownloadsPerAddress int    `default:"1" help:"The most downloads counted per client address (an IPv6 address counts as its /64), project and UTC day, so that inflating a project's downloads costs an address per download; 0: no limit. Log lines without an address are not limited."`
	DownloadsAgents     string `default:"installers" enum:"installers,not-bots,all" help:"Whose downloads count, by User-Agent: installers (pip, uv, Poetry, PDM, conda... and caching proxies), not-bots (all but crawlers), or all. Log lines without a user agent count."`
}

// policy returns the flags as a downloads.Policy.
func (f *DownloadPolicyFlags) policy() (downloads.Policy, error) {
	if f.DownloadsPerAddress < 0 {
		return downloads.Policy{}, fmt.Errorf("--downloads-per-address must be 0 (no limit) or more, not %d", f.DownloadsPerAddress)
	}
	agents, err := downloads.ParseAgents(f.DownloadsAgents)
	if err != nil {
		return downloads.Policy{}, fmt.Errorf("--downloads-agents: %w", err)
	}
	return downloads.Policy{PerAddress: f.DownloadsPerAddress, Agents: agents}, nil
}

// Run implements the command.
func (c *DownloadsImportCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		// Counts imported into the window of the computation then keep
		// its sums, and the next computation only shifts it.
		if err := a.Mandate.StartWindow(e.ctx); err != nil {
			return err
		}
		return c.importFiles(e, a.Store)
	})
}

// importFiles imports each access log in its own transaction, and says
// what became of it.
func (c *DownloadsImportCmd) importFiles(e *env, st *store.Store) error {
	policy, err := c.policy()
	if err != nil {
		return err
	}
	im := &downloads.Importer{Store: st, Log: e.log, Policy: policy}
	var failed []string
	for _, path := range c.Files {
		name := path
		if abs, err := filepath.Abs(path); err == nil {
			name = abs
		}
		opts := downloads.ImportOptions{Name: name}
		bar := newDownloadsBar(e.stderr, path)
		if bar != nil {
			opts.Progress = bar.update
		}
		res, err := im.Import(e.ctx, path, opts)
		if bar != nil {
			bar.clear()
		}
		if err != nil {
			if e.ctx.Err() != nil {
				return fmt.Errorf("interrupted: nothing imported from %s (an import is all or nothing)", path)
			}
			failed = append(failed, path)
			fmt.Fprintf(e.stderr, "cheeseshop: %s\n", downloadsAdvice(err))
			continue
		}
		writeDownloadsSummary(e.stdout, path, res)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files not imported: %s", len(failed), len(c.Files), strings.Join(failed, ", "))
	}
	return nil
}

// downloadsAdvice explains a failed import and what to do.
func downloadsAdvice(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%v; nothing imported from it (check the path)", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%v; nothing imported from it (run as a user who may read it)", err)
	}
	return fmt.Sprintf("%v; nothing imported from it (an import is all or nothing: fix the cause and run the command again)", err)
}

// writeDownloadsSummary prints what an import did.
func writeDownloadsSummary(w io.Writer, path string, r *downloads.ImportResult) {
	gz := ""
	if r.Compressed {
		gz = " (gzip)"
	}
	total := r.SkippedLines + r.Lines
	switch {
	case total == 0 && r.Partial == 0:
		fmt.Fprintf(w, "%s%s: empty, nothing imported\n", path, gz)
		return
	case total == 0:
		fmt.Fprintf(w, "%s%s: no complete line (%d bytes without a newline), nothing imported\n", path, gz, r.Partial)
		return
	case r.Lines == 0:
		fmt.Fprintf(w, "%s%s: nothing new, all %d lines were imported before\n", path, gz, r.SkippedLines)
	default:
		before := ""
		if r.SkippedLines > 0 {
			before = fmt.Sprintf(" (%d already imported)", r.SkippedLines)
		}
		fmt.Fprintf(w, "%s%s: %s%s: %d counted, %d ignored, %d bad; downloads of %s on %s\n",
			path, gz, downloadsPlural(r.Lines, "new line"), before, r.Counted, r.Ignored, r.Bad,
			downloadsPlural(int64(r.Projects), "project"), downloadsPlural(int64(r.Days), "day"))
	}
	if r.Ignored > 0 {
		type reason struct {
			why string
			n   int64
		}
		var reasons []reason
		for why, n := range r.IgnoredBy {
			reasons = append(reasons, reason{why, n})
		}
		slices.SortFunc(reasons, func(a, b reason) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.why, b.why)) })
		var parts []string
		for _, x := range reasons {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.why))
		}
		fmt.Fprintf(w, "  ignored: %s\n", strings.Join(parts, ", "))
	}
	if r.Bad > 0 {
		more := ""
		if r.Bad > int64(len(r.BadLines)) {
			more = fmt.Sprintf(" (the first %d of %d)", len(r.BadLines), r.Bad)
		}
		fmt.Fprintf(w, "  bad lines%s:\n", more)
		for _, b := range r.BadLines {
			fmt.Fprintf(w, "    %s\n", b)
		}
	}
	if r.Partial > 0 {
		fmt.Fprintf(w, "  the last line has no newline yet (%d bytes): it is imported once complete\n", r.Partial)
	}
}

// downloadsPlural writes "1 day", "2 days".
func downloadsPlural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// downloadsBar draws a progress bar on a terminal.
type downloadsBar struct {
	w     io.Writer
	name  string
	start time.Time
	last  time.Time
	drawn bool
}

// newDownloadsBar returns a bar when w is a terminal, else nil.
func newDownloadsBar(w io.Writer, name string) *downloadsBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	if len(name) > 30 {
		name = "…" + name[len(name)-29:]
	}
	return &downloadsBar{w: w, name: name, start: time.Now()}
}

// update redraws the bar, at most ten times a second.
func (b *downloadsBar) update(pos, size int64) {
	now := time.Now()
	if b.drawn && now.Sub(b.last) < 100*time.Millisecond && pos < size {
		return
	}
	b.last, b.drawn = now, true
	frac := 1.0
	if size > 0 {
		frac = min(float64(pos)/float64(size), 1)
	}
	const width = 30
	full := int(frac * width)
	rate := float64(pos) / 1e6 / max(now.Sub(b.start).Seconds(), 1e-3)
	fmt.Fprintf(b.w, "\r\033[K%s [%s%s] %3.0f%% %.1f MB/s", b.name,
		strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100, rate)
}

// clear removes the bar.
func (b *downloadsBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
