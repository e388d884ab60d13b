package web_test

import (
	"os"
	"testing"

	"cheeseshop/internal/testtemp"
)

// TestMain runs the tests with a temporary folder of their own, and fails
// the run if they leave anything in it (testtemp.Run).
func TestMain(m *testing.M) {
	os.Exit(testtemp.Run("cheeseshop-webtest-", os.Stderr, m.Run))
}
