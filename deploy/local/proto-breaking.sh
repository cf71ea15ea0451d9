#!/usr/bin/env bash
# `buf breaking` for protos/: the working tree against main.
# On a branch: against main. On main itself (CI checks out main): against each of the last
# $BREAKING_DEPTH first-parent commits that already had protos, so a change that breaks what an
# earlier landing published is caught even when several commits land together.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUF="${ONESTOP_CACHE:-$HOME/.cache/onestop}/bin/buf"
DEPTH="${BREAKING_DEPTH:-10}"

branch=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo "")
if [ "$branch" != main ] && git rev-parse -q --verify main >/dev/null; then
  against=$(git rev-parse main)
else
  against=$(git rev-list --first-parent -n "$DEPTH" HEAD~1 2>/dev/null || true)
fi

checked=0
for commit in $against; do
  git cat-file -e "$commit:buf.yaml" 2>/dev/null || continue
  # protos/ only: the vendored third_party/ module is not ours (and older commits lack it).
  "$BUF" breaking protos --against ".git#ref=$commit,subdir=protos" \
    || { echo "ERROR: protos/ break compatibility with commit $(git log -1 --format='%h %s' "$commit")" >&2; exit 1; }
  checked=$((checked + 1))
done
if [ "$checked" -eq 0 ]; then
  echo "buf breaking: no earlier commit of main has protos yet; nothing to compare"
else
  echo "buf breaking: compatible with the last $checked commit(s) of main that had protos"
fi
