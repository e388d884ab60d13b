#!/usr/bin/env bash
# bench.sh — cheeseshop's benchmarks (docs/BENCHMARKS.md), run by `make bench`.
#
# For each index size (100 and 100,000 real project names), it fills a fresh
# SQLite index, starts `cheeseshop serve`, uploads a 1 MiB wheel, saves the
# exact bodies it serves (and their headers) for a project page (JSON and
# HTML), the root index /simple/ (HTML and JSON), a small wheel and the
# 1 MiB one into an nginx root, and runs wrk against three servers in
# turn: cheeseshop, a bare net/http server of the same bytes and headers
# (`cheeseshop-bench static`: the best Go's HTTP server does) and nginx;
# same bytes, same client, same machine. It prints both ratios and each
# server's RSS after the wrk runs. Then it loads the upload API with 4
# concurrent twine-like uploaders, and runs the Go benchmarks.
#
# `scripts/bench.sh downloads` measures instead what counting downloads
# costs file serving: each round it starts two `cheeseshop serve` on one
# index, with --count-downloads and with --no-count-downloads (in turn
# first), runs wrk against the same wheel on each (in turn first), and
# stops them; it prints each run's req/s and the server's CPU time per
# request, the medians and their ratios, checks that every download served
# was counted, and runs the Go benchmarks of counting.
#
# `scripts/bench.sh proxy` measures the upstream proxy (issue 18): it
# starts an upstream cheeseshop U with a project and a proxy P with
# --upstream U, a local project on P, and runs wrk against P's page of the
# local project, P's page of the proxied one (fresh in memory) and nginx
# serving the same bytes; then it uploads BENCH_PROXY_FILES wheels of
# BENCH_PROXY_MIB MiB to U and downloads each through P twice with curl:
# the first fetch (fetched, verified, stored) and the second (stored),
# with time to first byte and total time (median, p95).
#
# Settings (environment):
#   BENCH_SIZES="100 100000"  index sizes
#   BENCH_WRK="-t2 -c64 -d3s --timeout 10s"  wrk options
#   BENCH_REPEAT=3            wrk runs per server and endpoint, alternating
#                             cheeseshop and nginx; the median counts
#   BENCH_UPLOAD_SECONDS=15   length of each upload run
#   BENCH_UPLOADERS=4         concurrent uploaders
#   BENCH_GO_BENCHTIME=200ms  -benchtime of the Go benchmarks ("" skips them)
#   BENCH_TSV=...             project names (gzipped TSV, name first)
#   BENCH_FAST_DIR=/dev/shm   where the indexes are filled (tmpfs: fast fill)
#   BENCH_DISK_DIR=./tmp      where the on-disk upload run and the Go
#                             benchmarks keep their indexes (the disk that
#                             `cheeseshop serve --data ./data` would use)
#   BENCH_QUIET_WAIT=120      before each measurement, wait up to this many
#                             seconds for the CPUs to be idle (shared machines)
#   BENCH_KEEP=1              keep the work folders
#   BENCH_SERVE_FLAGS=        more `cheeseshop serve` flags for the wrk
#                             comparison's server (e.g. "--gc-floor 0")
#   downloads mode: BENCH_WRK (default "-t2 -c64 -d5s --timeout 10s"),
#   BENCH_REPEAT (default 12 rounds), BENCH_DL_FLUSH=5s (--downloads-flush),
#   BENCH_DL_ON="--count-downloads --downloads-agents=all" flags of the "on"
#   server: wrk sends no User-Agent, and every request comes from one
#   address, so all but the first are over --downloads-per-address (the
#   per-address lookup is what is measured);
#   BENCH_DL_ON="--count-downloads --downloads-per-address=0 --downloads-agents=all"
#   counts every download served (the check that all were counted holds);
#   BENCH_DL_ON=--no-count-downloads: an A/A run, two identical servers,
#   which shows how far apart two servers measure with nothing different
#
# `scripts/bench.sh s3` measures S3 storage against the folder: it starts a
# throwaway versitygw (scripts/s3.sh) on the disk of BENCH_DISK_DIR, uploads
# a small and a large wheel to a folder-backed server, copies its files to
# the bucket (admin blobs copy), and runs wrk on both downloads against the
# folder-backed server, the S3-backed one, and the S3-backed one with
# --storage-redirect (wrk then measures the 302 answers, as it follows no
# redirect; a curl --parallel loop that follows them measures the whole
# download, and the same loop runs against the other two); then uploads,
# with 4 concurrent uploaders, of tiny wheels (cheeseshop-bench uploads) and
# of large ones (curl), to each storage.
#   s3 mode: BENCH_WRK (default "-t2 -c16 -d3s --timeout 10s"), BENCH_REPEAT
#   (default 3), BENCH_S3_SMALL_KIB=16 and BENCH_S3_LARGE_MIB=8 (payloads of
#   the two downloaded wheels), BENCH_S3_FOLLOW=400 (downloads of the
#   small wheel per curl loop; a tenth of it for the large one),
#   BENCH_S3_UPLOAD_MIB=20 (large uploads: above the 16 MiB part size, so S3
#   takes them as multipart uploads), BENCH_S3_UPLOADS_EACH=5 (large uploads
#   per uploader), BENCH_UPLOAD_SECONDS (default 10), BENCH_UPLOADERS
#
# `scripts/bench.sh install` (also the last part of the default run) times
# `pip install` of a small application with a cold cache: ten projects of
# realistic sizes and metadata, a dependency graph with shared dependencies
# and version specifiers, built offline by Debian's build backends
# (setuptools, flit_core, hatchling, poetry-core, pdm-pep517;
# scripts/install-dists.py), wheels and sdists uploaded with twine to a
# fresh cheeseshop (SQLite, in BENCH_FAST_DIR) with Debian's wheels of pip,
# setuptools and wheel; then the same pages (HTML, file URLs made relative)
# and files (checked against their hashes) are saved into a static PEP 503
# mirror for nginx. Each run installs into a fresh venv (a copy of one
# made first, not timed) with an empty cache, alternating cheeseshop and
# nginx, once with --only-binary :all: and once allowing sdists (one release
# is an sdist only: pip builds it, fetching setuptools and wheel from the
# index). Every run must install the same versions (pip freeze) and the
# application must run. pip gets cheeseshop's JSON pages and nginx's HTML
# ones; both make it fetch the same files (see the mirror below).
#   install mode: BENCH_INSTALL_REPEAT=5 runs per index and pip mode
set -euo pipefail

mode=${1:-all}
case $mode in
  all | downloads | s3 | proxy | install) ;;
  *) echo "usage: $0 [downloads | s3 | proxy | install]" >&2; exit 2 ;;
esac
if [ "$mode" = downloads ]; then
  : "${BENCH_WRK:=-t2 -c64 -d5s --timeout 10s}" "${BENCH_REPEAT:=12}"
fi
if [ "$mode" = proxy ]; then
  : "${BENCH_WRK:=-t2 -c64 -d3s --timeout 10s}" "${BENCH_REPEAT:=5}"
fi
if [ "$mode" = s3 ]; then
  : "${BENCH_WRK:=-t2 -c16 -d3s --timeout 10s}" "${BENCH_REPEAT:=3}" "${BENCH_UPLOAD_SECONDS:=10}"
fi

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

