#!/usr/bin/env bash
# bench-full.sh — the full-scale benchmark (docs/BENCHMARKS.md, "Full
# scale"), run by `make bench-full`.
#
# It fills an index with every name of the project list (886k), one real
# wheel each and download counts that follow the download rank, on SQLite
# and on PostgreSQL (`cheeseshop-bench fill-full`), and an index of the
# first 100 names the same way; then, against `cheeseshop serve` on each
# index, it measures with curl: start-up (process start to the first 200
# of /healthz, then of /simple/), RSS after start and after warm-up, time
# to first byte of /simple/ (plain, gzip and zstd), a project page (simple HTML and JSON, /pypi/
# JSON, /project/ HTML), a download, an upload, a search and the daily
# critical computation (admin critical compute --dry-run), and prints one
# table with the full/100 ratio of each.
#
# The filled indexes are kept in a cache folder and reused by the next run:
# BENCH_FULL_CACHE/<sha256 of the list>-schema<last migration>-fill<sha256
# of the fill's code>/ holds
# sqlite-<size>/ (database and files), pg/ (a PostgreSQL cluster, one
# database per size) and pg-<size>/ (files). A run with another list or
# schema fills anew; `rm -rf BENCH_FULL_CACHE` clears them all.
#
# Settings (environment):
#   BENCH_FULL_CACHE=/var/tmp/cheeseshop-bench-full   the cache folder
#   BENCH_FULL_DBS="sqlite postgres"   databases
#   BENCH_FULL_SIZES="100 all"         index sizes (all: every name)
#   BENCH_FULL_REPEAT=7                curl runs per measurement; the median counts
#   BENCH_FULL_QUERY="requests django py a cheeseshop zzqqzz django&page=50 python&page=500"
#                                      the search queries (common, short, rare,
#                                      none, deep pages; the first is warmed up
#                                      with the other endpoints)
#   BENCH_TSV=...                      project names (gzipped TSV)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
cache_root=${BENCH_FULL_CACHE:-/var/tmp/cheeseshop-bench-full}
dbs=${BENCH_FULL_DBS:-"sqlite postgres"}
sizes=${BENCH_FULL_SIZES:-"100 all"}
repeat=${BENCH_FULL_REPEAT:-7}
queries=${BENCH_FULL_QUERY:-"requests django py a cheeseshop zzqqzz django&page=50 python&page=500"}
query=${queries%% *}
tsv=${BENCH_TSV:-/work/shared/data/pypi-projects.tsv.gz}
[ -f "$tsv" ] || tsv=$here/data/pypi-projects.tsv.gz
[ -f "$tsv" ] || { echo "bench-full: no project names at $tsv (set BENCH_TSV)" >&2; exit 1; }
json='application/vnd.pypi.simple.v1+json'

scripts/deps.sh curl sqlite3
key=$(sha256sum "$tsv" | cut -c1-12)-schema$(ls internal/store/migrations/sqlite | sort | tail -n 1 | cut -c1-5)
key+=-fill$(cat cmd/cheeseshop-bench/fillfull.go internal/store/storetest/index.go | sha256sum | cut -c1-8)
cache=$cache_root/$key
mkdir -p "$cache"
chmod 755 "$cache_root" "$cache" # the PostgreSQL cluster runs as postgres
work=$(mktemp -d)
bin=$work/bin
server_pid="" pg_url=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  [ -z "$pg_url" ] || scripts/pg.sh stop "$cache/pg"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { printf '%s\n' "$*"; }

say "== building"
mkdir -p "$bin"
go build -o "$bin/cheeseshop" ./cmd/cheeseshop
go build -o "$bin/cheeseshop-bench" ./cmd/cheeseshop-bench
say "date:   $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
say "cpu:    $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
say "cache:  $cache"

# median X...: the median of numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
now() { date +%s.%N; }
rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# ttfb URL [CURL-ARG...]: the median time to first byte in ms of $repeat GETs
# (each on a new connection, as pip's first request is).
ttfb() {
  local u=$1 all=() t code
  shift
  for _ in $(seq "$repeat"); do
    read -r code t < <(curl -s -o /dev/null -w '%{http_code} %{time_starttransfer}\n' "$@" "$u")
    [ "$code" = 200 ] || { echo "bench-full: GET $u answered $code" >&2; echo "err"; return; }
    all+=("$(awk -v t="$t" 'BEGIN {printf "%.2f", t * 1000}')")
  done
  median "${all[@]}"
}

