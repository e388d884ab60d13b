package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cheeseshop/internal/app"
	"cheeseshop/internal/importer"
	"cheeseshop/internal/index"
	"cheeseshop/internal/store"
)

// AdminImportCmd imports the distributions of another index.
type AdminImportCmd struct {
	Owner   string   `required:"" help:"The user who owns the projects the import creates, and who must own those that exist here already (the others are skipped)."`
	Project []string `name:"project" help:"Import only this project (any spelling; repeat the flag for several). Default: every project of each source."`
	Sources []string `arg:"" name:"source" help:"A folder of distributions (pypiserver's layout: flat, or one sub-folder per project), or the simple-API URL of another index (pypiserver, devpi, a cheeseshop, a static PEP 503 mirror); credentials in the URL (https://user:password@host/simple/) are sent to that host only and never printed."`

	MaxFileSize             byteSize `default:"100MiB" help:"Largest file accepted (as serve's --max-file-size)."`
	MaxProjectSize          byteSize `default:"10GiB" help:"Largest total size of a project's files (as serve's --max-project-size)."`
	StrictRecord            bool     `help:"Refuse wheels whose RECORD disagrees with their contents (as serve's --strict-record). Default: import them with a warning."`
	AllowPrivateClassifiers bool     `help:"Accept 'Private ::' classifiers without a warning (as serve's --allow-private-classifiers)."`
	LookalikePolicy         string   `default:"hold" enum:"hold,flag,off" help:"What happens to a project created under a look-alike of a protected name (as serve's --lookalike-policy)."`
	ProtectOwnTop           int      `default:"1000" help:"As serve's --protect-own-top."`
	projectMailFlags        `embed:""`
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
	policy, err := index.ParseLookalikePolicy(c.LookalikePolicy)
	if err != nil {
		return err
	}
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	owner, err := st.UserByUsername(e.ctx, c.Owner)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %q: create it first (cheeseshop admin user create)", c.Owner)
	} else if err != nil {
		return err
	}
	blobs, err := e.openBlobs()
	if err != nil {
		return err
	}
	defer blobs.Close()
	base := strings.TrimRight(c.BaseURL, "/")
	mailer, err := e.mailer(c.SMTPURL, c.MailFrom, base)
	if err != nil {
		return err
	}
	cfg := index.Config{BaseURL: base, Mailer: mailer, MaxFileSize: int64(c.MaxFileSize), MaxProjectSize: int64(c.MaxProjectSize),
		StrictRecord: c.StrictRecord, AllowPrivateClassifiers: c.AllowPrivateClassifiers, LookalikePolicy: policy}
	if policy != index.LookalikeOff {
		// The detector reads the protected names through the index.
		ix, err := app.BuildDetector(e.ctx, index.New(st, blobs, cfg, e.log), c.ProtectOwnTop, -1)
		if err != nil {
			return err
		}
		cfg.NameCheck = func(_ context.Context, name string) (*index.NameMatch, error) {
			if m, ok := ix.Check(name); ok {
				return &index.NameMatch{Target: m.Target, TargetRank: m.TargetRank, Kind: m.Kind}, nil
			}
			return nil, nil
		}
	}
	im := &importer.Importer{Index: index.New(st, blobs, cfg, e.log), Owner: owner, Only: c.Project,
		Progress: newProgress(e.stderr)}
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
