package store

import (
	"context"
	"fmt"
	"time"
)

// DownloadImport records an access log imported.
type DownloadImport struct {
	ID   int64
	Name string
	// HeadSHA256 is the SHA-256 of the log's first line; SHA256 that of
	// its first Size bytes, all of them imported.
	HeadSHA256, SHA256 string
	Size               int64
	// Lines read, Counted as downloads, Bad (unreadable), Ignored (not a
	// successful download of a known file).
	Lines, Counted, Bad, Ignored int64
	ImportedAt                   time.Time
}

// DownloadImportsByHead returns the imports of logs that start with the
// line whose SHA-256 is head, largest first.
func (q q) DownloadImportsByHead(ctx context.Context, head string) ([]*DownloadImport, error) {
	return queryAll(ctx, q.db, "download imports", func(row scanner) (*DownloadImport, error) {
		var d DownloadImport
		var at int64
		err := row.Scan(&d.ID, &d.Name, &d.HeadSHA256, &d.SHA256, &d.Size, &d.Lines, &d.Counted, &d.Bad, &d.Ignored, &at)
		d.ImportedAt = fromMicros(at)
		return &d, err
	}, `SELECT id, name, head_sha256, sha256, size, lines, counted, bad, ignored, imported_at
		FROM download_imports WHERE head_sha256 = $1 ORDER BY size DESC, id`, head)
}

// AddDownloadImport records an import.
func (q q) AddDownloadImport(ctx context.Context, d *DownloadImport) error {
	id, err := q.insertID(ctx, `INSERT INTO download_imports (name, head_sha256, sha256, size, lines, counted, bad, ignored, imported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.Name, d.HeadSHA256, d.SHA256, d.Size, d.Lines, d.Counted, d.Bad, d.Ignored, micros(d.ImportedAt))
	if err != nil {
		return fmt.Errorf("store: record download import: %w", err)
	}
	d.ID = id
	return nil
}
