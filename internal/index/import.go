package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/dist"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/readme"
	"cheeseshop/internal/store"
)

// ImportFile is what the source of an imported file says about it besides
// its content (an Incoming, from Receive).
type ImportFile struct {
	// Project is the name the source lists the file under; "" when the
	// source does not say (the archive's metadata names it then).
	Project string
	// UploadTime is when the source says the file was uploaded; the zero
	// time for now. A time in the future is taken as now, with a warning.
	UploadTime time.Time
	// Source names where the file comes from (no credentials), for the
	// project's security history.
	Source string
}

// ImportResult says what Import did with one file.
type ImportResult struct {
	Project, Version string
	// Filename is the name the file has here; Original the one the
	// source gave it (they differ for a legacy sdist name).
	Filename, Original string
	// Existing is true when the identical file was here already: the
	// import changed nothing.
	Existing bool
	// CreatedProject and CreatedRelease say what the file created.
	CreatedProject, CreatedRelease bool
	// Review is the project's look-alike review when the import created
	// it under a look-alike name.
	Review *store.NameReview
	// Warnings say what was kept although an upload would refuse it
	// (a legacy name, metadata the source accepted).
	Warnings []string
}

// ErrNotOwner is the cause of Import's refusal of a project that exists
// here and that the importing user does not own: none of its files can
// be imported.
var ErrNotOwner = errors.New("index: import: not an Owner of the project")

// importAgent is the user agent of the import's security events.
const importAgent = "cheeseshop admin import"

