package index

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// ProjectView is everything published about a project.
type ProjectView struct {
	Project       *store.Project
	Releases      []*ReleaseView // oldest first, in PEP 440 order
	Files         []*FileView    // by release, then filename
	Collaborators []store.Collaborator
}

// ReleaseView is a release with its parsed version and files.
type ReleaseView struct {
	*store.Release
	Parsed pep.Version
	Files  []*FileView
	// Withheld is how many files of the release a quarantine keeps from
	// being served (they stay in the database, for evidence).
	Withheld int
}

// FileView is a file with its public URL.
type FileView struct {
	*store.File
	Release *ReleaseView
	URL     string
	// Publisher is the trusted publisher that uploaded the file, nil
	// when a user did.
	Publisher *FilePublisher
}

// MetadataURL is where the file's core metadata (PEP 658) is served.
func (f *FileView) MetadataURL() string { return f.URL + ".metadata" }

// FileURL returns the public URL of a file.
func (s *Service) FileURL(sha256, filename string) string {
	return s.cfg.BaseURL + "/files/" + sha256 + "/" + url.PathEscape(filename)
}

// LoadProject reads a project's published view from the database. A
// project held for review (a look-alike name) is not published: it
// returns store.ErrNotFound, as for a project that does not exist.
func (s *Service) LoadProject(ctx context.Context, normalized string) (*ProjectView, error) {
	return s.loadProject(ctx, normalized, false)
}

// loadProject reads a project's view, held for review or not when
// withHeld (its collaborators' management pages).
func (s *Service) loadProject(ctx context.Context, normalized string, withHeld bool) (*ProjectView, error) {
	proj, err := s.store.ProjectByName(ctx, normalized)
	if err != nil {
		return nil, err
	}
	if !withHeld {
		if held, err := s.store.IsHeld(ctx, proj.ID); err != nil {
			return nil, err
		} else if held {
			return nil, fmt.Errorf("index: project %s is held for review: %w", normalized, store.ErrNotFound)
		}
	}
	rels, err := s.store.ListReleases(ctx, proj.ID)
	if err != nil {
		return nil, err
	}
	files, err := s.store.ListFiles(ctx, proj.ID)
	if err != nil {
		return nil, err
	}
	collabs, err := s.store.Collaborators(ctx, proj.ID)
	if err != nil {
		return nil, err
	}
	v := &ProjectView{Project: proj, Collaborators: collabs}
	byID := make(map[int64]*ReleaseView, len(rels))
	for _, r := range rels {
		pv, err := pep.ParseVersion(r.Version)
		if err != nil {
			return nil, fmt.Errorf("index: release %d of %s has an invalid version %q: %w", r.ID, normalized, r.Version, err)
		}
		rv := &ReleaseView{Release: r, Parsed: pv}
		byID[r.ID] = rv
		v.Releases = append(v.Releases, rv)
	}
	slices.SortFunc(v.Releases, func(a, b *ReleaseView) int { return a.Parsed.Compare(b.Parsed) })
	for _, f := range files {
		rv := byID[f.ReleaseID]
		if rv == nil {
			continue
		}
		rv.Files = append(rv.Files, &FileView{File: f, Release: rv, URL: s.FileURL(f.SHA256, f.Filename),
			Publisher: filePublisher(f)})
	}
	for _, rv := range v.Releases {
		slices.SortFunc(rv.Files, func(a, b *FileView) int { return strings.Compare(a.Filename, b.Filename) })
		v.Files = append(v.Files, rv.Files...)
	}
	if !servesFiles(proj) {
		v.withholdFiles()
	}
	return v, nil
}

// withholdFiles takes every file out of the view: what a quarantined
// project publishes. The releases stay, each with the count it withholds.
func (v *ProjectView) withholdFiles() {
	for _, rv := range v.Releases {
		rv.Withheld, rv.Files = len(rv.Files), nil
	}
	v.Files = nil
}

// ReleaseMetadata reads the core metadata of a release. The views do not
// hold it (a project's page lists every release, and shows the metadata
// of one): a page reads the one it shows, at most MaxMetadataBytes.
func (s *Service) ReleaseMetadata(ctx context.Context, releaseID int64) (*pep.Metadata, error) {
	b, err := s.store.ReleaseMetadataJSON(ctx, releaseID)
	if err != nil {
		return nil, err
	}
	var m pep.Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("index: metadata of release %d: %w", releaseID, err)
	}
	return &m, nil
}

// Latest returns the release the JSON API shows by default: the highest
// non-yanked final release, else the highest non-yanked one, else the
// highest; nil when the project has no release.
func (v *ProjectView) Latest() *ReleaseView {
	var best [3]*ReleaseView
	for _, r := range v.Releases {
		if len(r.Files) == 0 && r.Withheld == 0 {
			continue
		}
		if !r.Yanked && !r.IsPrerelease {
			best[0] = r
		}
		if !r.Yanked {
			best[1] = r
		}
		best[2] = r
	}
	for _, r := range best {
		if r != nil {
			return r
		}
	}
	return nil
}

// Status is the project's status (PEP 792), active when it never had
// another.
func (v *ProjectView) Status() string {
	status, _ := publishedStatus(v.Project)
	return status
}

// Release finds a release by any spelling of its version.
func (v *ProjectView) Release(version string) *ReleaseView {
	pv, err := pep.ParseVersion(version)
	if err != nil {
		return nil
	}
	for _, r := range v.Releases {
		if r.Parsed.Compare(pv) == 0 {
			return r
		}
	}
	return nil
}

// File returns a published file by name.
func (s *Service) File(ctx context.Context, filename string) (*FileEntry, error) {
	return s.cache.File(ctx, filename)
}

// Descriptions is where the renderings of release descriptions are kept
// (readme.Store, by release id): in the release rows, each with the
// version of the renderer that made it. Releases uploaded since
// renderings are stored have theirs from the upload; older ones, and those
// rendered by an older renderer, get theirs at their first view.
func (s *Service) Descriptions() *Descriptions { return &Descriptions{st: s.store} }

// Descriptions reads and stores renderings of release descriptions.
type Descriptions struct{ st *store.Store }

// Load returns the stored rendering of a release's description and the
// version of the renderer that made it.
func (d *Descriptions) Load(ctx context.Context, releaseID int64) (string, int, bool, error) {
	return d.st.ReleaseDescriptionHTML(ctx, releaseID)
}

// Save stores the rendering of a release's description made by version
// (not over one of that version or newer).
func (d *Descriptions) Save(ctx context.Context, releaseID int64, html string, version int) error {
	return d.st.SetReleaseDescriptionHTML(ctx, releaseID, html, version)
}
