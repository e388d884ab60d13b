#!/usr/bin/env bash
# s3.sh install     — builds versitygw (an S3 server on a local folder) into
#                     the tools cache, unless it is there already, and
#                     prints the binary's path.
# s3.sh start DIR   — starts a throwaway versitygw on a free loopback port,
#                     serving the folder DIR/root with one bucket, cheeseshop,
#                     under a random key and secret, and prints one line to
#                     eval: S3_URL='s3://cheeseshop?...' AWS_ACCESS_KEY_ID='...'
#                     AWS_SECRET_ACCESS_KEY='...'
# s3.sh stop DIR    — stops it.
# The cache is ${CHEESESHOP_TOOLS:-$HOME/.cache/cheeseshop/tools}; the first
# install on a machine builds versitygw with `go install` (about 90 s).
set -euo pipefail

version=v1.8.0
tools=${CHEESESHOP_TOOLS:-$HOME/.cache/cheeseshop/tools}
bin=$tools/versitygw-$version

usage() { echo "usage: s3.sh install | start DIR | stop DIR" >&2; exit 2; }

case "${1:-}" in
install)
  [ -x "$bin" ] && { echo "$bin"; exit 0; }
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "s3.sh: Go is not installed" >&2; exit 1; }
  mkdir -p "$tools"
  gobin=$(mktemp -d "$tools/.build.XXXXXX")
  trap 'rm -rf "$gobin"' EXIT
  echo "s3.sh: building versitygw $version into $tools (once per machine)" >&2
  (cd "$gobin" && GOBIN="$gobin" GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$version")
  mv "$gobin/versitygw" "$bin"
  echo "$bin"
  ;;
start)
  dir=${2:?$(usage)}
  [ -x "$bin" ] || { echo "s3.sh: $bin is missing: run scripts/s3.sh install" >&2; exit 1; }
  mkdir -p "$dir/root/cheeseshop"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  key=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
  secret=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
  ROOT_ACCESS_KEY_ID=$key ROOT_SECRET_ACCESS_KEY=$secret \
    "$bin" --port "127.0.0.1:$port" --health /health --quiet posix "$dir/root" \
    </dev/null >"$dir/versitygw.log" 2>&1 &
  echo $! >"$dir/versitygw.pid"
  for _ in $(seq 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; then
      echo "S3_URL='s3://cheeseshop?endpoint=http://127.0.0.1:$port&region=us-east-1&lookup=path' AWS_ACCESS_KEY_ID='$key' AWS_SECRET_ACCESS_KEY='$secret'"
      exit 0
    fi
    kill -0 "$(cat "$dir/versitygw.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "s3.sh: versitygw did not become healthy within 15 s:" >&2
  cat "$dir/versitygw.log" >&2
  kill "$(cat "$dir/versitygw.pid")" 2>/dev/null || true
  exit 1
  ;;
stop)
  dir=${2:?$(usage)}
  [ -f "$dir/versitygw.pid" ] || exit 0
  pid=$(cat "$dir/versitygw.pid")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/versitygw.pid"
  ;;
*)
  usage ;;
esac
