package index

import (
	"context"
	"fmt"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
)

// backfillBatch is how many used filenames one transaction of
// BackfillFilenameKeys keys.
const backfillBatch = 500

// BackfillFilenameKeys gives every used filename registered before
// canonical keys existed (migration 00012) its key, pep.FilenameKey, so
// that spellings of names burned before then are refused as well. It runs
// when the database is opened, before the server answers; it is
// idempotent, and replicas running it at once only share the work. It
// returns how many filenames it keyed.
func BackfillFilenameKeys(ctx context.Context, st *store.Store) (int, error) {
	total := 0
	for conflicts := 0; ; {
		names, err := st.FilenamesWithoutKey(ctx, backfillBatch)
		if err != nil {
			return total, fmt.Errorf("index: backfill filename keys: %w", err)
		}
		if len(names) == 0 {
			return total, nil
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			for _, fn := range names {
				if err := tx.SetFilenameKey(ctx, fn, pep.FilenameKey(fn)); err != nil {
					return err
				}
			}
			return nil
		})
		if store.IsUniqueViolation(err) && conflicts < 10 {
			// Another replica keyed a spelling of one of these names
			// meanwhile: the next pass sees it and gives this one an alias.
			conflicts++
			continue
		}
		if err != nil {
			return total, fmt.Errorf("index: backfill filename keys: %w", err)
		}
		total += len(names)
	}
}