// Import publishes a file that another index published, in its own
// transaction, for the projects of owner. The file is validated as an
// upload would be (the archive, its metadata against its name, the name
// rules of a new project, look-alikes, project status and size), except
// that what an older index accepted is kept and reported in the result's
// warnings: a legacy sdist name (stored under its PEP 625 name), a wheel
// name that is not normalized, metadata values PyPI refuses today. A file
// here with the same name and content is Existing; the same name with
// other content, or the same content under another name, is a Conflict.
// A project here that owner does not own is Forbidden. Neither the release
// upload window nor the two-factor mandate applies: an administrator
// imports.
func (s *Service) Import(ctx context.Context, owner *store.User, in *Incoming, f ImportFile) (*ImportResult, error) {
	fn := in.Filename
	filetype := importFiletype(fn)
	if filetype == "" {
		return nil, problem.Errorf(problem.Invalid, "'%s' is not a distribution: use wheels (.whl) and sdists (.tar.gz).", fn)
	}
	if err := checkFilename(fn, filetype); err != nil {
		return nil, err
	}
	if in.Size > s.cfg.MaxFileSize {
		return nil, s.fileTooLarge(f.Project)
	}
	var (
		warnings []string
		stored   = fn
		name     string
		version  pep.Version
		err      error
	)
	if filetype == "bdist_wheel" {
		w, _ := pep.ParseWheelFilename(fn) // checkFilename parsed it
		for _, tag := range w.PlatformTags {
			if !pep.ValidPlatformTag(tag) {
				return nil, problem.Errorf(problem.Invalid, "Binary wheel '%s' has an unsupported platform tag '%s'.", fn, tag)
			}
		}
		name = w.Name
		if version, err = pep.ParseVersion(w.Version); err != nil {
			return nil, problem.Errorf(problem.Invalid, "Invalid wheel filename (invalid version): '%s'", fn)
		}
		if prefix := pep.WheelNamePrefix(name); w.Name != prefix {
			warnings = append(warnings, fmt.Sprintf("kept the wheel name '%s', which does not spell the project normalized ('%s')", fn, prefix))
		}
	} else {
		// An sdist's name may be legacy: its metadata names it.
		meta, err := s.sdistMetadata(in, fn)
		if err != nil {
			return nil, err
		}
		name = meta.Name
		if !pep.ValidProjectName(name) {
			return nil, problem.Errorf(problem.Invalid, "'%s' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. %s", name, metadataHelp)
		}
		if version, err = pep.ParseVersion(meta.Version); err != nil {
			return nil, problem.Errorf(problem.Invalid, "'%s' is an invalid value for Version. Error: Invalid version: '%s'. Use a PEP 440 version. %s", meta.Version, meta.Version, metadataHelp)
		}
		want := pep.SdistFilename(name, version)
		if fn != want {
			if !importedSdistName(fn, name, version) {
				return nil, problem.Errorf(problem.Invalid, "Filename '%s' does not name the project '%s' version '%s' its metadata gives.", fn, name, version.String())
			}
			stored = want
			warnings = append(warnings, fmt.Sprintf("stored the legacy sdist name '%s' as '%s' (PEP 625)", fn, want))
		}
	}
	if version.Local() != "" {
		return nil, problem.Errorf(problem.Invalid, "The use of local versions in '%s' is not allowed. See https://packaging.python.org/specifications/core-metadata for more information.", version.String())
	}
	normalized := pep.NormalizeName(name)
	if f.Project != "" && pep.NormalizeName(f.Project) != normalized {
		return nil, problem.Errorf(problem.Invalid, "'%s' is listed under the project '%s' but is a file of '%s'.", fn, f.Project, name)
	}

	p := &Principal{User: owner, Meta: audit.Meta{UserAgent: importAgent}}
	u := upload{p: p, name: name, normalized: normalized, version: version, filetype: filetype, in: in, key: pep.FilenameKey(stored)}
	proj, existing, err := s.importCheck(ctx, s.store, &u, stored)
	if err != nil || existing != nil {
		return existing, err
	}
	if proj == nil {
		if u.verdict, err = s.upstreamDecision(ctx, p, name, normalized); err != nil {
			return nil, err
		}
	}

	meta, metaBytes, arc, err := s.inspect(in, filetype, fn, normalized, version)
	if err != nil {
		return nil, err
	}
	if pep.ValidProjectName(meta.Name) {
		u.name = meta.Name // the project's display name, as an upload takes it
	}
	if arc.recordProblem != "" {
		if s.cfg.StrictRecord {
			return nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Wheel '%s' has a RECORD that does not match its contents: %s. This index refuses such wheels.", fn, arc.recordProblem)
		}
		u.recordProblem = arc.recordProblem
		warnings = append(warnings, recordWarning(fn, arc.recordProblem))
	}
	if err := s.checkMetadataValues(meta, Form{}, arc, fn); err != nil {
		warnings = append(warnings, "kept metadata that the source accepted: "+problem.MessageOf(err))
	}
	var descHTML *string
	if !u.releaseExists {
		h, err := readme.Render(meta.Description, meta.DescriptionContentType)
		if err != nil {
			// The source published it: shown as plain text rather than lost.
			warnings = append(warnings, "shows the description as plain text: "+problem.MessageOf(s.descriptionRefused(meta.DescriptionContentType, err)))
			if h, err = readme.Render(meta.Description, "text/plain"); err != nil {
				return nil, fmt.Errorf("index: import %s: render description: %w", fn, err)
			}
		}
		hs := string(h)
		descHTML = &hs
	}

	// The blobs before the rows, as an upload writes them.
	metaSHA, err := s.commitBlobs(ctx, in, filetype, metaBytes)
	if err != nil {
		return nil, err
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("index: import: encode metadata: %w", err)
	}
	at := f.UploadTime.UTC()
	if now := s.now(); at.After(now) {
		// Not believed: it would date the release after every real one
		// and keep its upload window open until then.
		warnings = append(warnings, fmt.Sprintf("the source's upload time %s is in the future: dated now", at.Format(time.RFC3339)))
		at = now
	} else if at.IsZero() {
		at = now
	}
	pyversion := "source"
	if filetype == "bdist_wheel" {
		w, _ := pep.ParseWheelFilename(fn)
		pyversion = strings.Join(w.PythonTags, ".")
	}
	row := importRow{u: &u, stored: stored, pyversion: pyversion, at: at, source: f.Source, meta: meta,
		metaJSON: metaJSON, metaSHA: metaSHA, descHTML: descHTML}
	var res *ImportResult
	for attempt := 0; ; attempt++ {
		res, err = s.importTx(ctx, &row)
		if errors.Is(err, errUpstreamUndecided) && attempt < 3 {
			if u.verdict, err = s.upstreamDecision(ctx, p, name, normalized); err != nil {
				break
			}
			continue
		}
		if err == nil || !store.IsUniqueViolation(err) || attempt >= 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Existing {
		return res, nil
	}
	res.Original, res.Warnings = fn, warnings
	s.cache.Invalidate(normalized, res.CreatedProject)
	// The command's summary tells each file: the log has it for debugging.
	s.log.DebugContext(ctx, "import", "project", res.Project, "version", res.Version, "filename", stored, "size", in.Size,
		"owner", owner.Username, "source", f.Source)
	if res.CreatedProject && res.Review != nil {
		s.tellLookalike(ctx, res.Review)
	}
	if res.CreatedProject && u.verdict.shadow {
		s.tellShadowed(ctx, p, res.Project, normalized, u.verdict.name)
	}
	return res, nil
}

// importRow is what importTx writes.
type importRow struct {
	u         *upload
	stored    string
	pyversion string
	at        time.Time
	source    string
	meta      *pep.Metadata
	metaJSON  []byte
	metaSHA   string
	descHTML  *string
}

// importTx writes an imported file's rows (its project and release when
// new) in one transaction, checking again what a concurrent change could
// have changed since importCheck.
func (s *Service) importTx(ctx context.Context, r *importRow) (*ImportResult, error) {
	u, p := r.u, r.u.p
	var res *ImportResult
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, existing, err := s.importCheck(ctx, tx, u, r.stored)
		if err != nil || existing != nil {
			res = existing
			return err
		}
		res = &ImportResult{Version: u.version.String(), Filename: r.stored}
		if proj == nil {
			if proj, res.Review, err = s.newProject(ctx, tx, p, p.Meta, u.name, u.normalized, u.verdict); err != nil {
				return err
			}
			res.CreatedProject = true
		}
		res.Project = proj.Name
		charge := u.in.Size
		rel, err := tx.ReleaseByCanonicalVersion(ctx, proj.ID, u.version.Canonical())
		if errors.Is(err, store.ErrNotFound) {
			rel = &store.Release{ProjectID: proj.ID, Version: u.version.String(), CanonicalVersion: u.version.Canonical(),
				IsPrerelease: u.version.IsPrerelease(), RequiresPython: r.meta.RequiresPython, Summary: r.meta.Summary,
				MetadataJSON: r.metaJSON, CreatedAt: r.at, DescriptionHTML: r.descHTML, DescriptionVersion: readme.Version}
			charge += rel.StoredMetadataSize()
			if proj.TotalSize+charge > s.cfg.MaxProjectSize {
				return s.projectTooLarge(proj)
			}
			if err := tx.CreateRelease(ctx, rel); err != nil {
				return err
			}
			res.CreatedRelease = true
		} else if err != nil {
			return err
		}
		in := u.in
		f := &store.File{ReleaseID: rel.ID, ProjectID: proj.ID, Filename: r.stored, PackageType: u.filetype, PythonVersion: r.pyversion,
			RequiresPython: r.meta.RequiresPython, Size: in.Size, MD5: in.MD5, SHA256: in.SHA256, Blake2_256: in.Blake2_256,
			MetadataSHA256: r.metaSHA, UploadedBy: p.User.ID, UploadTime: r.at}
		if err := tx.InsertFile(ctx, f); err != nil {
			return err
		}
		now := s.now()
		if err := tx.RegisterFilename(ctx, r.stored, u.key, now); err != nil {
			return err
		}
		details := map[string]any{"filename": r.stored, "version": rel.Version, "source": r.source}
		if in.Filename != r.stored {
			details["original"] = in.Filename
		}
		if err := s.projectEvent(ctx, tx, p, p.Meta, proj, audit.ProjectImported, p.User.ID, details); err != nil {
			return err
		}
		if u.recordProblem != "" {
			if err := s.projectEvent(ctx, tx, p, p.Meta, proj, audit.FileRecordMismatch, p.User.ID,
				map[string]any{"filename": r.stored, "problem": u.recordProblem}); err != nil {
				return err
			}
		}
		serial, err := tx.AddJournal(ctx, proj.ID, u.normalized, store.ActionAddFile, now)
		if err != nil {
			return err
		}
		return tx.UpdateProjectAfterUpload(ctx, proj.ID, proj.Name, charge, serial)
	})
	return res, err
}