sizes=${BENCH_SIZES:-"100 100000"}
wrk_opts=${BENCH_WRK:-"-t2 -c64 -d3s --timeout 10s"}
repeat=${BENCH_REPEAT:-3}
upload_seconds=${BENCH_UPLOAD_SECONDS:-15}
uploaders=${BENCH_UPLOADERS:-4}
go_benchtime=${BENCH_GO_BENCHTIME-200ms}
tsv=${BENCH_TSV:-/work/shared/data/pypi-projects.tsv.gz}
[ -f "$tsv" ] || tsv=$here/data/pypi-projects.tsv.gz
fast_dir=${BENCH_FAST_DIR:-/dev/shm}
[ -d "$fast_dir" ] && [ -w "$fast_dir" ] || fast_dir=${TMPDIR:-/tmp}
disk_dir=${BENCH_DISK_DIR:-$here/tmp}
quiet_wait=${BENCH_QUIET_WAIT:-120}
serve_flags=${BENCH_SERVE_FLAGS:-}
json='application/vnd.pypi.simple.v1+json'

[ -f "$tsv" ] || { echo "bench: no project names at $tsv (set BENCH_TSV)" >&2; exit 1; }

scripts/deps.sh wrk nginx-light curl sqlite3

mkdir -p "$disk_dir"
work=$(mktemp -d "$fast_dir/cheeseshop-bench.XXXXXX")
diskwork=$(mktemp -d "$disk_dir/cheeseshop-bench-disk.XXXXXX")
chmod 755 "$work" # nginx workers may run as another user
server_pid="" nginx_pid="" s3_dir=""

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
stop_nginx() {
  if [ -n "$nginx_pid" ]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
  fi
}
stop_static() {
  if [ -n "${static_pid:-}" ]; then
    kill "$static_pid" 2>/dev/null || true
    wait "$static_pid" 2>/dev/null || true
    static_pid=""
  fi
}
cleanup() {
  stop_server
  stop_nginx
  stop_static
  [ -z "$s3_dir" ] || scripts/s3.sh stop "$s3_dir"
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    echo "bench: kept $work and $diskwork" >&2
  else
    rm -rf "$work" "$diskwork"
  fi
  rmdir "$disk_dir" 2>/dev/null || true # only when empty
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
bin=$work/bin
mkdir -p "$bin"
say "== building"
go build -o "$bin/cheeseshop" ./cmd/cheeseshop
go build -o "$bin/cheeseshop-bench" ./cmd/cheeseshop-bench

say "== machine"
say "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
say "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
say "cpu:      $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
say "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
say "kernel:   $(uname -r)"
say "go:       $(go version | cut -d' ' -f3-)"
say "wrk:      $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), options $wrk_opts"
say "nginx:    $(nginx -v 2>&1 | cut -d/ -f2)"
say "indexes:  $work ($(df -T "$work" | awk 'NR==2 {print $2}')); disk run: $diskwork ($(df -T "$diskwork" | awk 'NR==2 {print $2}'))"
say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"

# quiet: waits (up to $quiet_wait s) for idle CPUs; prints how busy they were.
quiet() { "$bin/cheeseshop-bench" quiet --max-busy 15 --timeout "${quiet_wait}s"; }

# start_server DIR [FLAG...]: starts cheeseshop on a free port, with the
# extra serve flags; sets server_pid, url. Its output goes to DIR/serve-PID.*.
start_server() {
  local dir=$1 out err
  shift
  out=$(mktemp "$dir/serve.XXXXXX.out") err=${out%.out}.err
  "$bin/cheeseshop" serve --data "$dir" --addr 127.0.0.1:0 --no-access-log --log-level warn "$@" \
    >"$out" 2>"$err" &
  server_pid=$!
  url=""
  for _ in $(seq 1 300); do
    url=$(sed -n '1s/^cheeseshop listening on //p' "$out" 2>/dev/null)
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$err" >&2; echo "bench: the server died" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "bench: the server did not start" >&2; exit 1; }
}

# new_token DIR: creates an account and prints an API token for it.
new_token() {
  "$bin/cheeseshop" admin user create --data "$1" --username loadtest --email loadtest@bench.invalid </dev/null >/dev/null
  "$bin/cheeseshop" admin token create --data "$1" --username loadtest --name bench
}

# nginx_headers ROOT FILE...: prints an nginx location for each FILE of
# ROOT that has the headers cheeseshop sent with it (FILE.head), so that
# nginx sends them too (Cache-Control, Content-Security-Policy, Vary...):
# the same bytes, headers included. The headers nginx writes itself (Date,
# Content-Type, Content-Length, ETag, Last-Modified, Accept-Ranges) are
# left to it: they are there either way, with values of the same length.
nginx_headers() {
  local root=$1 f
  shift
  for f in "$@"; do
    [ -f "$root/$f.head" ] || continue
    printf '    location = /%s {\n' "$f"
    tr -d '\r' <"$root/$f.head" | awk -F': ' 'NR > 1 && NF >= 2 {
      name = $1; value = substr($0, length($1) + 3)
      if (tolower(name) ~ /^(date|content-type|content-length|etag|last-modified|accept-ranges|server|connection|transfer-encoding|content-encoding)$/) next
      if (value ~ /[$"\\]/) { print "bench: cannot give nginx the header " name > "/dev/stderr"; exit 1 }
      printf "      add_header %s \"%s\" always;\n", name, value
    }'
    printf '    }\n'
  done
}

# start_nginx ROOT [LOCATIONS]: serves ROOT on a free loopback port, with
# LOCATIONS (nginx_headers' output) in its server block; sets nginx_pid,
# nginx_url.
start_nginx() {
  local root=$1 locations=${2:-} ngx=$work/nginx port
  mkdir -p "$ngx/tmp"
  port=$("$bin/cheeseshop-bench" freeport)
  cat >"$ngx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  types { text/html html; application/vnd.pypi.simple.v1+json json; application/zip whl; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
$locations
  }
}
EOF
  nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" &
  nginx_pid=$!
  nginx_url=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$nginx_url/project.json" && return 0
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$ngx/error.log" >&2
  echo "bench: nginx did not start" >&2
  exit 1
}

# start_static ROUTE...: starts `cheeseshop-bench static` (a bare net/http
# server of the same bytes and headers) on a free port; sets static_pid,
# static_url.
start_static() {
  local out=$work/static.out
  "$bin/cheeseshop-bench" static --addr 127.0.0.1:0 "$@" >"$out" 2>"$work/static.err" &
  static_pid=$!
  static_url=""
  for _ in $(seq 1 100); do
    static_url=$(sed -n '1s/^static listening on //p' "$out" 2>/dev/null)
    [ -n "$static_url" ] && return 0
    kill -0 "$static_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/static.err" >&2
  echo "bench: the static server did not start" >&2
  exit 1
}

# rss PID: the resident memory of a process, in MiB.
rss() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo '?'; }

# run_wrk URL [ACCEPT]: prints "requests/s errors".
run_wrk() {
  local out
  local args=()
  [ -n "${2:-}" ] && args=(-H "Accept: $2")
  # shellcheck disable=SC2086
  out=$(wrk $wrk_opts "${args[@]}" "$1")
  local rps errs non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  errs=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "${rps:-0} $(( ${errs:-0} + ${non2xx:-0} ))"
}

# median X...: the median of numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# wrk_cpu URL PID: runs wrk and prints "requests/s errors server-CPU-µs-per-request"
# (the server's user + system CPU time over the run, from /proc, divided by
# the requests wrk completed: less sensitive than req/s to other load).
wrk_cpu() {
  local out t0 t1 hz
  hz=$(getconf CLK_TCK)
  t0=$(awk '{print $14 + $15}' "/proc/$2/stat")
  # shellcheck disable=SC2086
  out=$(wrk $wrk_opts "$1")
  t1=$(awk '{print $14 + $15}' "/proc/$2/stat")
  awk -v t0="$t0" -v t1="$t1" -v hz="$hz" '
    /^Requests\/sec:/ {rps = $2}
    / requests in / {n = $1}
    /Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
    /Non-2xx/ {e += $NF}
    END {printf "%s %d %.1f\n", rps + 0, e, (n > 0 ? (t1 - t0) / hz * 1e6 / n : 0)}' <<<"$out"
}

