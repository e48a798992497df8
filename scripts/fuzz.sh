#!/usr/bin/env bash
# Runs every fuzz target of pagereply for a bounded time each (default 10s):
# the config loader, the API decoder, the webhook decoder and the Graph decoders.
# Usage: scripts/fuzz.sh [duration]     e.g. scripts/fuzz.sh 1m
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
fail=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $fn ($t)"
    if ! go test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" >/tmp/pagereply-fuzz.log 2>&1; then
      tail -40 /tmp/pagereply-fuzz.log >&2
      echo "fuzz: $pkg $fn FAILED (the failing input is under $dir/testdata/fuzz/$fn)" >&2
      fail=1
    fi
  done
done
exit $fail
