#!/usr/bin/env bash
# update-disposable-domains.sh [REF] — refreshes the embedded lists of
# disposable email domains (internal/emaildomain/data) from the
# disposable-email-domains project on GitHub (CC0), at REF (a commit, a
# branch or a tag; default: main). Needs curl and a machine that reaches
# GitHub. Checks the files before replacing the embedded ones, then prints
# the commit to record in internal/emaildomain/data/README.md.
set -euo pipefail

repo=disposable-email-domains/disposable-email-domains
ref=${1:-main}
dir=$(cd "$(dirname "$0")/../internal/emaildomain/data" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Pin the ref to a commit, so that both files come from the same one.
commit=$(curl -fsSL -H 'Accept: application/vnd.github.sha' "https://api.github.com/repos/$repo/commits/$ref")
[[ $commit =~ ^[0-9a-f]{40}$ ]] || { echo "update-disposable-domains: $ref is not a commit of $repo: $commit" >&2; exit 1; }

for f in disposable_email_blocklist.conf allowlist.conf; do
  curl -fsSL -o "$tmp/$f" "https://raw.githubusercontent.com/$repo/$commit/$f"
  # One domain a line: lower-case letters, digits, hyphens and dots
  # (IDNs in punycode), as the project's own checks require.
  if bad=$(grep -nvE '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' "$tmp/$f"); then
    echo "update-disposable-domains: $f has lines that are not domains:" >&2
    echo "$bad" | head -n 10 >&2
    exit 1
  fi
done
n=$(wc -l <"$tmp/disposable_email_blocklist.conf")
[ "$n" -gt 1000 ] || { echo "update-disposable-domains: only $n disposable domains: refusing the file" >&2; exit 1; }

mv "$tmp/disposable_email_blocklist.conf" "$tmp/allowlist.conf" "$dir/"
echo "updated $dir from $repo at $commit: $n disposable domains, $(wc -l <"$dir/allowlist.conf") allowed"
echo "record the commit in $dir/README.md, run go test ./internal/emaildomain, and commit"
