#!/usr/bin/env bash
# Runs every fuzz target of pagereply for a bounded time each (default 10s):
# the config loader, the API decoder, the webhook decoder and the Graph decoders.
# Usage: scripts/fuzz.sh [duration]     e.g. scripts/fuzz.sh 1m
#
# A target fails when the fuzzer writes a failing input to testdata/fuzz/<name>,
# or when go test fails for any other reason. One case is not ours: Go 1.26's
# fuzz coordinator can end a -fuzztime run with a bare "context deadline
# exceeded" and no failing input (golang/go#75804, fixed in Go 1.27). That
# target is run once more; if the second run ends the same way it is reported
# as the toolchain's race, not as a failure.
#
# Each package's fuzz targets share one test binary, built once (go test -c
# -fuzz builds it with the fuzzing instrumentation) and run in the package's
# directory for each target, as go test runs it: building, vetting and linking
# a package's binary again for each of its targets took most of CI's fuzz time.
#
# FUZZ_BINDIR=DIR keeps the binaries in DIR and runs those already there
# instead of building them again; with FUZZ_BUILD_ONLY=1 it only builds them.
# .ci/run builds them in the background, at the lowest priority, while the
# tests run: built cold, with the fuzzing instrumentation of every package,
# they took about 200 s of a CI run otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
log=$(mktemp)
if [ -n "${FUZZ_BINDIR:-}" ]; then
  bindir=$FUZZ_BINDIR
  mkdir -p "$bindir"
  trap 'rm -f "$log"' EXIT
else
  bindir=$(mktemp -d)
  trap 'rm -f "$log"; rm -rf "$bindir"' EXIT
fi
fail=0
# go test keeps each package's generated corpus under $GOCACHE/fuzz/<package>.
fuzzcache="$(go env GOCACHE)/fuzz"

# corpus DIR: the files under DIR, one per line (nothing if DIR is missing).
corpus() { [ -d "$1" ] && find "$1" -type f | sort || true; }

# deadline_race LOG: true when go test's only complaint is the coordinator's
# deadline (go#75804): "context deadline exceeded" and no "Failing input".
deadline_race() {
  grep -q '^    context deadline exceeded$' "$1" && ! grep -q 'Failing input written' "$1"
}

for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  fns=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  [ -n "$fns" ] || continue
  bin="$bindir/$(echo "$pkg" | tr / _).test"
  if [ -x "$bin" ] && [ -z "${FUZZ_BUILD_ONLY:-}" ]; then
    echo "fuzz: $pkg: its test binary is built already"
  else
    echo "fuzz: $pkg: building its test binary"
    if ! go test -c -o "$bin.tmp" -fuzz "^($(echo $fns | tr ' ' '|'))\$" "$pkg" >"$log" 2>&1; then
      tail -40 "$log" >&2
      echo "fuzz: $pkg: go test -c FAILED" >&2
      fail=1
      continue
    fi
    mv "$bin.tmp" "$bin"
  fi
  [ -z "${FUZZ_BUILD_ONLY:-}" ] || continue
  for fn in $fns; do
    seeds="$dir/testdata/fuzz/$fn"
    for try in 1 2; do
      echo "fuzz: $pkg $fn ($t)"
      before=$(corpus "$seeds")
      # What go test -fuzz runs: the binary in the package's directory (where
      # it reads and writes testdata/fuzz), with go test's cache and timeout.
      if (cd "$dir" && "$bin" -test.paniconexit0 -test.timeout=10m0s -test.fuzzcachedir="$fuzzcache/$pkg" \
        -test.run='^$' -test.fuzz="^${fn}\$" -test.fuzztime="$t") >"$log" 2>&1; then
        break
      fi
      if [ "$before" = "$(corpus "$seeds")" ] && deadline_race "$log"; then
        if [ "$try" = 1 ]; then
          echo "fuzz: $pkg $fn ended on Go's fuzztime deadline race (golang/go#75804), no failing input; running it again" >&2
          continue
        fi
        echo "fuzz: $pkg $fn ended on the deadline race twice, with no failing input: not counted as a failure" >&2
        break
      fi
      tail -40 "$log" >&2
      echo "fuzz: $pkg $fn FAILED (the failing input is under $seeds)" >&2
      fail=1
      break
    done
  done
done
exit $fail
