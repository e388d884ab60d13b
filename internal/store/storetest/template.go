package storetest

import (
	"database/sql"
	"fmt"
	"os"
)

// DropTemplate drops the migrated template database that Open made on the
// PostgreSQL server in this test process, if it made one. A package's
// TestMain calls it once its tests are done, so that test runs do not
// pile templates up on a server that outlives them.
func DropTemplate() error {
	if postgresName == "" {
		return nil
	}
	admin, err := sql.Open("pgx", os.Getenv(EnvPostgres))
	if err != nil {
		return fmt.Errorf("storetest: drop template: %w", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + postgresName + ` WITH (FORCE)`); err != nil {
		return fmt.Errorf("storetest: drop template %s: %w", postgresName, err)
	}
	return nil
}