# fill DB SIZE DIR: fills the index once; a finished fill leaves DIR/filled.
fill() {
  local db=$1 size=$2 dir=$3 n=0 args=()
  [ "$size" = all ] || n=$size
  if [ -f "$dir/filled" ]; then
    say "-- $db, $size: reused $dir ($(tail -n 1 "$dir/filled"))"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$db" = postgres ]; then
    PGOPTIONS='-c client_min_messages=warning' psql -q "$pg_url" -c "DROP DATABASE IF EXISTS bench_$size" -c "CREATE DATABASE bench_$size" >/dev/null
    args=(--database "$(db_url "$db" "$size" "$dir")")
  fi
  say "-- $db, $size: filling $dir"
  "$bin/cheeseshop-bench" fill-full --data "$dir" --projects "$n" --tsv "$tsv" --names-out "$dir/names.txt" "${args[@]}" | tee "$dir/fill.out"
  mv "$dir/fill.out" "$dir/filled"
}

# db_url DB SIZE DIR: the database URL of an index.
db_url() {
  if [ "$1" = postgres ]; then
    echo "${pg_url/\/postgres\?//bench_$2?}"
  else
    echo "sqlite://$3/cheeseshop.db"
  fi
}

# window_started DB DBURL: prints 1 once the server has started the
# download window (download_window_state's days are a span, not empty).
window_started() {
  local q="SELECT CASE WHEN first_day <= last_day THEN 1 ELSE 0 END FROM download_window_state WHERE id = 1"
  if [ "$1" = postgres ]; then
    psql -qtAX "$2" -c "$q" 2>/dev/null || true
  else
    sqlite3 "file:${2#sqlite://}?mode=ro" "$q" 2>/dev/null || true
  fi
}

rows=() # "db|size|metric|value"
put() { rows+=("$1|$2|$3|$4"); }

