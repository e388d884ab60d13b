package index

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/dist"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/readme"
	"cheeseshop/internal/store"
)

// Form is the non-file fields of an upload, as sent: core-metadata names
// lower-cased with '-' turned into '_', multi-use fields repeated.
type Form map[string][]string

// Get returns the first non-empty value of a field, "" if none. Values of
// "UNKNOWN" (a distutils artefact) count as absent, as on PyPI.
func (f Form) Get(key string) string {
	for _, v := range f[key] {
		if v != "" && v != "UNKNOWN" {
			return v
		}
	}
	return ""
}

// UploadResult says what an upload did.
type UploadResult struct {
	Project  string
	Version  string
	Filename string
	// Existing is true when the identical file was already there: the
	// upload was a harmless retry and changed nothing.
	Existing bool
	// Review is the project's look-alike review when it is held (not
	// published until an administrator approves it), or when this upload
	// created it under a look-alike name; nil otherwise.
	Review *store.NameReview
	// Warnings are told to the uploader with the success, one per line
	// (PyPI answers 200 with its warnings in the body).
	Warnings []string
}

var hexDigest = regexp.MustCompile(`^[A-Fa-f0-9]{64}$`)

const metadataHelp = "See https://packaging.python.org/specifications/core-metadata for more information."

// Upload validates an upload, PyPI's way, and publishes the file. On any
// refusal nothing is written: no project, release, file row or visible blob.
func (s *Service) Upload(ctx context.Context, p *Principal, form Form, in *Incoming) (*UploadResult, error) {
	switch action := form.Get(":action"); action {
	case "file_upload":
	case "submit", "submit_pkg_info":
		return nil, problem.Errorf(problem.Gone, "Project pre-registration is no longer required or supported, upload your files instead.")
	case "doc_upload":
		return nil, problem.Errorf(problem.Gone, "Uploading documentation is no longer supported, we recommend using https://readthedocs.org/.")
	case "":
		return nil, problem.Errorf(problem.Invalid, "Missing ':action' field: use ':action=file_upload' (twine and uv do this for you).")
	default:
		return nil, problem.Errorf(problem.Invalid, "Unknown ':action' %q: use ':action=file_upload'.", action)
	}
	if v := form.Get("protocol_version"); v != "" && v != "1" {
		return nil, problem.Errorf(problem.Invalid, "Unknown protocol version.")
	}
	if p == nil {
		return nil, problem.Errorf(problem.Unauthenticated, "Invalid or non-existent authentication information. See %s for more information.", s.helpURL("invalid-auth"))
	}
	if err := s.CheckUploader(ctx, p); err != nil {
		return nil, err
	}

	// Every metadata field of the form is bounded before any is parsed
	// (the HTTP layer bounds them while reading, FormFieldLimit).
	if err := checkMetadata(formMetadata(form), ""); err != nil {
		return nil, err
	}

	// Form metadata, in PyPI's order of priority.
	mv := form.Get("metadata_version")
	if !pep.SupportedMetadataVersion(mv) {
		return nil, problem.Errorf(problem.Invalid, "'%s' is an invalid value for Metadata-Version. Error: Use a known metadata version. %s", mv, metadataHelp)
	}
	name := form.Get("name")
	if !pep.ValidProjectName(name) {
		return nil, problem.Errorf(problem.Invalid, "'%s' is an invalid value for Name. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'. %s", name, metadataHelp)
	}
	rawVersion := form.Get("version")
	version, err := pep.ParseVersion(rawVersion)
	if err != nil {
		return nil, problem.Errorf(problem.Invalid, "'%s' is an invalid value for Version. Error: Invalid version: '%s'. Use a PEP 440 version. %s", rawVersion, rawVersion, metadataHelp)
	}
	if version.Local() != "" {
		return nil, problem.Errorf(problem.Invalid, "The use of local versions in '%s' is not allowed. See https://packaging.python.org/specifications/core-metadata for more information.", rawVersion)
	}
	filetype := form.Get("filetype")
	if filetype != "sdist" && filetype != "bdist_wheel" {
		return nil, problem.Errorf(problem.Invalid, "Invalid value for filetype: '%s'. Error: Use a known file type (sdist or bdist_wheel).", filetype)
	}
	pyversion := form.Get("pyversion")
	if filetype == "sdist" {
		if pyversion == "" {
			pyversion = "source"
		} else if pyversion != "source" {
			return nil, problem.Errorf(problem.Invalid, "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist.")
		}
	} else if pyversion == "" {
		return nil, problem.Errorf(problem.Invalid, "Invalid value for pyversion. Error: Python version is required for binary distribution uploads.")
	}
	md5d, shad, b2d := form.Get("md5_digest"), form.Get("sha256_digest"), form.Get("blake2_256_digest")
	if md5d == "" && shad == "" && b2d == "" {
		return nil, problem.Errorf(problem.Invalid, "Error: Include at least one message digest.")
	}
	for field, v := range map[string]string{"sha256_digest": shad, "blake2_256_digest": b2d} {
		if v != "" && !hexDigest.MatchString(v) {
			return nil, problem.Errorf(problem.Invalid, "Invalid value for %s. Error: Use a valid, hex-encoded, %s digest.", field, strings.TrimSuffix(field, "_digest"))
		}
	}
	if in == nil {
		return nil, problem.Errorf(problem.Invalid, "Upload payload does not have a file.")
	}
	if in.ContentType == "" || strings.HasPrefix(in.ContentType, "image/") {
		return nil, problem.Errorf(problem.Invalid, "Invalid distribution file.")
	}

	normalized := pep.NormalizeName(name)
	fn := in.Filename
	if err := checkFilename(fn, filetype); err != nil {
		return nil, err
	}
	if filetype == "sdist" && s.cfg.LegacySdistNames {
		// Stored, checked for reuse and shown under its PEP 625 name.
		if stored := legacySdistName(fn, normalized, version); stored != fn {
			renamed := *in
			renamed.Filename, fn, in = stored, stored, &renamed
		}
	}
	if in.Size > s.cfg.MaxFileSize {
		return nil, s.fileTooLarge(name)
	}
	// Every digest sent must match what we computed.
	for _, d := range []struct{ sent, got string }{{md5d, in.MD5}, {shad, in.SHA256}, {b2d, in.Blake2_256}} {
		if d.sent != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(d.sent)), []byte(d.got)) != 1 {
			return nil, problem.Errorf(problem.Invalid, "The digest supplied does not match a digest calculated from the uploaded file.")
		}
	}

	// A read-only pass of the database checks before the expensive
	// archive inspection and before any blob is written: most refusals
	// (permissions, names, duplicates, limits) happen here, so they cost
	// little and leave nothing behind. The transaction repeats them.
	u := upload{p: p, name: name, normalized: normalized, version: version, filetype: filetype, in: in, key: pep.FilenameKey(fn)}
	proj, existing, err := s.check(ctx, s.store, &u)
	if err != nil {
		s.recordRefusal(ctx, p, p.Meta, err)
		return nil, err
	} else if existing != nil {
		return existing, nil
	}
	u.noFiles = true
	if proj == nil {
		// A new project: may it take a name an upstream lists? Asked
		// here, outside the transaction (it may take the network).
		if u.verdict, err = s.upstreamDecision(ctx, p, name, normalized); err != nil {
			return nil, err
		}
	}
	// After the duplicate check, as on PyPI: an identical re-upload of a
	// file accepted under older rules still succeeds.
	projectName := name
	if proj != nil {
		projectName = proj.Name
	}
	if err := s.checkDistFilename(fn, filetype, projectName, normalized, version); err != nil {
		return nil, err
	}

	meta, metaBytes, arc, err := s.inspect(in, filetype, fn, normalized, version)
	if err != nil {
		return nil, err
	}
	if arc.recordProblem != "" && s.cfg.StrictRecord {
		return nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Wheel '%s' has a RECORD that does not match its contents: %s. Rebuild the wheel: this index refuses such wheels.", fn, arc.recordProblem)
	}
	u.recordProblem = arc.recordProblem
	if err := s.checkMetadataValues(meta, form, arc, fn); err != nil {
		return nil, err
	}
	// The first file of a release fixes its description: render it now,
	// once, outside the transaction (the input guards of readme bound
	// the work), and store the HTML with the release.
	var descHTML *string
	if !u.releaseExists { // as far as check saw; the transaction decides
		h, err := readme.Render(meta.Description, meta.DescriptionContentType)
		if err != nil {
			return nil, s.descriptionRefused(meta.DescriptionContentType, err)
		}
		hs := string(h)
		descHTML = &hs
	}

	// PEP 740 attestations: an index must not accept what it cannot
	// verify. PyPI verifies them only from Trusted Publishing, which
	// cheeseshop does not offer, so it answers every upload carrying the
	// field (even empty) as PyPI answers one made with an API token.
	if _, ok := form["attestations"]; ok {
		return nil, problem.Errorf(problem.Invalid, "Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing. cheeseshop cannot verify PEP 740 attestations yet: upload without them (no --attestations).")
	}

	// The blobs go in before the rows, so that no row ever points at a
	// missing file. Were the transaction to fail, the blob would be an
	// unreferenced, invisible orphan.
	metaSHA, err := s.commitBlobs(ctx, in, filetype, metaBytes)
	if err != nil {
		return nil, err
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("index: encode metadata: %w", err)
	}

	var res *UploadResult
	var created, renamed bool
	// Concurrent uploads can race to create the same project or file;
	// the loser's transaction fails on a unique constraint, and running it
	// again sees the winner's rows and answers accordingly.
	for attempt := 0; ; attempt++ {
		res, created, renamed, err = s.publish(ctx, &u, form, pyversion, meta, metaJSON, metaSHA, descHTML)
		if errors.Is(err, errUpstreamUndecided) && attempt < 3 {
			if u.verdict, err = s.upstreamDecision(ctx, p, name, normalized); err != nil {
				break
			}
			continue
		}
		if err == nil || !store.IsUniqueViolation(err) || attempt >= 3 {
			break
		}
		u.noFiles = false
	}
	if err != nil {
		return nil, err
	}
	if !res.Existing {
		// The project list shows display names: a new one changes it.
		s.cache.Invalidate(normalized, created || renamed)
		s.log.InfoContext(ctx, "upload", "project", res.Project, "version", res.Version, "filename", fn,
			"size", in.Size, "user", p.Name())
	}
	if created && res.Review != nil {
		s.tellLookalike(ctx, res.Review)
	}
	if created && u.verdict.shadow {
		s.tellShadowed(ctx, p, res.Project, normalized, u.verdict.name)
	}
	return res, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// checkFilename applies PyPI's rules for the characters and extension of
