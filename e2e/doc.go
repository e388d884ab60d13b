// Package e2e holds cheeseshop's end-to-end tests: they build the real
// binary, start `cheeseshop serve` on free ports, and drive the clients
// Python developers use (Debian's twine and pip, in fresh virtual
// environments) and plain HTTP clients against it, on SQLite and on
// PostgreSQL. It also kills a server in the middle of a large upload and
// checks that a restart leaves nothing behind.
//
// The tests need Debian's twine, python3-venv, python3-build,
// python3-setuptools and python3-wheel (`make test` installs them with
// scripts/deps.sh). Without them a test is skipped, except under CI=true,
// where it fails.
//
// A run leaves nothing in the system's temporary folder: every test and
// every program it starts writes its temporary files under one folder of
// the run (TMPDIR, internal/testtemp), and the run fails if anything is
// left there when the tests end.
//
// Run: CHEESESHOP_TEST_POSTGRES=postgres://... go test ./e2e/ -v
package e2e