# bench_downloads: the cost of --count-downloads on file serving (see the top).
# Each round restarts both servers (and warms them up): the one started
# second measured up to 8% less CPU per request in A/A runs, so the start
# order alternates every round, and the wrk order every two rounds.
bench_downloads() {
  local dir=$work/index-downloads flush=${BENCH_DL_FLUSH:-5s} on_flags=${BENCH_DL_ON:---count-downloads --downloads-agents=all}
  say
  say "== download counting: one index of 100 project names, two servers, wrk on the same wheel"
  say "on: cheeseshop serve $on_flags --downloads-flush $flush ; off: cheeseshop serve --no-count-downloads"
  mkdir -p "$dir"
  "$bin/cheeseshop-bench" fill --data "$dir" --projects 100 --tsv "$tsv" --names-out "$dir/names.txt"
  local on_url="" on_pid="" off_url="" off_pid="" file_path="" served=0

  # start_both FIRST: starts the two servers, FIRST (on or off) first.
  start_both() {
    local which
    for which in "$1" $([ "$1" = on ] && echo off || echo on); do
      if [ "$which" = on ]; then
        # shellcheck disable=SC2086
        start_server "$dir" $on_flags --downloads-flush "$flush"
        on_url=$url on_pid=$server_pid
      else
        start_server "$dir" --no-count-downloads
        off_url=$url off_pid=$server_pid
      fi
      other_pid="$on_pid $off_pid"
    done
    server_pid=""
  }
  # stop_both: stops them; the counting one writes its last counts, after
  # its 200 answers to GETs of distribution files were added to served.
  stop_both() {
    local n
    n=$(curl -sf "$on_url/metrics" | awk '/^cheeseshop_file_responses_total\{kind="distribution",status="2xx"\}/ {printf "%d", $2}')
    served=$((served + ${n:-0}))
    kill -TERM "$on_pid" "$off_pid" 2>/dev/null || true
    wait "$on_pid" "$off_pid" 2>/dev/null || true
    other_pid=""
  }
  other_pid=""
  cleanup_both() { [ -z "$other_pid" ] || kill $other_pid 2>/dev/null || true; }
  trap 'cleanup_both; cleanup' EXIT

  local on_all=() off_all=() ratios=() cpu_on=() cpu_off=() errs=0 busy r e c
  for i in $(seq "$repeat"); do
    local first=off order="on off"
    [ $((i % 2)) = 0 ] && first=on
    [ $(((i - 1) / 2 % 2)) = 1 ] && order="off on"
    start_both "$first"
    if [ -z "$file_path" ]; then
      local name file_url
      name=$(sed -n '50p' "$dir/names.txt" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g')
      file_url=$(curl -sf -H "Accept: $json" "$off_url/simple/$name/" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d'"' -f4)
      file_path=${file_url#"$off_url"}
      say "file: $file_path ($(curl -sf "$off_url$file_path" | wc -c) bytes)"
    fi
    wrk -t1 -c8 -d2s "$on_url$file_path" >/dev/null
    wrk -t1 -c8 -d2s "$off_url$file_path" >/dev/null
    busy=$(quiet)
    local r_on="" r_off="" c_on="" c_off=""
    for which in $order; do
      if [ "$which" = on ]; then
        read -r r e c < <(wrk_cpu "$on_url$file_path" "$on_pid")
        r_on=$r c_on=$c
      else
        read -r r e c < <(wrk_cpu "$off_url$file_path" "$off_pid")
        r_off=$r c_off=$c
      fi
      errs=$((errs + e))
    done
    stop_both
    on_all+=("$r_on") off_all+=("$r_off") cpu_on+=("$c_on") cpu_off+=("$c_off")
    ratios+=("$(awk -v a="$r_on" -v b="$r_off" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')")
    printf '  round %2d (%-3s started first, %-3s measured first, CPUs %s busy before): on %6.0f req/s %6s µs CPU/req   off %6.0f req/s %6s µs CPU/req   on/off %s\n' \
      "$i" "$first" "${order%% *}" "$busy" "$r_on" "$c_on" "$r_off" "$c_off" "${ratios[-1]}"
  done
  local m_on m_off mc_on mc_off counted
  m_on=$(median "${on_all[@]}") m_off=$(median "${off_all[@]}")
  mc_on=$(median "${cpu_on[@]}") mc_off=$(median "${cpu_off[@]}")
  # Every download served by the counting servers must be in the database
  # now that they stopped (the last flush runs at shutdown).
  counted=$(sqlite3 "$dir/cheeseshop.db" 'SELECT COALESCE(SUM(downloads), 0) FROM downloads')

  say
  say "| wrk $wrk_opts, $repeat rounds | counting on | counting off | on / off |"
  say "|---|---:|---:|---:|"
  say "| req/s, each round | ${on_all[*]} | ${off_all[*]} | ${ratios[*]} |"
  printf '| req/s, median | %.0f | %.0f | **%.3f** |\n' "$m_on" "$m_off" "$(awk -v a="$m_on" -v b="$m_off" 'BEGIN {print (b > 0 ? a / b : 0)}')"
  say "| req/s on / off, median of the rounds' ratios | | | $(median "${ratios[@]}") |"
  say "| server CPU µs per request (user + system), each round | ${cpu_on[*]} | ${cpu_off[*]} | |"
  printf '| server CPU µs per request, median | %s | %s | %.3f |\n' "$mc_on" "$mc_off" "$(awk -v a="$mc_on" -v b="$mc_off" 'BEGIN {print (b > 0 ? a / b : 0)}')"
  say
  say "wrk errors and non-2xx: $errs"
  say "downloads counted in the database: $counted, of $served answered 200 by the counting servers"

  if [ -n "$go_benchtime" ]; then
    say
    say "== Go benchmarks of counting (-benchtime=$go_benchtime, -count=3, CPUs $(quiet) busy before)"
    TMPDIR=$diskwork go test -short -run='^$' -bench='FileDownloadCounting|CounterCount' -benchmem -count=3 \
      -benchtime="$go_benchtime" ./internal/web/ ./internal/downloads/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
  fi
  say
  say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
}

# mkwheel OUT NAME VERSION BYTES: writes a valid wheel of NAME VERSION
# holding BYTES of random (incompressible) data, STORED, and prints its
# sha256.
mkwheel() {
  python3 - "$@" <<'PY'
import base64, hashlib, os, sys, zipfile
out, name, version, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
info = f"{name}-{version}.dist-info/"
members = [
    (f"{name}/__init__.py", b""),
    (f"{name}/payload.bin", os.urandom(size)),
    (info + "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench\n".encode()),
    (info + "WHEEL", b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
]
record = "".join(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n" for n, b in members)
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    for n, b in members + [(info + "RECORD", (record + info + "RECORD,,\n").encode())]:
        z.writestr(n, b)
h = hashlib.sha256()
with open(out, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(h.hexdigest())
PY
}

# upload_wheel URL TOKEN FILE NAME VERSION SHA256: uploads as twine does;
# prints the HTTP status.
upload_wheel() {
  curl -sS -o /dev/null -w '%{http_code}' -u "__token__:$2" -F ':action=file_upload' -F protocol_version=1 \
    -F metadata_version=2.1 -F "name=$4" -F "version=$5" -F filetype=bdist_wheel -F pyversion=py3 \
    -F "sha256_digest=$6" -F "content=@$3;type=application/octet-stream" "$1/legacy/"
}

# follow URL N PARALLEL: downloads URL N times with curl, PARALLEL at a
# time, following redirects; prints "downloads/s MB/s non-200-count".
follow() {
  local cfg t0 t1 codes
  cfg=$(mktemp)
  for _ in $(seq "$2"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1"; done >"$cfg"
  t0=$(date +%s.%N)
  codes=$(curl -sL --parallel --parallel-immediate --parallel-max "$3" -w '%{http_code} %{size_download}\n' -K "$cfg" 2>/dev/null)
  t1=$(date +%s.%N)
  rm -f "$cfg"
  awk -v t0="$t0" -v t1="$t1" '{n++; b += $2; if ($1 != 200) bad++}
    END {printf "%.1f %.1f %d\n", n / (t1 - t0), b / (t1 - t0) / 1048576, bad + 0}' <<<"$codes"
}

# pct P X...: the P-th percentile (nearest rank) of numbers.
pct() { local p=$1; shift; printf '%s\n' "$@" | sort -g | awk -v p="$p" '{v[NR] = $1} END {i = int((p * NR + 99) / 100); print v[i < 1 ? 1 : i]}'; }

# bench_proxy: the upstream proxy (see the top).
bench_proxy() {
  local udir=$work/upstream pdir=$work/proxy up_pid up_url up_token p_token sha w i
  local nfiles=${BENCH_PROXY_FILES:-20} mib=${BENCH_PROXY_MIB:-8}
  mkdir -p "$udir" "$pdir" "$work/wheels"
  up_token=$(new_token "$udir")
  start_server "$udir"
  up_pid=$server_pid up_url=$url server_pid=""
  w=$work/wheels/upstream_proj-1.0-py3-none-any.whl
  sha=$(mkwheel "$w" upstream_proj 1.0 16384)
  [ "$(upload_wheel "$up_url" "$up_token" "$w" upstream-proj 1.0 "$sha")" = 200 ] || { echo "bench: upload to U failed" >&2; exit 1; }
  for i in $(seq 1 "$nfiles"); do
    w=$work/wheels/big_proj-1.$i-py3-none-any.whl
    sha=$(mkwheel "$w" big_proj "1.$i" $((mib << 20)))
    [ "$(upload_wheel "$up_url" "$up_token" "$w" big-proj "1.$i" "$sha")" = 200 ] || { echo "bench: upload to U failed" >&2; exit 1; }
    rm -f "$w"
  done
  p_token=$(new_token "$pdir")
  start_server "$pdir" --upstream "$up_url/simple/" --upstream-ttl 1h
  w=$work/wheels/local_proj-1.0-py3-none-any.whl
  sha=$(mkwheel "$w" local_proj 1.0 16384)
  [ "$(upload_wheel "$url" "$p_token" "$w" local-proj 1.0 "$sha")" = 200 ] || { echo "bench: upload to P failed" >&2; exit 1; }

  local root=$work/nginx-root
  mkdir -p "$root"
  curl -sf -H "Accept: $json" "$url/simple/local-proj/" -o "$root/local.json"
  curl -sf -H "Accept: $json" "$url/simple/upstream-proj/" -o "$root/proxied.json"
  curl -sf -o "$root/project.json" "$url/simple/local-proj/?format=$json"
  start_nginx "$root"
  say "== proxy: simple pages, wrk $wrk_opts, $repeat rounds (CPUs $(quiet) busy before)"
  local spec label path npath all n_all r e
  for spec in "local page|/simple/local-proj/|/local.json" "proxied page|/simple/upstream-proj/|/proxied.json"; do
    IFS='|' read -r label path npath <<<"$spec"
    all=() n_all=()
    for _ in $(seq "$repeat"); do
      read -r r e < <(run_wrk "$url$path" "$json")
      all+=("$r")
      read -r r e < <(run_wrk "$nginx_url$npath" "$json")
      n_all+=("$r")
    done
    printf '%-14s %6s B  cheeseshop %8.0f req/s  nginx %8.0f req/s  (runs: %s ; %s)\n' "$label" \
      "$(stat -c %s "$root${npath}")" "$(median "${all[@]}")" "$(median "${n_all[@]}")" "${all[*]}" "${n_all[*]}"
  done
  stop_nginx

  say "== proxy: $nfiles files of $mib MiB through P (CPUs $(quiet) busy before)"
  local page first=() firstb=() second=() secondb=() line
  page=$(curl -sf -H "Accept: $json" "$url/simple/big-proj/")
  while read -r line; do
    read -r ttfb total < <(curl -sf -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "$line")
    firstb+=("$ttfb") first+=("$total")
    read -r ttfb total < <(curl -sf -o /dev/null -w '%{time_starttransfer} %{time_total}\n' "$line")
    secondb+=("$ttfb") second+=("$total")
  done < <(python3 -c 'import json,sys; [print(f["url"]) for f in json.load(sys.stdin)["files"]]' <<<"$page")
  say "first fetch:  first byte median $(median "${firstb[@]}") s p95 $(pct 95 "${firstb[@]}") s; total median $(median "${first[@]}") s p95 $(pct 95 "${first[@]}") s"
  say "stored:       first byte median $(median "${secondb[@]}") s p95 $(pct 95 "${secondb[@]}") s; total median $(median "${second[@]}") s p95 $(pct 95 "${second[@]}") s"
  stop_server
  kill "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
}

# bench_s3: S3 storage against the folder (see the top).
bench_s3() {
  local dir=$diskwork/index small_kib=${BENCH_S3_SMALL_KIB:-16} large_mib=${BENCH_S3_LARGE_MIB:-8}
  local n_follow=${BENCH_S3_FOLLOW:-400} up_mib=${BENCH_S3_UPLOAD_MIB:-20} up_each=${BENCH_S3_UPLOADS_EACH:-5}
  s3_dir=$diskwork/versitygw
  mkdir -p "$dir" "$s3_dir" "$diskwork/wheels"
  scripts/s3.sh install >/dev/null
  local S3_URL
  eval "$(scripts/s3.sh start "$s3_dir")"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  local storage=${S3_URL/cheeseshop\?/cheeseshop/bench?}
  say
  say "== S3 storage against the folder (versitygw v1.8.0, posix backend in $s3_dir, $(df -T "$s3_dir" | awk 'NR==2 {print $2}'); folder $dir/files)"
  say "storage: $storage"

  local token small_sha large_sha
  token=$(new_token "$dir")
  small_sha=$(mkwheel "$diskwork/wheels/benchsmall-1.0-py3-none-any.whl" benchsmall 1.0 $((small_kib << 10)))
  large_sha=$(mkwheel "$diskwork/wheels/benchlarge-1.0-py3-none-any.whl" benchlarge 1.0 $((large_mib << 20)))
  start_server "$dir"
  for w in "benchsmall $small_sha" "benchlarge $large_sha"; do
    set -- $w
    [ "$(upload_wheel "$url" "$token" "$diskwork/wheels/$1-1.0-py3-none-any.whl" "$1" 1.0 "$2")" = 200 ] ||
      { echo "bench: uploading $1 failed" >&2; exit 1; }
  done
  local small_path large_path
  small_path=$(curl -sf -H "Accept: $json" "$url/simple/benchsmall/" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  large_path=$(curl -sf -H "Accept: $json" "$url/simple/benchlarge/" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  small_path=${small_path#"$url"} large_path=${large_path#"$url"}
  stop_server
  say "copy: $("$bin/cheeseshop" admin blobs copy --data "$dir" --to "$storage" | tail -n 1)"

  local rows=() follows=() uploads_rows=()
  local kind flags
  for kind in folder s3 s3-redirect; do
    flags=()
    [ "$kind" = folder ] || flags=(--storage "$storage")
    [ "$kind" = s3-redirect ] && flags+=(--storage-redirect)
    start_server "$dir" "${flags[@]}"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url$small_path")
    say "-- $kind: $url (GET of a wheel answers $code)"
    wrk -t1 -c8 -d2s "$url$small_path" >/dev/null
    local what path bytes
    for what in small large; do
      path=$small_path bytes=$(stat -c %s "$diskwork/wheels/benchsmall-1.0-py3-none-any.whl")
      [ "$what" = large ] && path=$large_path bytes=$(stat -c %s "$diskwork/wheels/benchlarge-1.0-py3-none-any.whl")
      local busy all=() errs=0 r e
      busy=$(quiet)
      for _ in $(seq "$repeat"); do
        read -r r e < <(run_wrk "$url$path")
        all+=("$r") errs=$((errs + e))
      done
      local m
      m=$(median "${all[@]}")
      rows+=("$kind|$what|$bytes|$code|$m|$errs|${all[*]}|$busy")
      printf '  wrk %-5s %9s B: %8.0f req/s (%s) %6.1f MiB/s  errors %s  (CPUs %s busy before)\n' "$what" "$bytes" "$m" "${all[*]}" \
        "$(awk -v r="$m" -v b="$bytes" -v c="$code" 'BEGIN {print (c == 200 ? r * b / 1048576 : 0)}')" "$errs" "$busy"
      local n=$n_follow
      [ "$what" = large ] && n=$((n_follow / 10))
      busy=$(quiet)
      read -r r m e < <(follow "$url$path" "$n" 8)
      follows+=("$kind|$what|$bytes|$n|$r|$m|$e|$busy")
      printf '  curl -L %-5s x%d, 8 at a time: %7.1f downloads/s %7.1f MiB/s  non-200 %s  (CPUs %s busy before)\n' "$what" "$n" "$r" "$m" "$e" "$busy"
    done
    stop_server
  done

  # Uploads: tiny wheels (cheeseshop-bench uploads), then large ones.
  local i j
  for kind in folder s3; do
    flags=()
    [ "$kind" = s3 ] && flags=(--storage "$storage")
    start_server "$dir" "${flags[@]}"
    local busy out
    busy=$(quiet)
    out=$("$bin/cheeseshop-bench" uploads --url "$url" --token "$token" --concurrency "$uploaders" --duration "${upload_seconds}s")
    say "-- uploads to $kind, tiny wheels, $uploaders uploaders, ${upload_seconds}s (CPUs $busy busy before)"
    say "$out" | grep -v '^RESULT'
    uploads_rows+=("$kind|tiny|$(grep '^RESULT' <<<"$out")")
    # Large: each uploader sends its own new wheels, one after the other.
    for i in $(seq "$uploaders"); do
      for j in $(seq "$up_each"); do
        mkwheel "$diskwork/wheels/up$kind$i-1.$j-py3-none-any.whl" "up$kind$i" "1.$j" $((up_mib << 20)) \
          >"$diskwork/wheels/up$kind$i-1.$j.sha"
      done
    done
    busy=$(quiet)
    local t0 t1 pids=() fails=0
    t0=$(date +%s.%N)
    for i in $(seq "$uploaders"); do
      (
        for j in $(seq "$up_each"); do
          c=$(upload_wheel "$url" "$token" "$diskwork/wheels/up$kind$i-1.$j-py3-none-any.whl" "up$kind$i" "1.$j" \
            "$(cat "$diskwork/wheels/up$kind$i-1.$j.sha")")
          [ "$c" = 200 ] || { echo "bench: large upload answered $c" >&2; exit 1; }
        done
      ) &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    t1=$(date +%s.%N)
    local total=$((uploaders * up_each)) bytes
    bytes=$(stat -c %s "$diskwork/wheels/up$kind"1-1.1-py3-none-any.whl)
    local line
    line=$(awk -v t0="$t0" -v t1="$t1" -v n="$total" -v b="$bytes" -v f="$fails" \
      'BEGIN {printf "uploads_per_s=%.2f mib_per_s=%.1f seconds=%.1f failed_uploaders=%d", n / (t1 - t0), n * b / (t1 - t0) / 1048576, t1 - t0, f}')
    say "-- uploads to $kind, $total wheels of $bytes B, $uploaders uploaders (CPUs $busy busy before): $line"
    uploads_rows+=("$kind|large|$line")
    rm -f "$diskwork/wheels/up$kind"*
    stop_server
  done

  say
  say "== summary (markdown)"
  say
  say "| storage | file | bytes | answer | wrk req/s (median of $repeat) | MiB/s | wrk errors | runs | CPUs busy before |"
  say "|---|---|---:|---:|---:|---:|---:|---|---:|"
  local row k w b c r e runs busy
  for row in "${rows[@]}"; do
    IFS='|' read -r k w b c r e runs busy <<<"$row"
    printf '| %s | %s | %s | %s | %.0f | %s | %s | %s | %s |\n' "$k" "$w" "$b" "$c" "$r" \
      "$(awk -v r="$r" -v b="$b" -v c="$c" 'BEGIN {if (c == 200) printf "%.1f", r * b / 1048576; else print "—"}')" "$e" "$runs" "$busy"
  done
  say
  say "| storage | file | bytes | curl -L downloads | downloads/s | MiB/s | non-200 | CPUs busy before |"
  say "|---|---|---:|---:|---:|---:|---:|---:|"
  for row in "${follows[@]}"; do
    IFS='|' read -r k w b n r m e busy <<<"$row"
    say "| $k | $w | $b | $n | $r | $m | $e | $busy |"
  done
  say
  say "| storage | uploads | result |"
  say "|---|---|---|"
  for row in "${uploads_rows[@]}"; do
    IFS='|' read -r k w line <<<"$row"
    say "| $k | $w | ${line#RESULT } |"
  done
  say
  say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"
}

# bench_install: pip install of a small application with a cold cache,
# from cheeseshop and from nginx serving a static PEP 503 mirror of the
# same files (see the top).
bench_install() {
  local iw=$work/install py=/usr/bin/python3 n_runs=${BENCH_INSTALL_REPEAT:-5}
  scripts/deps.sh python3-venv python3-pip-whl python3-setuptools-whl python3-wheel-whl python3-build \
    python3-setuptools python3-wheel flit python3-hatchling python3-poetry-core python3-pdm-pep517 twine
  "$py" -c 'import venv, build, setuptools, wheel, flit_core, hatchling, poetry.core, pdm.pep517' ||
    { echo "bench: install: $py lacks a build backend (scripts/deps.sh could not install it)" >&2; exit 1; }
  [ -x /usr/bin/twine ] || { echo "bench: install: /usr/bin/twine is missing (Debian package twine)" >&2; exit 1; }
  say
  say "== install: pip install fromagerie (ten projects, five build backends) with a cold cache, $n_runs runs per index and mode"
  mkdir -p "$iw/index" "$iw/www/simple" "$iw/runs"
  local t0
  t0=$(date +%s.%N)
  "$py" scripts/install-dists.py "$iw" >"$iw/dists.txt"
  say "built $(grep -c . "$iw/dists.txt") files ($(awk '{b += $1} END {printf "%.0f KiB", b / 1024}' "$iw/dists.txt"), three of them Debian's wheels of pip, setuptools, wheel) in $(awk -v t="$t0" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - t}') s; sources in $iw/src"

  # Upload them all with twine, as a maintainer would.
  local token
  token=$(new_token "$iw/index")
  start_server "$iw/index"
  TWINE_USERNAME=__token__ TWINE_PASSWORD=$token PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring \
    /usr/bin/twine upload --repository-url "$url/legacy/" --non-interactive --disable-progress-bar "$iw"/dist/* \
    >"$iw/twine.log" 2>&1 || { cat "$iw/twine.log" >&2; echo "bench: install: twine upload failed" >&2; exit 1; }

  # The static mirror: cheeseshop's HTML pages with the file URLs made
  # relative to the host, and the files (and their PEP 658 metadata) at the
  # same paths, checked against the hashes the pages give. The pages drop
  # the old data-dist-info-metadata attribute (keeping data-core-metadata,
  # PEP 714), as cheeseshop's JSON pages do: pip 23.0 reads only the old
  # one, and then fetches every .metadata and downloads every wheel twice
  # (pypa/pip#11847), which it does not do with cheeseshop's JSON.
  local root=$iw/www p line path sha nfiles=0
  curl -sf "$url/simple/" -o "$root/simple/index.html"
  for p in $(grep -o 'href="/simple/[^/"]*/"' "$root/simple/index.html" | cut -d/ -f3); do
    mkdir -p "$root/simple/$p"
    curl -sf -H 'Accept: text/html' "$url/simple/$p/" | sed -E "s|href=\"$url/|href=\"/|g; s| data-dist-info-metadata=\"[^\"]*\"||g" >"$root/simple/$p/index.html"
    while read -r line; do
      path=$(sed -E 's/^.*href="([^"#]*)#sha256=([0-9a-f]*)".*$/\1/' <<<"$line")
      sha=$(sed -E 's/^.*href="([^"#]*)#sha256=([0-9a-f]*)".*$/\2/' <<<"$line")
      mkdir -p "$root${path%/*}"
      curl -sf "$url$path" -o "$root$path"
      [ "$(sha256sum "$root$path" | cut -d' ' -f1)" = "$sha" ] || { echo "bench: install: $path does not match its hash" >&2; exit 1; }
      case $line in *data-core-metadata=*) curl -sf "$url$path.metadata" -o "$root$path.metadata" ;; esac
      nfiles=$((nfiles + 1))
    done < <(grep -o '<a href="/files/[^>]*>' "$root/simple/$p/index.html")
  done
  [ "$nfiles" = "$(grep -c . "$iw/dists.txt")" ] ||
    { echo "bench: install: the mirror has $nfiles files, $(grep -c . "$iw/dists.txt") were uploaded" >&2; exit 1; }
  curl -sf -H "Accept: $json" "$url/simple/fromagerie/" -o "$root/project.json" # start_nginx waits for it
  chmod -R a+rX "$root"
  start_nginx "$root"
  local c_index=$url/simple/ n_index=${nginx_url/127.0.0.1/localhost}/simple/
  say "cheeseshop: $c_index (pip gets the JSON pages, PEP 691); nginx: $n_index (the HTML pages, PEP 503; $nfiles files)"

  # Fresh venvs are copies of one made here (python3 -m venv, Debian's pip
  # wheel installed without byte-compiling it): copying is not timed.
  "$py" -m venv --without-pip "$iw/venv"
  local pipwhl
  pipwhl=$(ls /usr/share/python-wheels/pip-*.whl)
  "$iw/venv/bin/python" "$pipwhl/pip" install --no-index --no-compile --quiet "$pipwhl"
  say "pip:        $("$iw/venv/bin/python" -m pip --version | cut -d' ' -f1-2), Python $("$iw/venv/bin/python" -c 'import sys; print(sys.version.split()[0])')"

  # cpu_us PID: the CPU time PID and its children (nginx's workers) have
  # run, all their threads, in µs (from the scheduler's nanoseconds: a
  # server's share of an install is a few ms, under /proc/PID/stat's ticks).
  cpu_us() {
    local p
    for p in "$1" $(ps -o pid= --ppid "$1"); do
      cat /proc/"$p"/task/*/schedstat 2>/dev/null || true
    done | awk '{t += $1} END {printf "%.0f\n", t / 1000}'
  }

  # install_run N INDEX PID [PIP-ARGS...]: pip install fromagerie into a
  # fresh venv runs/N from INDEX (served by PID) with a cold cache; prints
  # the seconds pip took and the server's CPU milliseconds meanwhile.
  # Fails the benchmark if pip fails or the application does not run.
  # The cache is an empty PIP_CACHE_DIR, as on a new machine.
  install_run() {
    local v=$iw/runs/$1 index=$2 pid=$3 s0 s1 c0 c1
    shift 3
    cp -a "$iw/venv" "$v"
    mkdir -p "$v.home" "$v.cache"
    c0=$(cpu_us "$pid")
    s0=$(date +%s.%N)
    if ! env -i PATH="$v/bin:/usr/bin:/bin" HOME="$v.home" VIRTUAL_ENV="$v" PIP_CONFIG_FILE=/dev/null PIP_CACHE_DIR="$v.cache" \
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_DEFAULT_TIMEOUT=60 \
      "$v/bin/python" -m pip install --index-url "$index" "$@" fromagerie >"$v.log" 2>&1; then
      cat "$v.log" >&2
      echo "bench: install: pip install from $index failed (log above, $v.log)" >&2
      exit 1
    fi
    s1=$(date +%s.%N)
    c1=$(cpu_us "$pid")
    "$v/bin/fromagerie" >/dev/null || { echo "bench: install: fromagerie does not run in $v" >&2; exit 1; }
    "$v/bin/python" -m pip freeze >"$v.freeze"
    awk -v a="$s0" -v b="$s1" -v c="$((c1 - c0))" 'BEGIN {printf "%.2f %.1f\n", b - a, c / 1000}'
  }
  # downloads LOG: "N files, K KiB", what pip's LOG says it downloaded
  # (the mirror holds every file at the same path as cheeseshop).
  downloads() {
    grep -o 'Downloading http[^ ]*' "$1" | sed -E 's|^Downloading https?://[^/]*||' |
      while read -r path; do stat -c %s "$root$path"; done |
      awk '{n++; b += $1} END {printf "%d files, %.0f KiB", n, b / 1024}'
  }
  # range X...: "min–max" of numbers.
  range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s–%s", lo, hi}'; }

  local busy modes=("wheels only|--only-binary :all:" "sdists allowed|") rows=()
  busy=$(quiet)
  # What each server spends idle (cheeseshop reads the database journal
  # every --follow-interval), subtracted from its CPU time per install.
  local ci0 ni0 ci1 ni1 c_idle n_idle
  ci0=$(cpu_us "$server_pid") ni0=$(cpu_us "$nginx_pid")
  sleep 5
  ci1=$(cpu_us "$server_pid") ni1=$(cpu_us "$nginx_pid")
  c_idle=$(awk -v a="$ci0" -v b="$ci1" 'BEGIN {printf "%.3f", (b - a) / 5000}')
  n_idle=$(awk -v a="$ni0" -v b="$ni1" 'BEGIN {printf "%.3f", (b - a) / 5000}')
  say "idle CPU:   cheeseshop $c_idle ms/s, nginx $n_idle ms/s"
  # net S MS IDLE: MS less IDLE ms/s over S seconds.
  net() { awk -v s="$1" -v ms="$2" -v i="$3" 'BEGIN {printf "%.1f", ms - i * s}'; }
  local spec label args i which first s ms c_all n_all c_cpu n_cpu c_net n_net ref ref_run k=0 freeze
  for spec in "${modes[@]}"; do
    IFS='|' read -r label args <<<"$spec"
    c_all=() n_all=() c_cpu=() n_cpu=() c_net=() n_net=() ref="" c_first="" n_first=""
    for i in $(seq "$n_runs"); do
      first=cheeseshop
      [ $((i % 2)) = 0 ] && first=nginx
      for which in $first $([ "$first" = nginx ] && echo cheeseshop || echo nginx); do
        k=$((k + 1))
        # shellcheck disable=SC2086
        if [ "$which" = cheeseshop ]; then
          read -r s ms < <(install_run "$k" "$c_index" "$server_pid" $args)
          c_all+=("$s") c_cpu+=("$ms") c_net+=("$(net "$s" "$ms" "$c_idle")") c_first=${c_first:-$k}
        else
          read -r s ms < <(install_run "$k" "$n_index" "$nginx_pid" $args)
          n_all+=("$s") n_cpu+=("$ms") n_net+=("$(net "$s" "$ms" "$n_idle")") n_first=${n_first:-$k}
        fi
        [ -n "$s" ] || exit 1 # install_run failed and said why
        freeze=$(tr '\n' ' ' <"$iw/runs/$k.freeze")
        [ -n "$ref" ] || { ref=$freeze; ref_run=$k; }
        [ "$freeze" = "$ref" ] ||
          { echo "bench: install: run $k ($which, $label) installed $freeze, run $ref_run installed $ref" >&2; exit 1; }
        rm -rf "$iw/runs/$k" "$iw/runs/$k.home" "$iw/runs/$k.cache"
      done
    done
    # What the first run from each server downloaded (pip's own log: the
    # isolated builds' downloads of setuptools and wheel are not in it).
    local c_dl n_dl built
    c_dl=$(downloads "$iw/runs/$c_first.log") n_dl=$(downloads "$iw/runs/$n_first.log")
    built=$(grep -c 'Building wheel for .*finished' "$iw/runs/$c_first.log" || true)
    [ "$c_dl" = "$n_dl" ] || say "   warning: pip fetched other files from each server: $c_dl / $n_dl"
    say "-- $label (pip install ${args:-with no option}): cheeseshop ${c_all[*]} s, ${c_cpu[*]} ms CPU (${c_net[*]} net of idle) ; nginx ${n_all[*]} s, ${n_cpu[*]} ms CPU (${n_net[*]})"
    say "   installed: $ref"
    rows+=("$label|${args:-(none)}|$c_dl / $n_dl$([ "$built" = 0 ] || echo "; $built sdist built (+ setuptools, wheel)")|$(median "${c_all[@]}")|$(range "${c_all[@]}")|$(median "${n_all[@]}")|$(range "${n_all[@]}")|$(median "${c_cpu[@]}")|$(median "${n_cpu[@]}")|$(median "${c_net[@]}")|$(median "${n_net[@]}")")
  done
  stop_nginx
  stop_server

  say
  say "| pip install fromagerie, cold cache, $n_runs runs each | pip options | downloads (cheeseshop / nginx) | cheeseshop s (median) | min–max | nginx s (median) | min–max | cheeseshop / nginx | server CPU ms per install, cheeseshop / nginx | the same, idle CPU taken off |"
  say "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
  local r opts dl cm cr nm nr cc nc cn nn
  for r in "${rows[@]}"; do
    IFS='|' read -r label opts dl cm cr nm nr cc nc cn nn <<<"$r"
    printf '| %s | `%s` | %s | %.2f | %s | %.2f | %s | %.2f | %s / %s | %s / %s |\n' "$label" "$opts" "$dl" "$cm" "$cr" "$nm" "$nr" \
      "$(awk -v a="$cm" -v b="$nm" 'BEGIN {print (b > 0 ? a / b : 0)}')" "$cc" "$nc" "$cn" "$nn"
  done
  say
  say "CPUs $busy busy before the runs; load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after them"
}

if [ "$mode" = install ]; then
  bench_install
  exit 0
fi
if [ "$mode" = downloads ]; then
  bench_downloads
  exit 0
fi
if [ "$mode" = proxy ]; then
  bench_proxy
  exit 0
fi
if [ "$mode" = s3 ]; then
  bench_s3
  exit 0
fi

results=()   # "size|endpoint|bytes|cheeseshop|net/http|nginx|errors|busy"
uploads=()   # "where|size|RESULT line"
rss_rows=()  # "size|cheeseshop MiB|net/http MiB|nginx MiB"

for n in $sizes; do
  say
  say "== index of $n project names"
  dir=$work/index-$n
  mkdir -p "$dir"
  "$bin/cheeseshop-bench" fill --data "$dir" --projects "$n" --tsv "$tsv" --names-out "$dir/names.txt"
  token=$(new_token "$dir")
  # wrk's 64 connections all come from one address, as many as
  # --max-conns-per-ip allows: a run that starts while the last one's
  # connections are still closing would have a few refused (nginx has no
  # such cap). The cap is measured by the tests, not here.
  # shellcheck disable=SC2086
  start_server "$dir" --max-conns-per-ip 0 $serve_flags
  say "cheeseshop: $url (pid $server_pid${serve_flags:+, serve $serve_flags})"

  # A 1 MiB wheel (incompressible payload), uploaded as twine does: sent
  # with sendfile(2) by all three servers.
  mkdir -p "$work/wheels"
  large_whl=$work/wheels/cheeseshop_bench_large-1.0-py3-none-any.whl
  large_sha=$(mkwheel "$large_whl" cheeseshop_bench_large 1.0 $((1 << 20)))
  [ "$(upload_wheel "$url" "$token" "$large_whl" cheeseshop-bench-large 1.0 "$large_sha")" = 200 ] ||
    { echo "bench: uploading the 1 MiB wheel failed" >&2; exit 1; }

  # A project from the middle of the list, by its normalized name. Each
  # body is saved with the headers cheeseshop sent (NAME.head), which the
  # bare net/http server sends too.
  count=$(wc -l <"$dir/names.txt")
  name=$(sed -n "$(( (count + 1) / 2 ))p" "$dir/names.txt" | tr 'A-Z' 'a-z' | sed -E 's/[-_.]+/-/g')
  root=$work/www-$n
  mkdir -p "$root"
  save() { curl -sf -D "$root/$1.head" -o "$root/$1" "${@:2}"; }
  save project.json -H "Accept: $json" "$url/simple/$name/"
  save project.html -H "Accept: text/html" "$url/simple/$name/"
  save index.html "$url/simple/"
  save index.json -H "Accept: $json" "$url/simple/"
  file_url=$(grep -o '"url":"[^"]*"' "$root/project.json" | head -n 1 | cut -d'"' -f4)
  file_path=${file_url#"$url"}
  save file.whl "$url$file_path"
  large_url=$(curl -sf -H "Accept: $json" "$url/simple/cheeseshop-bench-large/" | grep -o '"url":"[^"]*"' | head -n 1 | cut -d'"' -f4)
  large_path=${large_url#"$url"}
  save large.whl "$url$large_path"
  chmod -R a+rX "$root"
  say "project page: /simple/$name/ ; file: $file_path ; large file: $large_path ; /simple/ lists $(grep -c '<a href' "$root/index.html") projects"
  locations=$(nginx_headers "$root" project.json project.html index.html index.json file.whl large.whl)
  start_nginx "$root" "$locations"
  say "nginx:      $nginx_url (pid $nginx_pid; the same headers as cheeseshop's, added to its own)"
  routes=()
  for f in project.json project.html index.html index.json file.whl large.whl; do routes+=("/$f=$root/$f,$root/$f.head"); done
  start_static "${routes[@]}"
  say "net/http:   $static_url (pid $static_pid; cheeseshop-bench static: the same bytes and headers, nothing else)"

  # Warm the servers up (connections, Go's heap and GC pacing).
  wrk -t1 -c8 -d2s -H "Accept: $json" "$url/simple/$name/" >/dev/null
  wrk -t1 -c8 -d2s -H "Accept: $json" "$static_url/project.json" >/dev/null
  wrk -t1 -c8 -d2s -H "Accept: $json" "$nginx_url/project.json" >/dev/null

  for spec in \
    "project page JSON|/simple/$name/|/project.json|$json|project.json" \
    "project page HTML|/simple/$name/|/project.html|text/html|project.html" \
    "root /simple/ HTML|/simple/|/index.html||index.html" \
    "root /simple/ JSON|/simple/|/index.json|$json|index.json" \
    "wheel download|$file_path|/file.whl||file.whl" \
    "1 MiB wheel download|$large_path|/large.whl||large.whl"; do
    IFS='|' read -r label cpath npath accept file <<<"$spec"
    busy=$(quiet)
    c_all=() s_all=() n_all=() c_err=0 s_err=0 n_err=0
    for _ in $(seq "$repeat"); do
      read -r r e < <(run_wrk "$url$cpath" "$accept")
      c_all+=("$r") c_err=$((c_err + e))
      read -r r e < <(run_wrk "$static_url$npath" "$accept")
      s_all+=("$r") s_err=$((s_err + e))
      read -r r e < <(run_wrk "$nginx_url$npath" "$accept")
      n_all+=("$r") n_err=$((n_err + e))
    done
    c_rps=$(median "${c_all[@]}") s_rps=$(median "${s_all[@]}") n_rps=$(median "${n_all[@]}")
    say "  runs: cheeseshop ${c_all[*]} ; net/http ${s_all[*]} ; nginx ${n_all[*]}"
    bytes=$(stat -c %s "$root/$file")
    results+=("$n|$label|$bytes|$c_rps|$s_rps|$n_rps|$c_err/$s_err/$n_err|$busy")
    printf '%-20s %9s B  cheeseshop %8.0f  net/http %8.0f  nginx %8.0f req/s  cheeseshop/nginx %5.2f  cheeseshop/net-http %5.2f  errors %s/%s/%s  (CPUs %s busy before)\n' \
      "$label" "$bytes" "$c_rps" "$s_rps" "$n_rps" "$(awk -v a="$c_rps" -v b="$n_rps" 'BEGIN {print (b > 0 ? a / b : 0)}')" \
      "$(awk -v a="$c_rps" -v b="$s_rps" 'BEGIN {print (b > 0 ? a / b : 0)}')" "$c_err" "$s_err" "$n_err" "$busy"
  done
  nginx_rss=$(ps -o rss= --pid "$nginx_pid" --ppid "$nginx_pid" | awk '{s += $1} END {printf "%.1f", s / 1024}')
  rss_rows+=("$n|$(rss "$server_pid")|$(rss "$static_pid")|$nginx_rss")
  say "RSS after the wrk runs: cheeseshop $(rss "$server_pid") MiB, net/http $(rss "$static_pid") MiB, nginx $nginx_rss MiB (master and workers)"
  stop_nginx
  stop_static

  say "-- uploads: $uploaders concurrent uploaders for ${upload_seconds}s (index on $(df -T "$dir" | awk 'NR==2 {print $2}'), CPUs $(quiet) busy before)"
  out=$("$bin/cheeseshop-bench" uploads --url "$url" --token "$token" --concurrency "$uploaders" --duration "${upload_seconds}s")
  say "$out" | grep -v '^RESULT'
  uploads+=("$(df -T "$dir" | awk 'NR==2 {print $2}')|$n|$(grep '^RESULT' <<<"$out")")
  stop_server
  [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$dir"
done

say
say "== uploads on the disk ($disk_dir), index of 100 project names"
dir=$diskwork/index
mkdir -p "$dir"
"$bin/cheeseshop-bench" fill --data "$dir" --projects 100 --tsv "$tsv" --durable
token=$(new_token "$dir")
start_server "$dir"
# ext4 skips, one by one, the inodes deleted in the last 30 s
# (dirty_expire_centisecs) when it allocates a new one: right after the
# earlier runs removed their files, each new spool file cost 0.3 ms of
# CPU (perf: find_get_block_common, recently_deleted) and the rate fell by
# a fifth. Let that window pass, as on a server that does not delete
# thousands of files a second.
sleep 31
say "CPUs $(quiet) busy before"
out=$("$bin/cheeseshop-bench" uploads --url "$url" --token "$token" --concurrency "$uploaders" --duration "${upload_seconds}s")
say "$out" | grep -v '^RESULT'
uploads+=("$(df -T "$dir" | awk 'NR==2 {print $2}')|100|$(grep '^RESULT' <<<"$out")")
stop_server

if [ -n "$go_benchtime" ]; then
  say
  say "== Go benchmarks (-benchtime=$go_benchtime, indexes in $diskwork, CPUs $(quiet) busy before)"
  TMPDIR=$diskwork go test -run='^$' -bench=. -benchmem -benchtime="$go_benchtime" ./internal/web/ ./internal/index/ 2>&1 |
    grep -E '^(Benchmark|ok|FAIL|PASS|---|\s+bench_test)' || true
fi

say
say "== summary (markdown)"
say
say "| projects | endpoint | body bytes | cheeseshop req/s | net/http req/s | nginx req/s | cheeseshop / nginx | cheeseshop / net/http | errors (c/s/n) | CPUs busy before |"
say "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${results[@]}"; do
  IFS='|' read -r n label bytes c s_ n_ e b <<<"$r"
  printf '| %s | %s | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %s | %s |\n' "$n" "$label" "$bytes" "$c" "$s_" "$n_" \
    "$(awk -v a="$c" -v b="$n_" 'BEGIN {print (b > 0 ? a / b : 0)}')" "$(awk -v a="$c" -v b="$s_" 'BEGIN {print (b > 0 ? a / b : 0)}')" "$e" "$b"
done
say
say "| projects | RSS after the wrk runs: cheeseshop MiB | net/http MiB | nginx MiB |"
say "|---:|---:|---:|---:|"
for r in "${rss_rows[@]}"; do
  IFS='|' read -r n c s_ n_ <<<"$r"
  say "| $n | $c | $s_ | $n_ |"
done
# Size independence: cheeseshop's req/s at the largest size over the smallest.
small=$(tr ' ' '\n' <<<"$sizes" | grep . | sort -n | head -n 1)
large=$(tr ' ' '\n' <<<"$sizes" | grep . | sort -n | tail -n 1)
if [ "$small" != "$large" ]; then
  say
  say "| endpoint | cheeseshop req/s, $small projects | $large projects | $large / $small |"
  say "|---|---:|---:|---:|"
  for r in "${results[@]}"; do
    IFS='|' read -r n label _ c _ _ _ _ <<<"$r"
    [ "$n" = "$small" ] || continue
    for r2 in "${results[@]}"; do
      IFS='|' read -r n2 label2 _ c2 _ _ _ _ <<<"$r2"
      [ "$n2" = "$large" ] && [ "$label2" = "$label" ] || continue
      printf '| %s | %.0f | %.0f | %.2f |\n' "$label" "$c" "$c2" "$(awk -v a="$c2" -v b="$c" 'BEGIN {print (b > 0 ? a / b : 0)}')"
    done
  done
fi
say
say "| storage | projects | uploads/s | p50 ms | p90 ms | p99 ms | errors |"
say "|---|---:|---:|---:|---:|---:|---:|"
for u in "${uploads[@]}"; do
  IFS='|' read -r fs n line <<<"$u"
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$fs" "$n" "$(get uploads_per_s)" "$(get p50_ms)" "$(get p90_ms)" "$(get p99_ms)" "$(get errors)"
done
say
say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run"

# The install benchmark closes the default run.
if [ "$mode" = all ]; then
  bench_install
fi
