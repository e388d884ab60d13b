#!/usr/bin/env bash
# test.sh runs every test of cheeseshop on a fresh machine: it installs the
# Debian packages the tests drive (the upload and install clients twine, flit,
# poetry, pdm, pipenv, pipx and pip/venv; python3-build, PostgreSQL, aiosmtpd,
# Chromium, nginx),
# starts a throwaway PostgreSQL server and an S3 server (versitygw, built once
# into ~/.cache/cheeseshop/tools by scripts/s3.sh) shared by the whole run,
# and runs `go vet` and `go test` over every package.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "test.sh: Go is not installed (need Go 1.26)" >&2; exit 1; }

scripts/deps.sh make twine flit python3-poetry python3-pdm pipenv pipx python3-venv python3-build \
  python3-packaging python3-wheel python3-setuptools python3-pip-whl python3-setuptools-whl \
  python3-wheel-whl python3-hatchling python3-poetry-core python3-pdm-pep517 \
  postgresql python3-aiosmtpd chromium oathtool curl nginx-light zstd gzip

unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "test.sh: these files need gofmt:" >&2; echo "$unformatted" >&2; exit 1
fi
go vet ./...
go vet -tags cheeseshop_testclock ./cmd/cheeseshop

pgdir=$(mktemp -d /tmp/cheeseshop-pg.XXXXXX)
s3dir=$(mktemp -d /tmp/cheeseshop-s3.XXXXXX)
cleanup() {
  scripts/pg.sh stop "$pgdir" || true; rm -rf "$pgdir"
  scripts/s3.sh stop "$s3dir" || true; rm -rf "$s3dir"
}
trap cleanup EXIT
CHEESESHOP_TEST_POSTGRES=$(scripts/pg.sh start "$pgdir")
export CHEESESHOP_TEST_POSTGRES
echo "test.sh: PostgreSQL at $CHEESESHOP_TEST_POSTGRES" >&2

# An S3 server (versitygw on a folder) shared by the run, and its binary for
# tests that start a private one to stop or to fill.
CHEESESHOP_TEST_VERSITYGW=$(scripts/s3.sh install)
start_s3() {
  local line S3_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  line=$(scripts/s3.sh start "$s3dir")
  eval "$line"
  CHEESESHOP_TEST_S3=$S3_URL
  CHEESESHOP_TEST_S3_CREDENTIALS=$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY
}
start_s3
export CHEESESHOP_TEST_S3 CHEESESHOP_TEST_S3_CREDENTIALS CHEESESHOP_TEST_VERSITYGW
echo "test.sh: S3 at $CHEESESHOP_TEST_S3" >&2

# Screenshots of the browser tests are kept here.
export CHEESESHOP_ARTIFACTS="$PWD/artifacts"
mkdir -p "$CHEESESHOP_ARTIFACTS"

# Tests that need a tool fail (never skip) when CI=true.
go test -count=1 -timeout 30m "$@" ./...
# The clock that e2e moves exists only in binaries built with this tag.
go test -count=1 -tags cheeseshop_testclock -run TestServerClock ./cmd/cheeseshop

# The packages with concurrent code paths, again under the race detector.
go test -race -count=1 -timeout 20m ./internal/index ./internal/web ./internal/blob ./internal/store
