package index

import (
	"context"
	"strings"
	"testing"

	"cheeseshop/internal/disttest"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestBackfillFilenameKeys: a filename burned before canonical keys
// existed gets its key when the database is opened, so that its spellings
// are refused too; the backfill is idempotent.
func TestBackfillFilenameKeys(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		alice := f.user("alice")
		orig := disttest.Dist{Name: "demo", Version: "1.0"}
		f.mustWheel(alice, orig)
		if err := f.svc.DeleteFile(ctx, alice, orig.WheelFilename()); err != nil {
			t.Fatal(err)
		}
		// As if registered before migration 00012, with two spellings
		// of another release burned then.
		db := f.st.DB()
		if _, err := db.ExecContext(ctx, `UPDATE file_registry SET canonical_key = NULL`); err != nil {
			t.Fatal(err)
		}
		for _, fn := range []string{"demo-2.0-py3-none-any.whl", "Demo-2.0.0-py3-none-any.whl"} {
			if _, err := db.ExecContext(ctx, `INSERT INTO file_registry (filename, created_at) VALUES ($1, 0)`, fn); err != nil {
				t.Fatal(err)
			}
		}
		variant := disttest.Dist{Name: "demo", Version: "1.0.0", Summary: "other"}
		if used, err := f.st.UsedFilename(ctx, variant.WheelFilename(), pep.FilenameKey(variant.WheelFilename())); err == nil {
			t.Fatalf("without keys, %s is found as %s", variant.WheelFilename(), used)
		}
		n, err := BackfillFilenameKeys(ctx, f.st)
		if err != nil || n != 3 {
			t.Fatalf("BackfillFilenameKeys = %d, %v; want 3", n, err)
		}
		if n, err := BackfillFilenameKeys(ctx, f.st); err != nil || n != 0 {
			t.Fatalf("second BackfillFilenameKeys = %d, %v; want 0", n, err)
		}
		for _, dist := range []disttest.Dist{variant, {Name: "demo", Version: "2.00", Summary: "other"}} {
			_, err := f.uploadWheel(alice, dist)
			if err == nil || !strings.Contains(err.Error(), "This filename has already been used") {
				t.Errorf("%s after the backfill: %v", dist.WheelFilename(), err)
			}
		}
		var keys int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM file_registry WHERE canonical_key LIKE 'alias:%'`).Scan(&keys); err != nil || keys != 1 {
			t.Errorf("aliases = %d, %v; want 1", keys, err)
		}
	})
}