// a filename, and ours: ASCII only (a letter that folds to an ASCII one,
// such as the Kelvin sign, would otherwise spell a used name anew), a
// filename that parses, and wheel tags of ASCII letters, digits and '_'.
func checkFilename(fn, filetype string) error {
	if len(fn) > MaxFilenameBytes {
		return problem.Errorf(problem.Invalid, "Filename is too long: use %d characters or fewer.", MaxFilenameBytes)
	}
	for _, r := range fn {
		if r < 32 || r == 127 {
			return problem.Errorf(problem.Invalid, "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name.")
		}
	}
	if strings.ContainsAny(fn, `/\`) {
		return problem.Errorf(problem.Invalid, "Cannot upload a file with '/' or '\\' in the name.")
	}
	for i := 0; i < len(fn); i++ {
		if fn[i] >= utf8.RuneSelf {
			return problem.Errorf(problem.Invalid, "Cannot upload a file with non-ASCII characters in the name: use the name your build tool writes (ASCII letters, digits, '.', '_' and '-').")
		}
	}
	lower := strings.ToLower(fn)
	switch {
	case strings.HasSuffix(lower, ".whl"):
		if filetype != "bdist_wheel" {
			return problem.Errorf(problem.Invalid, "Invalid file extension: Extension .whl is invalid for filetype %s. See https://www.python.org/dev/peps/pep-0527 for more information.", filetype)
		}
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".zip"):
		if filetype != "sdist" {
			return problem.Errorf(problem.Invalid, "Invalid file extension: Extension %s is invalid for filetype %s. See https://www.python.org/dev/peps/pep-0527 for more information.", fn[strings.LastIndexByte(fn, '.'):], filetype)
		}
	default:
		return problem.Errorf(problem.Invalid, "Invalid file extension: Use .tar.gz or .whl extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information.")
	}

	if filetype == "sdist" {
		return nil
	}

	w, err := pep.ParseWheelFilename(fn)
	if err != nil {
		return problem.Errorf(problem.Invalid, "%s", err)
	}
	if w.Build != "" && !pep.ValidTag(w.Build) {
		return problem.Errorf(problem.Invalid, "Invalid wheel filename (invalid build tag '%s'): use a number, optionally followed by ASCII letters, digits and '_'.", w.Build)
	}
	for _, set := range []struct {
		kind string
		tags []string
	}{{"Python", w.PythonTags}, {"ABI", w.ABITags}, {"platform", w.PlatformTags}} {
		for _, tag := range set.tags {
			if !pep.ValidTag(tag) {
				return problem.Errorf(problem.Invalid, "Binary wheel '%s' has an invalid %s tag '%s': a tag has only ASCII letters, digits and '_'.", fn, set.kind, tag)
			}
		}
	}
	return nil
}

// checkDistFilename applies PyPI's rules that tie a filename, which
// checkFilename accepted, to the upload, in PyPI's order: the wheel's
// platform tags; the name part names the project (projectName, as it is
// spelled on the index) and, from late 2025 on, is spelled normalized
// (PEP 427: setuptools < 75.8 wrote Foo_Bar.baz-1.0-…whl, refused now);
// the version is the form's. An sdist's whole name is PEP 625's: the
// refusal of a legacy one says how to get it (sdistNameRefused).
func (s *Service) checkDistFilename(fn, filetype, projectName, normalized string, version pep.Version) error {
	prefix := strings.ReplaceAll(normalized, "-", "_")
	startWith := func() error {
		return problem.Errorf(problem.Invalid, "Start filename for '%s' with '%s'.", projectName, prefix)
	}
	if filetype == "sdist" {
		want := pep.SdistFilename(normalized, version)
		sName, _, err := pep.ParseSdistFilename(fn)
		if err != nil {
			return problem.Errorf(problem.Invalid, "Invalid source distribution filename: %s. It should be '%s'. See https://peps.python.org/pep-0625/ for more information.", fn, want)
		}
		if pep.NormalizeName(sName) != normalized && !hyphenatedPost(fn, normalized, version) {
			return startWith()
		}
		if fn != want {
			return s.sdistNameRefused(fn, want)
		}
		return nil
	}

	w, err := pep.ParseWheelFilename(fn)
	if err != nil {
		return problem.Errorf(problem.Invalid, "%s", err)
	}
	for _, tag := range w.PlatformTags {
		if !pep.ValidPlatformTag(tag) {
			return problem.Errorf(problem.Invalid, "Binary wheel '%s' has an unsupported platform tag '%s'.", fn, tag)
		}
	}
	if pep.NormalizeName(w.Name) != normalized {
		return startWith()
	}
	if w.Name != prefix {
		return problem.Errorf(problem.Invalid, "Filename '%s' should contain the normalized project name '%s', not '%s'. Build the wheel with a current build tool (setuptools 75.8 or later, for instance).",
			fn, prefix, w.Name)
	}
	wv, err := pep.ParseVersion(w.Version)
	if err != nil {
		return problem.Errorf(problem.Invalid, "Invalid wheel filename (invalid version): '%s'", fn)
	}
	if wv.Compare(version) != 0 {
		return problem.Errorf(problem.Invalid, "Version in filename should be '%s' not '%s'.", version.String(), w.Version)
	}
	return nil
}

// sdistNameRefused refuses an sdist of the project and version whose file
// name is not PEP 625's (want): PyPI's message first, as clients and
// tests match it, then what to do. Old build tools (setuptools before
// 69.3, Debian 12's 66 among them) write the project's name as spelled,
// nc-hello-0.1.0.tar.gz, and twine has usually uploaded the wheel
// already, so the uploader is told that it stays. Renaming a .tar.gz is
// enough here: the index reads the name and version from PKG-INFO,
// whatever the sdist's top folder is called.
func (s *Service) sdistNameRefused(fn, want string) error {
	fix := "Renaming the file is enough for this index, which reads the name and version from its PKG-INFO."
	if !strings.HasSuffix(fn, ".tar.gz") {
		fix = "Upload a .tar.gz sdist, as every current build backend writes."
	}
	return problem.Errorf(problem.Invalid, "Filename '%s' is invalid, should be '%s'. See https://peps.python.org/pep-0625/ for more information. "+
		"A current build backend writes that name: setuptools 69.3 or later (not Debian 12's 66), hatchling, flit_core, pdm-backend or poetry-core. "+
		"%s The files of this release already uploaded stay; upload the sdist again. See %s for more information.",
		fn, want, fix, s.helpURL("sdist-file-names"))
}

// legacySdistName returns the name under which an sdist uploaded as fn is
// stored when the index accepts legacy sdist names
// (Config.LegacySdistNames): its PEP 625 name when fn is a spelling of
// this project's name and version (pep.NormalizeSdistFilename), else fn,
// which checkDistFilename then refuses.
func legacySdistName(fn, normalized string, version pep.Version) string {
	if stored, ok := pep.NormalizeSdistFilename(fn); ok && stored == pep.SdistFilename(normalized, version) {
		return stored
	}
	return fn
}

// hyphenatedPost reports whether fn is the sdist of the project as named
// with a post-release version spelled with a hyphen (foo-1.0-1.tar.gz for
// 1.0.post1), which splitting at the last '-' misreads: PyPI then tells
// the PEP 625 name rather than the project's prefix.
func hyphenatedPost(fn, normalized string, version pep.Version) bool {
	if !version.IsPostrelease() {
		return false
	}
	stem, ok := strings.CutSuffix(fn, ".tar.gz")
	if !ok {
		stem = strings.TrimSuffix(fn, ".zip")
	}
	i := strings.LastIndexByte(stem, '-')
	if i < 0 {
		return false
	}
	j := strings.LastIndexByte(stem[:i], '-')
	if j < 0 {
		return false
	}
	_, err := pep.ParseVersion(stem[j+1:])
	return err == nil && pep.NormalizeName(stem[:j]) == normalized
}

// archive is what inspect learnt of an upload's archive besides its
// metadata.
type archive struct {
	// recordProblem is how a wheel's RECORD disagrees with its members
	// ("" if it does not, and for an sdist).
	recordProblem string
	// members are the archive's member names, and licenseDir the folder
	// of its PEP 639 License-Files: "<name>-<version>.dist-info/licenses/"
	// (as the file name spells them) in a wheel, "<top>/" in an sdist.
	members    map[string]bool
	licenseDir string
}

// inspect opens the archive, checks it is a valid distribution and that
// its own metadata agrees with the form, and returns that metadata and
// what else the rules after it need of the archive.
func (s *Service) inspect(in *Incoming, filetype, fn, normalized string, version pep.Version) (*pep.Metadata, []byte, *archive, error) {
	var raw []byte
	arc := &archive{}
	var err error
	if filetype == "bdist_wheel" {
		w, perr := pep.ParseWheelFilename(fn)
		if perr != nil {
			return nil, nil, nil, problem.Errorf(problem.Invalid, "%s", perr)
		}
		var wh *dist.Wheel
		wh, err = dist.InspectWheel(in.staged.ReaderAt(), in.Size, fn, w.Name, w.Version, dist.Limits{MaxMetadataSize: MaxMetadataBytes})
		if err == nil {
			raw, arc.recordProblem, arc.members = wh.Metadata, wh.RecordProblem, wh.Members
			name, rest, _ := strings.Cut(fn, "-")
			ver, _, _ := strings.Cut(rest, "-")
			arc.licenseDir = name + "-" + ver + ".dist-info/licenses/"
		}
	} else {
		var sd *dist.Sdist
		sd, err = dist.InspectSdist(io.NewSectionReader(in.staged.ReaderAt(), 0, in.Size), in.Size, fn, dist.Limits{MaxMetadataSize: MaxMetadataBytes})
		if err == nil {
			raw, arc.members, arc.licenseDir = sd.PKGInfo, sd.Members, sd.Top+"/"
		}
	}
	if err != nil {
		if de, ok := errors.AsType[*dist.Error](err); ok {
			return nil, nil, nil, problem.Errorf(problem.Invalid, "Invalid distribution file. %s", de.Msg)
		}
		return nil, nil, nil, fmt.Errorf("index: inspect %s: %w", fn, err)
	}
	meta, err := pep.ParseMetadata(raw)
	if err != nil {
		return nil, nil, nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Its core metadata cannot be read: %s", err)
	}
	// What the release stores comes from here, not from the form: the
	// same bounds apply.
	metaFile := "PKG-INFO"
	if filetype == "bdist_wheel" {
		metaFile = "METADATA"
	}
	if err := checkMetadata(archiveMetadata(meta), metaFile); err != nil {
		return nil, nil, nil, err
	}
	if pep.NormalizeName(meta.Name) != normalized {
		return nil, nil, nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Its metadata names the project '%s', but the upload is for '%s'.", meta.Name, normalized)
	}
	mv, err := pep.ParseVersion(meta.Version)
	if err != nil || mv.Compare(version) != 0 {
		return nil, nil, nil, problem.Errorf(problem.Invalid, "Invalid distribution file. Its metadata gives the version '%s', but the upload is for '%s'.", meta.Version, version.String())
	}
	return meta, raw, arc, nil
}

// publish writes the project (if new), release (if new) and file rows in
// one transaction, re-checking everything that a concurrent upload could
// have changed since the first look.
func (s *Service) publish(ctx context.Context, u *upload, form Form, pyversion string, meta *pep.Metadata, metaJSON []byte,
	metaSHA string, descHTML *string) (res *UploadResult, created, renamed bool, err error) {
	var (
		now     = s.now()
		p       = u.p
		in      = u.in
		fn      = in.Filename
		name    = u.name
		version = u.version
	)
	normalized := u.normalized
	err = s.writeTx(ctx, p, p.Meta, func(tx *store.Tx) error {
		created, renamed = false, false
		proj, existing, err := s.check(ctx, tx, u)
		if err != nil || existing != nil {
			res = existing
			return err
		}
		var review *store.NameReview
		if proj == nil {
			// The name passed every rule of check.
			if proj, review, err = s.newProject(ctx, tx, p, p.Meta, name, normalized, u.verdict); err != nil {
				return err
			}
			created = true
		} else {
			renamed = proj.Name != name
			if r, err := tx.NameReviewOf(ctx, proj.ID); err == nil && r.Held {
				review = r
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		// The project is charged for the file and, with a new release,
		// for the metadata it stores (a small compressed upload can carry
		// megabytes of it).
		charge := in.Size
		rel, err := tx.ReleaseByCanonicalVersion(ctx, proj.ID, version.Canonical())
		if errors.Is(err, store.ErrNotFound) {
			rel = &store.Release{ProjectID: proj.ID, Version: version.String(), CanonicalVersion: version.Canonical(),
				IsPrerelease: version.IsPrerelease(), RequiresPython: meta.RequiresPython, Summary: meta.Summary,
				MetadataJSON: metaJSON, CreatedAt: now, DescriptionHTML: descHTML, DescriptionVersion: readme.Version}
			charge += rel.StoredMetadataSize()
			if proj.TotalSize+charge > s.cfg.MaxProjectSize {
				return s.projectTooLarge(proj)
			}
			if err := tx.CreateRelease(ctx, rel); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		packagetype := form.Get("filetype")
		snapshot, err := publisherSnapshot(ctx, tx, p)
		if err != nil {
			return err
		}
		f := &store.File{ReleaseID: rel.ID, ProjectID: proj.ID, Filename: fn, PackageType: packagetype, PythonVersion: pyversion,
			RequiresPython: meta.RequiresPython, Size: in.Size, MD5: in.MD5, SHA256: in.SHA256, Blake2_256: in.Blake2_256,
			MetadataSHA256: metaSHA, Comment: form.Get("comment"), UploadedBy: p.actorID(), UploadTime: now,
			TrustedPublisher: snapshot}
		if p.Publisher() {
			f.PublisherID = p.Token.PublisherID
		}
		if err := tx.InsertFile(ctx, f); err != nil {
			return err
		}
		if err := tx.RegisterFilename(ctx, fn, u.key, now); err != nil {
			return err
		}
		if err := s.projectEvent(ctx, tx, p, p.Meta, proj, audit.FileUploaded, p.actorID(),
			map[string]any{"filename": fn, "version": rel.Version}); err != nil {
			return err
		}
		var warnings []string
		if u.recordProblem != "" {
			if err := s.projectEvent(ctx, tx, p, p.Meta, proj, audit.FileRecordMismatch, p.actorID(),
				map[string]any{"filename": fn, "problem": u.recordProblem}); err != nil {
				return err
			}
			warnings = append(warnings, recordWarning(fn, u.recordProblem))
		}
		serial, err := tx.AddJournal(ctx, proj.ID, normalized, store.ActionAddFile, now)
		if err != nil {
			return err
		}
		if err := tx.UpdateProjectAfterUpload(ctx, proj.ID, name, charge, serial); err != nil {
			return err
		}
		res = &UploadResult{Project: name, Version: rel.Version, Filename: fn, Review: review, Warnings: warnings}
		return nil
	})
	return res, created, renamed, err
}

// recordWarning tells the uploader of a wheel published although its
// RECORD disagrees with it, as PyPI does (by email there).
func recordWarning(fn, problem string) string {
	return fmt.Sprintf("Warning: wheel '%s' has a RECORD that does not match its contents: %s. "+
		"Installers that verify RECORD may refuse it; rebuild the wheel with an up-to-date build backend.", fn, problem)
}

// upload is what the database checks need to know of an upload.
type upload struct {
	p          *Principal
	name       string
	normalized string
	version    pep.Version
	filetype   string
	in         *Incoming
	key        string // pep.FilenameKey of the filename
	// recordProblem is how a wheel's RECORD disagrees with it, "" if it
	// does not: published with a warning and an audit event.
	recordProblem string
	// verdict is what the upstreams make of the name, when the upload
	// creates the project.
	verdict upstreamVerdict
	// releaseExists is whether check, the last time it ran, found the
	// upload's release.
	releaseExists bool
	// noFiles is set when check found no file with the upload's name,
	// canonical key or digests: checks in the transaction then leave a
	// file arriving meanwhile to the unique constraints of files and
	// file_registry, whose violation runs the transaction again with
	// noFiles unset (Upload's retry loop). It keeps two reads out of the
	// write lock.
	noFiles bool
}

// reader is the read side of the store, on the database or in a transaction.
type reader interface {
	nameChecker
	GateQuerier
	ProjectByName(ctx context.Context, normalized string) (*store.Project, error)
	RoleOf(ctx context.Context, projectID, userID int64) (string, error)
	PublisherLinked(ctx context.Context, publisherID, projectID int64) (bool, error)
	FileByFilename(ctx context.Context, filename string) (*store.File, error)
	FileByDigest(ctx context.Context, sha256, blake2 string) (*store.File, error)
	UsedFilename(ctx context.Context, filename, key string) (string, error)
	ReleaseCreated(ctx context.Context, projectID int64, canonical string) (int64, time.Time, error)
	CountSdists(ctx context.Context, releaseID int64) (int, error)
}

// check runs every database rule of an upload. It returns the project
// (nil when the upload would create it), or a result when the upload is
// an identical retry, or the refusal.
func (s *Service) check(ctx context.Context, q reader, u *upload) (*store.Project, *UploadResult, error) {
	fn := u.in.Filename
	u.releaseExists = false
	proj, err := q.ProjectByName(ctx, u.normalized)
	switch {
	case errors.Is(err, store.ErrNotFound):
		proj = nil
		if u.p.Token != nil && u.p.Token.Scoped {
			return nil, nil, errScopedNewProject(u.name)
		}
		if err := s.CheckNewName(ctx, q, u.name); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	default:
		if err := s.canUpload(ctx, q, u.p, proj); err != nil {
			return nil, nil, s.hideUploadRefusal(ctx, q, u.p, u.name, proj, err)
		}
	}
	if !u.noFiles {
		if retry, err := s.checkFiles(ctx, q, u); err != nil {
			return nil, nil, err
		} else if retry != nil {
			return proj, retry, nil
		}
	}
	if proj == nil {
		return nil, nil, nil
	}
	// The rules below come after the file probes: when the transaction
	// skipped them (noFiles), a file that arrived since the first pass
	// answers before these refusals do, as it would have there (an
	// identical retry of an sdist, say, is not a second sdist).
	refuse := func(refusal error) (*store.Project, *UploadResult, error) {
		if u.noFiles {
			if retry, err := s.checkFiles(ctx, q, u); err != nil {
				return nil, nil, err
			} else if retry != nil {
				return proj, retry, nil
			}
		}
		return nil, nil, refusal
	}
	if proj.TotalSize+u.in.Size > s.cfg.MaxProjectSize {
		return refuse(s.projectTooLarge(proj))
	}
	relID, created, err := q.ReleaseCreated(ctx, proj.ID, u.version.Canonical())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return proj, nil, nil // the upload creates the release
	case err != nil:
		return nil, nil, err
	}
	u.releaseExists = true
	// After the duplicate checks, as on PyPI: re-uploading a file that
	// is there (twine --skip-existing) still succeeds.
	if w := s.cfg.ReleaseUploadWindow; w > 0 && created.Before(s.now().Add(-w)) {
		s.log.InfoContext(ctx, "upload refused", "reason", "closed-release", "project", proj.Name, "version", u.version.String(),
			"filename", fn, "user", u.p.Name(), "release_created", created)
		return refuse(s.releaseClosed())
	}
	if u.filetype == "sdist" {
		if n, err := q.CountSdists(ctx, relID); err != nil {
			return nil, nil, err
		} else if n > 0 {
			return refuse(problem.Errorf(problem.Invalid, "Only one sdist may be uploaded per release."))
		}
	}
	return proj, nil, nil
}

// checkFiles refuses an upload whose filename, canonical key or digests
// a file has (or had) taken, unless it is an identical retry, for which it
// returns the result.
func (s *Service) checkFiles(ctx context.Context, q reader, u *upload) (*UploadResult, error) {
	fn := u.in.Filename
	// The registry is read before the files: a file row and its registry
	// row commit together, so under READ COMMITTED (PostgreSQL) a
	// concurrent upload that committed between two of these statements is
	// seen whole by the later one, and never mistaken for a deletion.
	identical := func(f *store.File) bool {
		return f.Filename == fn && f.SHA256 == u.in.SHA256 && f.Blake2_256 == u.in.Blake2_256
	}
	retry := &UploadResult{Project: u.name, Version: u.version.String(), Filename: fn, Existing: true}
	// The filename, or a spelling of it (its canonical key), was used.
	if used, err := q.UsedFilename(ctx, fn, u.key); err == nil {
		f, err := q.FileByFilename(ctx, used)
		switch {
		case errors.Is(err, store.ErrNotFound) && used == fn:
			return nil, problem.Errorf(problem.Invalid, "This filename was previously used by a file that has since been deleted. Use a different version. See %s for more information.", s.helpURL("file-name-reuse"))
		case errors.Is(err, store.ErrNotFound):
			return nil, problem.Errorf(problem.Invalid, "This filename has already been used, as '%s', by a file that has since been deleted. Use a different version. See %s for more information.", used, s.helpURL("file-name-reuse"))
		case err != nil:
			return nil, err
		case identical(f):
			return retry, nil
		case used != fn && u.filetype == "sdist":
			return nil, problem.Errorf(problem.Invalid, "Only one sdist may be uploaded per release.")
		}
		return nil, s.fileExists(fn, u.in.Blake2_256)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if f, err := q.FileByDigest(ctx, u.in.SHA256, u.in.Blake2_256); err == nil {
		if identical(f) {
			return retry, nil
		}
		return nil, s.fileExists(fn, u.in.Blake2_256)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// releaseClosed refuses a new file to a release created longer ago than
// the upload window, with PyPI's message when the window is in days.
func (s *Service) releaseClosed() error {
	w := s.cfg.ReleaseUploadWindow
	var age string
	switch day := 24 * time.Hour; {
	case w == day:
		age = "1 day"
	case w%day == 0:
		age = fmt.Sprintf("%d days", w/day)
	case w == time.Hour:
		age = "1 hour"
	case w%time.Hour == 0:
		age = fmt.Sprintf("%d hours", w/time.Hour)
	default:
		age = w.String()
	}
	return problem.Errorf(problem.Invalid, "Uploading new files to releases older than %s is not allowed. Upload the files with a new version (a post-release, for instance) instead.", age)
}

// projectTooLarge refuses an upload past the project's size limit (its
// files and the metadata its releases store).
func (s *Service) projectTooLarge(proj *store.Project) error {
	return problem.Errorf(problem.Invalid, "Project size too large. Limit for project '%s' total size is %d GB. See %s for more information.",
		proj.Name, s.cfg.MaxProjectSize>>30, s.helpURL("project-size-limit"))
}

func (s *Service) fileExists(fn, blake2 string) error {
	return problem.Errorf(problem.Invalid, "File already exists ('%s', with blake2_256 hash '%s'). See %s for more information.", fn, blake2, s.helpURL("file-name-reuse"))
}

// createProject creates a project, which check allowed, with the uploader
// as its Owner.
func (s *Service) createProject(ctx context.Context, tx *store.Tx, p *Principal, name, normalized string) (*store.Project, error) {
	now := s.now()
	proj := &store.Project{Name: name, NormalizedName: normalized, UltraName: pep.UltraNormalizeName(name), CreatedAt: now}
	if err := tx.CreateProject(ctx, proj); err != nil {
		return nil, err
	}
	if err := tx.AddRole(ctx, proj.ID, p.User.ID, store.RoleOwner, now); err != nil {
		return nil, err
	}
	if _, err := tx.AddJournal(ctx, proj.ID, normalized, store.ActionCreateProject, now); err != nil {
		return nil, err
	}
	return proj, nil
}

// hideUploadRefusal returns the refusal of u by canUpload, unless proj is
// private and u's principal may not read it: then the refusal of a name
// it may not take, for the name as given, so that the answer never
// spells the project's own name; a scoped token (a trusted publisher's
// too) gets exactly what a name that does not exist gets. (Any other
// uploader learns that the name is taken: docs/SECURITY.md.)
func (s *Service) hideUploadRefusal(ctx context.Context, q uploaderReader, p *Principal, name string, proj *store.Project, refusal error) error {
	if !proj.Private() || problem.KindOf(refusal) != problem.Forbidden {
		return refusal
	}
	if p.Publisher() {
		if linked, err := q.PublisherLinked(ctx, p.Token.PublisherID, proj.ID); err != nil {
			return fmt.Errorf("index: publisher: %w", err)
		} else if linked {
			return refusal
		}
	} else if err := s.unhide(ctx, q, p, proj, name); err == nil {
		return refusal
	} else if problem.KindOf(err) != problem.NotFound {
		return err
	}
	if p.Token != nil && p.Token.Scoped {
		return errScopedNewProject(name)
	}
	return problem.Errorf(problem.Forbidden, "The user '%s' isn't allowed to upload to project '%s'. See %s for more information.",
		p.User.Username, name, s.helpURL("project-name"))
}

// uploaderReader reads who may upload to a project.
type uploaderReader interface {
	roleReader
	PublisherLinked(ctx context.Context, publisherID, projectID int64) (bool, error)
}

// errScopedNewProject refuses a scoped token the creation of a project.
func errScopedNewProject(name string) error {
	return problem.Errorf(problem.Forbidden, "The given token isn't allowed to upload to project '%s': a token scoped to projects cannot create new ones. Use a token for all your projects.", name)
}

// nameChecker is the part of the store CheckNewName needs.
type nameChecker interface {
	IsProhibited(ctx context.Context, ultra string) (bool, error)
	ProjectByUltraName(ctx context.Context, ultra string) (*store.Project, error)
}

// CheckNewName says whether a new project may take the name: it must be
// valid, not prohibited (nor look like a prohibited name once both are
// ultranormalized: a deleted project's name, or an administrator's), not a
// standard-library module, and not collide with an existing project once
// ultranormalized.
func (s *Service) CheckNewName(ctx context.Context, q nameChecker, name string) error {
	if len(name) > MaxNameLength || !pep.ValidProjectName(name) {
		return problem.Errorf(problem.Invalid, "The name '%s' is invalid. See %s for more information.", truncate(name, MaxNameLength), s.helpURL("project-name"))
	}
	normalized := pep.NormalizeName(name)
	if bad, err := q.IsProhibited(ctx, pep.UltraNormalizeName(name)); err != nil {
		return err
	} else if bad {
		return problem.Errorf(problem.Invalid, "The name '%s' isn't allowed. See %s for more information.", name, s.helpURL("project-name"))
	}
	if pep.IsStdlibModule(name) {
		return problem.Errorf(problem.Invalid, "The name '%s' isn't allowed (conflict with Python Standard Library module name). See %s for more information.", name, s.helpURL("project-name"))
	}
	if other, err := q.ProjectByUltraName(ctx, pep.UltraNormalizeName(name)); err == nil {
		if other.NormalizedName != normalized {
			if other.Visibility == VisibilityPrivate { // its name is not for every uploader to learn
				return problem.Errorf(problem.Invalid, "The name '%s' is too similar to an existing project. See %s for more information.", name, s.helpURL("project-name"))
			}
			return problem.Errorf(problem.Invalid, "The name '%s' is too similar to an existing project ('%s'). See %s for more information.", name, other.Name, s.helpURL("project-name"))
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// descriptionRefused is PyPI's refusal of a description that fails to
// render (reStructuredText on which docutils warns), with the reason.
func (s *Service) descriptionRefused(contentType string, err error) error {
	what := "in the default format of reStructuredText"
	if contentType != "" {
		what = fmt.Sprintf("for '%s'", contentType)
	}
	detail := strings.TrimRight(strings.Join(strings.Fields(err.Error()), " "), ":.")
	if len(detail) > 200 { // a name in it can be as long as a line
		cut := 200
		for cut > 0 && !utf8.RuneStart(detail[cut]) {
			cut--
		}
		detail = detail[:cut] + "…"
	}
	return problem.Errorf(problem.Invalid, "The description failed to render %s. See %s for more information. The renderer stopped at %s.",
		what, s.helpURL("description-content-type"), detail)
}

// commitBlobs commits an incoming file's blob and, for a wheel, the blob
// of its METADATA served for PEP 658, whose digest it returns. The two are
// written at once: each commit waits for the disk (its syncs), not for the
// CPU.
func (s *Service) commitBlobs(ctx context.Context, in *Incoming, filetype string, metaBytes []byte) (metaSHA string, err error) {
	var (
		metaErr error
		wg      sync.WaitGroup
		blobs   = s.blobs // read here, not in the goroutine (tests swap it during Commit)
	)
	if filetype == "bdist_wheel" {
		wg.Go(func() { metaSHA, metaErr = blob.PutBytes(ctx, blobs, metaBytes) })
	}
	err = in.staged.Commit(ctx, in.SHA256)
	wg.Wait()
	if metaErr != nil {
		return "", fmt.Errorf("index: store metadata: %w", metaErr)
	}
	if err != nil {
		return "", fmt.Errorf("index: store file: %w", err)
	}
	return metaSHA, nil
}