// importCheck runs the database rules of an import: the project (nil when
// the import creates it: then its name must pass the rules of a new name)
// must be owned by the importing user and accept uploads; a file here
// under the stored name or with the same content is the same file
// (Existing) or a conflict; the project's size limit; one sdist per
// release.
func (s *Service) importCheck(ctx context.Context, q reader, u *upload, stored string) (*store.Project, *ImportResult, error) {
	in := u.in
	u.releaseExists = false
	proj, err := q.ProjectByName(ctx, u.normalized)
	switch {
	case errors.Is(err, store.ErrNotFound):
		proj = nil
		if err := s.CheckNewName(ctx, q, u.name); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	default:
		if err := s.importOwner(ctx, q, u.p.User, proj); err != nil {
			return nil, nil, err
		}
		if err := s.statusRefusal(u.p, proj, ActionUpload); err != nil {
			return nil, nil, err
		}
	}
	present := &ImportResult{Project: u.name, Version: u.version.String(), Filename: stored, Original: in.Filename, Existing: true}
	if proj != nil {
		present.Project = proj.Name
	}
	if used, err := q.UsedFilename(ctx, stored, u.key); err == nil {
		f, err := q.FileByFilename(ctx, used)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil, problem.Errorf(problem.Conflict, "The filename '%s' was used here by a file that has since been deleted: it cannot be used again.", stored)
		case err != nil:
			return nil, nil, err
		case f.Filename == stored && f.SHA256 == in.SHA256:
			return proj, present, nil
		}
		return nil, nil, problem.Errorf(problem.Conflict, "A different file named '%s' is here already (sha256 %s here, %s in the source).", f.Filename, f.SHA256, in.SHA256)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	if f, err := q.FileByDigest(ctx, in.SHA256, in.Blake2_256); err == nil {
		return nil, nil, problem.Errorf(problem.Conflict, "The same content is here already under another name, '%s'.", f.Filename)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, nil, err
	}
	if proj == nil {
		return nil, nil, nil
	}
	if proj.TotalSize+in.Size > s.cfg.MaxProjectSize {
		return nil, nil, s.projectTooLarge(proj)
	}
	relID, _, err := q.ReleaseCreated(ctx, proj.ID, u.version.Canonical())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return proj, nil, nil
	case err != nil:
		return nil, nil, err
	}
	u.releaseExists = true
	if u.filetype == "sdist" {
		if n, err := q.CountSdists(ctx, relID); err != nil {
			return nil, nil, err
		} else if n > 0 {
			return nil, nil, problem.Errorf(problem.Conflict, "Release %s of '%s' has an sdist here already: only one sdist may be published per release.", u.version.String(), proj.Name)
		}
	}
	return proj, nil, nil
}

