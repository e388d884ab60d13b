package web_test

import (
	"fmt"
	"os"
	"testing"

	"cheeseshop/internal/store/storetest"
	"cheeseshop/internal/testtemp"
)

// TestMain runs the tests with a temporary folder of their own, and fails
// the run if they leave anything in it (testtemp.Run); it drops the
// template database they copied on PostgreSQL.
func TestMain(m *testing.M) {
	os.Exit(testtemp.Run("cheeseshop-webtest-", os.Stderr, func() int {
		code := m.Run()
		if err := storetest.DropTemplate(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
		return code
	}))
}
