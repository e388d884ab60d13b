package importer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cheeseshop/internal/pep"
)

// Folder is a folder of distributions in the pypiserver layout: flat (every
// file in the folder) or one sub-folder per project (any spelling of its
// name), or both. The upload time of a file is its modification time.
type Folder struct {
	root string
	// projects maps a normalized project name to its display name and
	// files.
	projects map[string]*folderProject
	// ignored are the files that are not distributions, relative to root.
	ignored []string
}

type folderProject struct {
	name  string
	files []File
}

// OpenFolder reads the folder's listing (one level of sub-folders).
func OpenFolder(root string) (*Folder, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("import: folder %s: %w", root, err)
	}
	f := &Folder{root: root, projects: map[string]*folderProject{}}
	for _, e := range entries {
		if e.IsDir() {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			sub, err := os.ReadDir(filepath.Join(root, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("import: folder %s: %w", root, err)
			}
			for _, s := range sub {
				if s.Type().IsRegular() {
					if err := f.add(filepath.Join(e.Name(), s.Name()), s, e.Name()); err != nil {
						return nil, err
					}
				}
			}
			continue
		}
		if e.Type().IsRegular() {
			if err := f.add(e.Name(), e, ""); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// add lists one file; project is its sub-folder's name, "" at the top.
func (f *Folder) add(rel string, e os.DirEntry, project string) error {
	name := e.Name()
	if strings.HasPrefix(name, ".") {
		return nil
	}
	group := project
	if IsDistribution(name) && group == "" {
		group = nameOf(name)
	}
	if !IsDistribution(name) || group == "" {
		f.ignored = append(f.ignored, rel)
		return nil
	}
	info, err := e.Info()
	if err != nil {
		return fmt.Errorf("import: folder %s: %w", f.root, err)
	}
	key := pep.NormalizeName(group)
	p := f.projects[key]
	if p == nil {
		p = &folderProject{name: group}
		f.projects[key] = p
	}
	p.files = append(p.files, File{Filename: name, Project: project, UploadTime: info.ModTime().UTC(), loc: rel})
	return nil
}

// String implements Source.
func (f *Folder) String() string { return f.root }

// Projects implements Source.
func (f *Folder) Projects(context.Context) ([]string, error) {
	names := make([]string, 0, len(f.projects))
	for _, p := range f.projects {
		names = append(names, p.name)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(pep.NormalizeName(a), pep.NormalizeName(b)) })
	return names, nil
}

// Files implements Source.
func (f *Folder) Files(_ context.Context, project string) ([]File, error) {
	if p := f.projects[pep.NormalizeName(project)]; p != nil {
		return p.files, nil
	}
	return nil, nil
}

// Open implements Source: the file, within the folder even if a
// sub-folder or the file was swapped for a symbolic link to elsewhere
// since the listing.
func (f *Folder) Open(_ context.Context, file File) (io.ReadCloser, error) {
	root, err := os.OpenRoot(f.root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Open(file.loc)
}

// Ignored lists the folder's files that are not distributions (relative
// to it), which an import reports and skips.
func (f *Folder) Ignored() []string { return f.ignored }