// sdistMetadata reads the core metadata of a staged sdist, to learn the
// project and version that a legacy file name spells ambiguously.
func (s *Service) sdistMetadata(in *Incoming, fn string) (*pep.Metadata, error) {
	sd, err := dist.InspectSdist(io.NewSectionReader(in.staged.ReaderAt(), 0, in.Size), in.Size, fn, dist.Limits{MaxMetadataSize: MaxMetadataBytes})
	if err != nil {
		if de, ok := errors.AsType[*dist.Error](err); ok {
			return nil, problem.Errorf(problem.Invalid, "Invalid distribution file. %s", de.Msg)
		}
		return nil, fmt.Errorf("index: inspect %s: %w", fn, err)
	}
	meta, err := pep.ParseMetadata(sd.PKGInfo)
	if err != nil {
		return nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Its core metadata cannot be read: %s", err)
	}
	return meta, nil
}

// importedSdistName reports whether fn is a pre-PEP 625 name of the sdist
// of the project called name at version v: "{name}-{version}.tar.gz"
// with the name spelled in any way that normalizes alike (nc-hello,
// NC.Hello) and the version in any spelling of it (1.0-1 for 1.0.post1).
// It is wider than legacySdistName, which the upload setting uses: an
// index that accepted the file vouched for it, so an import also takes the
// old spellings of a version (pep.NormalizeSdistFilename does not).
func importedSdistName(fn, name string, v pep.Version) bool {
	stem, ok := strings.CutSuffix(fn, ".tar.gz")
	if !ok {
		return false
	}
	normalized := pep.NormalizeName(name)
	for i := strings.IndexByte(stem, '-'); i >= 0; {
		if pep.NormalizeName(stem[:i]) == normalized {
			if fv, err := pep.ParseVersion(stem[i+1:]); err == nil && fv.Compare(v) == 0 {
				return true
			}
		}
		j := strings.IndexByte(stem[i+1:], '-')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// importFiletype is the upload filetype of a distribution's file name, ""
// for a file that is not one.
func importFiletype(fn string) string {
	lower := strings.ToLower(fn)
	switch {
	case strings.HasSuffix(lower, ".whl"):
		return "bdist_wheel"
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".zip"):
		return "sdist"
	}
	return ""
}

// ImportYank yanks, with the reason, a release imported from a source that
// yanked all of its files (PEP 592): here a release is yanked, not a file.
// It does nothing when the release is yanked already, so that an import
// run again changes nothing; it reports whether it yanked. Only an Owner
// may (ErrNotOwner), and not in a quarantined project. The reason is cut
// to the length a yank's may have.
func (s *Service) ImportYank(ctx context.Context, owner *store.User, project, version, reason string) (bool, error) {
	p := &Principal{User: owner, Meta: audit.Meta{UserAgent: importAgent}}
	reason = truncate(strings.TrimSpace(reason), maxYankReason) // the source's, as long as it likes
	var normalized string
	yanked := false
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		proj, err := tx.ProjectByName(ctx, pep.NormalizeName(project))
		if err != nil {
			return err
		}
		if err := s.importOwner(ctx, tx, owner, proj); err != nil {
			return err
		}
		if err := s.statusRefusal(p, proj, ActionYank); err != nil {
			return err
		}
		r, err := release(ctx, tx, proj, version)
		if err != nil || r.Yanked {
			return err
		}
		if err := tx.SetYanked(ctx, r.ID, true, reason); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, proj, store.ActionYank); err != nil {
			return err
		}
		normalized, yanked = proj.NormalizedName, true
		return s.projectEvent(ctx, tx, p, p.Meta, proj, audit.ReleaseYanked, 0, map[string]any{"version": r.Version, "reason": reason})
	})
	if err != nil {
		return false, wrap(err, "yank %s %s", project, version)
	}
	if yanked {
		s.cache.Invalidate(normalized, false)
	}
	return yanked, nil
}