# measure DB SIZE DIR: starts the server on the index and measures it.
measure() {
  local db=$1 size=$2 dir=$3 url port t0 t1 code dburl
  dburl=$(db_url "$db" "$size" "$dir")
  port=$("$bin/cheeseshop-bench" freeport)
  url=http://127.0.0.1:$port
  local out=$work/serve-$db-$size
  # Drop the file's pages from the page cache? No: the runs measure a warm
  # machine (the fill, or the last run, read them); the start-up is the
  # server's own work.
  t0=$(now)
  local start=$t0
  "$bin/cheeseshop" serve --data "$dir" --database "$dburl" --addr "127.0.0.1:$port" --no-access-log --log-level warn \
    >"$out.out" 2>"$out.err" &
  server_pid=$!
  # The server listens at once and builds the project list meanwhile: the
  # first GET of /simple/ waits for that build.
  local p
  for p in /healthz /simple/; do
    code=000
    while [ "$code" != 200 ]; do
      kill -0 "$server_pid" 2>/dev/null || { cat "$out.err" >&2; echo "bench-full: the server died" >&2; exit 1; }
      code=$(curl -s -o /dev/null -w '%{http_code}' "$url$p" || true)
      [ "$code" = 200 ] || sleep 0.02
    done
    t1=$(now)
    put "$db" "$size" "start-up to first 200 of $p (s)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
  done
  put "$db" "$size" "RSS after start (MiB)" "$(rss_mib "$server_pid")"

  local name file_path token
  name=$(sed -n "$(( ($(wc -l <"$dir/names.txt") + 1) / 2 ))p" "$dir/names.txt" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g')
  file_path=$(curl -sf -H "Accept: $json" "$url/simple/$name/" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d'"' -f4 | sed -E 's|^https?://[^/]*||')
  put "$db" "$size" "/simple/ HTML bytes" "$(curl -s "$url/simple/" | wc -c)"
  put "$db" "$size" "/simple/ HTML bytes, gzip" "$(curl -s -H 'Accept-Encoding: gzip' "$url/simple/" | wc -c)"
  put "$db" "$size" "/simple/ HTML bytes, zstd" "$(curl -s -H 'Accept-Encoding: zstd' "$url/simple/" | wc -c)"

  # Warm-up: every endpoint a few times.
  for _ in 1 2 3; do
    for p in /simple/ "/simple/$name/" "/pypi/$name/json" "/project/$name/" "$file_path" "/search/?q=$query"; do
      curl -s -o /dev/null "$url$p"
    done
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$url/simple/"
    curl -s -o /dev/null -H 'Accept-Encoding: zstd' "$url/simple/"
  done
  put "$db" "$size" "TTFB /simple/ (ms)" "$(ttfb "$url/simple/")"
  put "$db" "$size" "TTFB /simple/ gzip (ms)" "$(ttfb "$url/simple/" -H 'Accept-Encoding: gzip')"
  put "$db" "$size" "TTFB /simple/ zstd (ms)" "$(ttfb "$url/simple/" -H 'Accept-Encoding: zstd')"
  put "$db" "$size" "TTFB /simple/PROJECT/ HTML (ms)" "$(ttfb "$url/simple/$name/")"
  put "$db" "$size" "TTFB /simple/PROJECT/ JSON (ms)" "$(ttfb "$url/simple/$name/" -H "Accept: $json")"
  put "$db" "$size" "TTFB /pypi/PROJECT/json (ms)" "$(ttfb "$url/pypi/$name/json")"
  put "$db" "$size" "TTFB /project/PROJECT/ HTML (ms)" "$(ttfb "$url/project/$name/")"
  put "$db" "$size" "TTFB download (ms)" "$(ttfb "$url$file_path")"
  for q in $queries; do
    for _ in 1 2 3; do curl -s -o /dev/null "$url/search/?q=$q"; done
    put "$db" "$size" "TTFB /search/?q=$q (ms)" "$(ttfb "$url/search/?q=$q")"
  done
  put "$db" "$size" "RSS after warm-up (MiB)" "$(rss_mib "$server_pid")"

  token=$("$bin/cheeseshop" admin token create --data "$dir" --database "$dburl" --username bench-fill --name "bench-full-$(date +%s%N)")
  local up
  up=$("$bin/cheeseshop-bench" uploads --url "$url" --token "$token" --concurrency 1 --duration 3s | grep '^RESULT')
  put "$db" "$size" "upload p50 (ms, 1 uploader, 3 s)" "$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' <<<" $up")"
  # serve starts the download window of the critical computation in the
  # background (a sum over every count when there is none yet); a dry run
  # keeps nothing, so without it each dry run would measure that sum.
  local w=0
  until [ "$(window_started "$db" "$dburl")" = 1 ]; do
    w=$((w + 1))
    [ "$w" -le 1200 ] || { echo "bench-full: the download window did not start in 10 minutes" >&2; exit 1; }
    sleep 0.5
  done
  put "$db" "$size" "download window ready by (s after start; polled after the runs)" "$(awk -v a="$start" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""

  t0=$(now)
  "$bin/cheeseshop" admin critical compute --dry-run --data "$dir" --database "$dburl" --log-level warn >"$out.critical" 2>&1 ||
    { cat "$out.critical" >&2; exit 1; }
  t1=$(now)
  put "$db" "$size" "admin critical compute --dry-run (s)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')"
}

for db in $dbs; do
  if [ "$db" = postgres ]; then
    pg_url=$(scripts/pg.sh start "$cache/pg")
  fi
  for size in $sizes; do
    dir=$cache/$db-$size
    [ "$db" = postgres ] && dir=$cache/pg-$size
    fill "$db" "$size" "$dir"
    say "-- $db, $size: measuring (load $(cut -d' ' -f1-3 /proc/loadavg))"
    measure "$db" "$size" "$dir"
  done
  if [ "$db" = postgres ]; then
    scripts/pg.sh stop "$cache/pg"
    pg_url=""
  fi
done

say
say "== summary (markdown; one curl at a time, medians of $repeat; load $(cut -d' ' -f1-3 /proc/loadavg) after the run)"
say
header="| measurement |" sep="|---|"
for db in $dbs; do
  for size in $sizes; do header+=" $db $size |"; sep+="---:|"; done
  small=$(tr ' ' '\n' <<<"$sizes" | head -n 1) large=$(tr ' ' '\n' <<<"$sizes" | tail -n 1)
  [ "$small" = "$large" ] || { header+=" $db $large/$small |"; sep+="---:|"; }
done
say "$header"
say "$sep"
mapfile -t metrics < <(printf '%s\n' "${rows[@]}" | cut -d'|' -f3 | awk '!seen[$0]++')
for m in "${metrics[@]}"; do
  line="| $m |"
  for db in $dbs; do
    vals=()
    for size in $sizes; do
      v=$(printf '%s\n' "${rows[@]}" | awk -F'|' -v d="$db" -v s="$size" -v m="$m" '$1 == d && $2 == s && $3 == m {print $4}')
      line+=" ${v:-—} |"
      vals+=("${v:-0}")
    done
    if [ "${#vals[@]}" -gt 1 ]; then
      line+=" $(awk -v a="${vals[0]}" -v b="${vals[${#vals[@]}-1]}" 'BEGIN {if (a + 0 > 0) printf "%.1f", b / a; else print "—"}') |"
    fi
  done
  say "$line"
done
