package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"cheeseshop/internal/index"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Importer imports the distributions of sources into the index, for the
// projects of one user.
type Importer struct {
	Index *index.Service
	// Owner owns the projects an import creates, and must own those that
	// exist here already.
	Owner *store.User
	// Only limits the import to these projects (any spelling); every
	// project a source lists when empty.
	Only []string
	// Progress, when not nil, is told how the import advances.
	Progress Progress
}

// Progress is told how an import advances, for a progress bar or a log.
type Progress interface {
	// Source starts a source of that many projects.
	Source(src Source, projects int)
	// File tells that a file of the project was handled.
	File(project, filename string)
	// Project tells that a project is done.
	Project(r *ProjectReport)
}

// ProjectReport is what an import did with one project of a source.
type ProjectReport struct {
	Name                            string
	Imported, Present, Refused      int
	CreatedProject                  bool
	CreatedReleases, YankedReleases int
	// Skipped is why none of the project was imported, "" when it was.
	Skipped string
}

// Note is a file or a project and what became of it.
type Note struct {
	Project, File, Reason string
}

// Summary is the outcome of an import.
type Summary struct {
	// Files, Releases and Projects count what the import created;
	// Yanked the releases it yanked.
	Files, Releases, Projects, Yanked int
	// Present counts the files that were here already.
	Present int
	// Warnings are files imported although an upload would refuse them
	// (legacy names, metadata), or whose source gave no digest.
	Warnings []Note
	// Refused are the files not imported, and why.
	Refused []Note
	// Skipped are the projects not imported (not owned, not in the
	// source) and the files that are not distributions.
	Skipped []Note
}

// Failed reports whether a file was refused.
func (s *Summary) Failed() bool { return len(s.Refused) > 0 }

// Run imports the sources in turn. A file refused is reported in the
// summary and the import goes on; it stops, with the summary so far, when
// a source cannot list its projects, when the database or the file store
// fails, or when ctx ends. Run again, it imports only what it had not.
func (im *Importer) Run(ctx context.Context, sources ...Source) (*Summary, error) {
	sum := &Summary{}
	for _, src := range sources {
		if err := im.source(ctx, src, sum); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func (im *Importer) source(ctx context.Context, src Source, sum *Summary) error {
	if f, ok := src.(*Folder); ok {
		for _, rel := range f.Ignored() {
			sum.Skipped = append(sum.Skipped, Note{File: rel, Reason: "not a distribution"})
		}
	}
	names := im.Only
	if len(names) == 0 {
		var err error
		if names, err = src.Projects(ctx); err != nil {
			return sourceError(src, "list its projects", err)
		}
	}
	if im.Progress != nil {
		im.Progress.Source(src, len(names))
	}
	for _, name := range names {
		r, err := im.project(ctx, src, name, sum)
		if err != nil {
			return err
		}
		if im.Progress != nil {
			im.Progress.Project(r)
		}
	}
	return nil
}

// release counts the files of a release that are here, and those the
// source yanked.
type release struct {
	files, yanked int
	reason        string
}

// project imports one project of the source.
func (im *Importer) project(ctx context.Context, src Source, name string, sum *Summary) (*ProjectReport, error) {
	r := &ProjectReport{Name: name}
	files, err := src.Files(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.Skipped = printable(err.Error())
		sum.Refused = append(sum.Refused, Note{Project: name, Reason: r.Skipped})
		return r, nil
	}
	if len(files) == 0 {
		r.Skipped = "no files in " + src.String()
		sum.Skipped = append(sum.Skipped, Note{Project: name, Reason: r.Skipped})
		return r, nil
	}
	// The oldest first: the first file of a release dates it.
	files = slices.Clone(files)
	slices.SortStableFunc(files, func(a, b File) int { return a.UploadTime.Compare(b.UploadTime) })
	releases := map[string]*release{}
	var order []string
	project := name // as this index spells it, once a file is here
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, reason, err := im.file(ctx, src, name, f)
		if im.Progress != nil {
			im.Progress.File(name, f.Filename)
		}
		switch {
		case errors.Is(err, index.ErrNotOwner):
			r.Skipped = problem.MessageOf(err)
			sum.Skipped = append(sum.Skipped, Note{Project: name, Reason: r.Skipped})
			return r, nil
		case err != nil:
			return nil, fmt.Errorf("import %s from %s: %w", f.Filename, src, err)
		case reason == notDistribution:
			sum.Skipped = append(sum.Skipped, Note{Project: name, File: f.Filename, Reason: reason})
			continue
		case reason != "":
			r.Refused++
			sum.Refused = append(sum.Refused, Note{Project: name, File: f.Filename, Reason: reason})
			continue
		}
		project = res.Project
		if res.Existing {
			r.Present++
			sum.Present++
		} else {
			r.Imported++
			sum.Files++
			if res.CreatedRelease {
				r.CreatedReleases++
				sum.Releases++
			}
			if res.CreatedProject {
				r.CreatedProject = true
				sum.Projects++
			}
			for _, w := range res.Warnings {
				sum.Warnings = append(sum.Warnings, Note{Project: res.Project, File: f.Filename, Reason: w})
			}
			if f.SHA256 == "" && f.remote {
				sum.Warnings = append(sum.Warnings, Note{Project: res.Project, File: f.Filename,
					Reason: "the source gives no sha256: the digest was computed here"})
			}
			if res.Review != nil {
				sum.Warnings = append(sum.Warnings, Note{Project: res.Project, File: f.Filename,
					Reason: "the project's name looks like a protected one: " + index.HoldNotice(res.Review)})
			}
		}
		rel := releases[res.Version]
		if rel == nil {
			rel = &release{}
			releases[res.Version] = rel
			order = append(order, res.Version)
		}
		rel.files++
		if f.Yanked {
			rel.yanked++
			if rel.reason == "" {
				rel.reason = f.YankedReason
			}
		}
	}
	for _, v := range order {
		rel := releases[v]
		switch {
		case rel.yanked == 0:
		case rel.yanked == rel.files:
			yanked, err := im.Index.ImportYank(ctx, im.Owner, project, v, rel.reason)
			if errors.Is(err, index.ErrNotOwner) {
				r.Skipped = problem.MessageOf(err)
				sum.Skipped = append(sum.Skipped, Note{Project: name, Reason: r.Skipped})
				return r, nil
			}
			if msg := problem.MessageOf(err); msg != "" && problem.KindOf(err) != problem.Unavailable {
				r.Refused++
				sum.Refused = append(sum.Refused, Note{Project: project, Reason: fmt.Sprintf("release %s is not yanked as in the source: %s", v, msg)})
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("import: %w", err)
			}
			if yanked {
				r.YankedReleases++
				sum.Yanked++
			}
		default:
			sum.Warnings = append(sum.Warnings, Note{Project: project, Reason: fmt.Sprintf(
				"release %s: %d of its %d files are yanked in the source; this index yanks whole releases, so it is not yanked here",
				v, rel.yanked, rel.files)})
		}
	}
	return r, nil
}

// notDistribution is why a file that is not a distribution is skipped.
const notDistribution = "not a distribution"

// file imports one file: its result, or why it was refused (a reason), or
// an error that stops the import (the database, the file store), or
// index.ErrNotOwner's refusal.
func (im *Importer) file(ctx context.Context, src Source, project string, f File) (*index.ImportResult, string, error) {
	if !IsDistribution(f.Filename) {
		return nil, notDistribution, nil
	}
	if f.SHA256 != "" {
		if ok, err := im.Index.ImportPresent(ctx, im.Owner, project, f.Filename, f.SHA256); err != nil {
			return nil, "", err // the database, or index.ErrNotOwner
		} else if ok {
			return im.present(f, project), "", nil
		}
	}
	rc, err := src.Open(ctx, f)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, err.Error(), nil
	}
	in, err := im.Index.Receive(ctx, rc, f.Filename, "application/octet-stream", project)
	rc.Close()
	if err != nil {
		return refusal(err)
	}
	defer in.Close()
	if f.SHA256 != "" && in.SHA256 != f.SHA256 {
		return nil, fmt.Sprintf("the file's sha256 is %s, the source says %s: refused", in.SHA256, f.SHA256), nil
	}
	res, err := im.Index.Import(ctx, im.Owner, in, index.ImportFile{Project: f.Project, UploadTime: f.UploadTime, Source: src.String()})
	if err != nil {
		if errors.Is(err, index.ErrNotOwner) {
			return nil, "", err
		}
		return refusal(err)
	}
	return res, "", nil
}