// ImportPresent reports whether a file of that name and SHA-256 is here
// already as a file of project, so that an import run again need not fetch
// it: under the name, or, for a legacy sdist name, under the PEP 625 name
// Import gives it. A file of another project is not present (Import then
// refuses it). When owner is not an Owner of the project, its refusal
// wraps ErrNotOwner, as Import's does: a source may list this index's own
// files with their digests, which must not make them the owner's.
func (s *Service) ImportPresent(ctx context.Context, owner *store.User, project, filename, sha256 string) (bool, error) {
	names := []string{filename}
	if name, version, err := pep.ParseSdistFilename(filename); err == nil && strings.HasSuffix(filename, ".tar.gz") {
		if v, err := pep.ParseVersion(version); err == nil && pep.SdistFilename(name, v) != filename {
			names = append(names, pep.SdistFilename(name, v))
		}
	}
	for _, n := range names {
		f, err := s.store.FileByFilename(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return false, fmt.Errorf("index: import: %w", err)
		}
		if f.SHA256 != strings.ToLower(sha256) {
			continue
		}
		proj, err := s.store.ProjectByID(ctx, f.ProjectID)
		if err != nil {
			return false, fmt.Errorf("index: import: %w", err)
		}
		if proj.NormalizedName != pep.NormalizeName(project) {
			return false, nil
		}
		if err := s.importOwner(ctx, s.store, owner, proj); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// importOwner refuses, wrapping ErrNotOwner, an import into a project here
// that owner does not own.
func (s *Service) importOwner(ctx context.Context, q reader, owner *store.User, proj *store.Project) error {
	role, err := q.RoleOf(ctx, proj.ID, owner.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if role != store.RoleOwner {
		return problem.Wrap(ErrNotOwner, problem.Forbidden,
			fmt.Sprintf("Project '%s' exists here and '%s' is not an Owner of it: its files are not imported.", proj.Name, owner.Username))
	}
	return nil
}
