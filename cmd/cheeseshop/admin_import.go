package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cheeseshop/internal/app"
	"cheeseshop/internal/importer"
	"cheeseshop/internal/store"
)

// AdminImportCmd imports the distributions of another index, under the
// rules of serve's flags but those made for uploaders (its help says
// which; index.Import).
type AdminImportCmd struct {
	Owner   string   `required:"" help:"The user who owns the projects the import creates, and who must own those that exist here already (the others are skipped)."`
	Project []string `name:"project" help:"Import only this project (any spelling; repeat the flag for several). Default: every project of each source."`
	Sources []string `arg:"" name:"source" help:"A folder of distributions (pypiserver's layout: flat, or one sub-folder per project), or the simple-API URL of another index (pypiserver, devpi, a cheeseshop, a static PEP 503 mirror); credentials in the URL (https://user:password@host/simple/) are sent to that host only and never printed."`

	RuleFlags        `embed:""`
	projectMailFlags `embed:""`
}

// Run implements the command.
func (c *AdminImportCmd) Run(e *env) error {
	sources := make([]importer.Source, 0, len(c.Sources))
	for _, s := range c.Sources {
		src, err := openSource(s)
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	return withApp(e, &c.RuleFlags, NoticeFlags(c.projectMailFlags), false, func(a *app.App) error {
		owner, err := a.Store.UserByUsername(e.ctx, c.Owner)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no user %q: create it first (cheeseshop admin user create)", c.Owner)
		} else if err != nil {
			return err
		}
		return c.run(e, &importer.Importer{Index: a.Index, Owner: owner, Only: c.Project, Progress: newProgress(e.stderr)}, sources)
	})
}

// run imports the sources with im and prints its summary.
func (c *AdminImportCmd) run(e *env, im *importer.Importer, sources []importer.Source) error {
	sum, err := im.Run(e.ctx, sources...)
	if p, ok := im.Progress.(*bar); ok {
		p.done()
	}
	sum.Print(e.stdout)
	if err != nil {
		return err
	}
	if sum.Failed() {
		return fmt.Errorf("%s refused (listed above); the rest was imported: run the import again once fixed", plural(len(sum.Refused), "file"))
	}
	return nil
}

// openSource is a folder, or the URL of an index's simple API.
func openSource(s string) (importer.Source, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return importer.NewSimple(s)
	}
	return importer.OpenFolder(s)
}

// newProgress is a progress bar on a terminal, one line per project
// otherwise.
func newProgress(w io.Writer) importer.Progress {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return &bar{w: w}
		}
	}
	return &lines{w: w}
}

// lines writes a line per project.
type lines struct{ w io.Writer }

func (l *lines) Source(src importer.Source, projects int) {
	fmt.Fprintf(l.w, "importing %d projects from %s\n", projects, src)
}

func (l *lines) File(string, string) {}

func (l *lines) Project(r *importer.ProjectReport) { fmt.Fprintln(l.w, projectLine(r)) }

// projectLine says what became of a project.
func projectLine(r *importer.ProjectReport) string {
	if r.Skipped != "" {
		return fmt.Sprintf("%s: skipped: %s", r.Name, r.Skipped)
	}
	s := fmt.Sprintf("%s: %d imported, %d already present, %d refused", r.Name, r.Imported, r.Present, r.Refused)
	if r.CreatedProject {
		s += "; project created"
	}
	if r.YankedReleases > 0 {
		s += "; " + plural(r.YankedReleases, "release") + " yanked"
	}
	return s
}

// plural is n and the noun, plural unless n is 1: "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// bar redraws one line: projects done of all, files handled, the project
// at hand.
type bar struct {
	w               io.Writer
	projects, total int
	files           int
}

func (b *bar) Source(src importer.Source, projects int) {
	b.projects, b.total = 0, projects
	fmt.Fprintf(b.w, "\r\033[Kimporting %d projects from %s\n", projects, src)
}

func (b *bar) File(project, _ string) {
	b.files++
	b.draw(project)
}

func (b *bar) Project(r *importer.ProjectReport) {
	b.projects++
	if r.Skipped != "" || r.Refused > 0 {
		fmt.Fprintf(b.w, "\r\033[K%s\n", projectLine(r))
	}
	b.draw(r.Name)
}

func (b *bar) draw(project string) {
	const width = 30
	n := width
	if b.total > 0 {
		n = width * b.projects / b.total
	}
	fmt.Fprintf(b.w, "\r\033[K[%s%s] %d/%d projects, %d files  %s", strings.Repeat("#", n), strings.Repeat(".", width-n),
		b.projects, b.total, b.files, project)
}

// done ends the bar's line.
func (b *bar) done() { fmt.Fprint(b.w, "\r\033[K") }
