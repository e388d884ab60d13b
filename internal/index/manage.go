package index

import (
	"context"
	"errors"
	"fmt"

	"cheeseshop/internal/store"
)

// requireOwner checks that p is an Owner of the project.
func requireOwner(ctx context.Context, tx *store.Tx, p *Principal, proj *store.Project) error {
	role, err := tx.RoleOf(ctx, proj.ID, p.User.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && role != store.RoleOwner) {
		return errorf(Forbidden, "Only an Owner of '%s' can do this.", proj.Name)
	}
	return err
}

// DeleteFile removes a file from its release. Only Owners may. The
// filename stays burned forever, so it can never be uploaded again. The
// blob is not deleted here, where a concurrent upload of the same bytes
// under a new name could be sharing it; it is unreachable without its row,
// and CollectBlobs removes it once no row references it.
func (s *Service) DeleteFile(ctx context.Context, p *Principal, filename string) error {
	var normalized string
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		f, err := tx.FileByFilename(ctx, filename)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(NotFound, "No file named '%s'.", filename)
		} else if err != nil {
			return err
		}
		proj, err := tx.ProjectByID(ctx, f.ProjectID)
		if err != nil {
			return err
		}
		if err := requireOwner(ctx, tx, p, proj); err != nil {
			return err
		}
		if err := tx.DeleteFile(ctx, f); err != nil {
			return err
		}
		normalized = proj.NormalizedName
		serial, err := tx.AddJournal(ctx, proj.ID, proj.NormalizedName, store.ActionRemoveFile, s.now())
		if err != nil {
			return err
		}
		return tx.UpdateProjectAfterUpload(ctx, proj.ID, proj.Name, 0, serial)
	})
	if err != nil {
		if KindOf(err) != 0 {
			return err
		}
		return fmt.Errorf("index: delete file %s: %w", filename, err)
	}
	s.cache.Invalidate(normalized, false)
	s.cache.forgetFiles()
	return nil
}