// present is the result of a file found here by its name and digest.
func (im *Importer) present(f File, project string) *index.ImportResult {
	version := ""
	if w, err := pep.ParseWheelFilename(f.Filename); err == nil {
		version = w.Version
	} else if _, v, err := pep.ParseSdistFilename(f.Filename); err == nil {
		version = v
	}
	if v, err := pep.ParseVersion(version); err == nil {
		version = v.String()
	}
	return &index.ImportResult{Project: project, Version: version, Filename: f.Filename, Original: f.Filename, Existing: true}
}

// refusal splits an error of the index into a refusal's reason (a
// problem.Error) and a failure that stops the import.
func refusal(err error) (*index.ImportResult, string, error) {
	if msg := problem.MessageOf(err); msg != "" && problem.KindOf(err) != problem.Unavailable {
		return nil, msg, nil
	}
	return nil, "", err
}

// Print writes the summary for people.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "imported: %s, %s, %s", count(s.Files, "file"), count(s.Releases, "release"), count(s.Projects, "project"))
	if s.Yanked > 0 {
		fmt.Fprintf(w, "; %s yanked as in the source", count(s.Yanked, "release"))
	}
	fmt.Fprintf(w, "\nalready present (skipped): %s\n", count(s.Present, "file"))
	section := func(title string, notes []Note) {
		fmt.Fprintf(w, "%s: %d\n", title, len(notes))
		for _, n := range notes {
			what := n.Project
			if n.File != "" {
				what = n.File
			}
			fmt.Fprintf(w, "  %s: %s\n", printable(what), printable(n.Reason))
		}
	}
	section("kept with warnings", s.Warnings)
	section("skipped", s.Skipped)
	section("refused", s.Refused)
}

// count is n and the noun, plural unless n is 1: "1 file", "0 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// printable escapes the control characters of a text from a source (a
// file name, an error's status line) as Go does (\x1b), so that a
// terminal shows it rather than obeys it.
func printable(text string) string {
	if !strings.ContainsFunc(text, unicode.IsControl) {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
