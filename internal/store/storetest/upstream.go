package storetest

import (
	"context"
	"testing"
	"time"

	"cheeseshop/internal/store"
)

// ProxiedFile is a row of upstream_files that AddProxiedFile writes.
type ProxiedFile struct {
	Filename, SHA256 string
	// MetadataSHA256 is its advertised core metadata ("": none).
	MetadataSHA256 string
	// Stored and MetadataStored say that the proxy stored the file, its
	// metadata, in the blob store.
	Stored, MetadataStored bool
}

// AddProxiedFile writes a proxied project (normalized, found on an
// upstream; once) and one of its files, as the proxy does once it has
// read the project's page, directly in the database; it returns the
// project's upstream_projects id. It is for the tests of what reads,
// counts and collects proxied files, apart from the proxy itself.
func AddProxiedFile(t testing.TB, st *store.Store, project string, f ProxiedFile) int64 {
	t.Helper()
	ctx := context.Background()
	db := st.DB()
	now := time.Now().UnixMicro()
	if _, err := db.ExecContext(ctx, `INSERT INTO upstream_projects (normalized_name, name, upstream, found, checked_at, created_at)
		VALUES ($1, $1, 'https://upstream.test/simple/', TRUE, $2, $2) ON CONFLICT (normalized_name) DO NOTHING`, project, now); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM upstream_projects WHERE normalized_name = $1`, project).Scan(&id); err != nil {
		t.Fatal(err)
	}
	at := func(set bool) any {
		if set {
			return now
		}
		return nil
	}
	var meta any
	if f.MetadataSHA256 != "" {
		meta = f.MetadataSHA256
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO upstream_files (sha256, upstream_project_id, filename, url, version, metadata_sha256,
		first_seen_at, stored_at, metadata_stored_at) VALUES ($1, $2, $3, $4, '1.0', $5, $6, $7, $8)`,
		f.SHA256, id, f.Filename, "https://files.upstream.test/"+f.Filename, meta, now, at(f.Stored), at(f.MetadataStored)); err != nil {
		t.Fatal(err)
	}
	return id
}
