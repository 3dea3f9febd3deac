#!/usr/bin/env bash
# Runs every check of the project: formatting, vet, the fast tests
# (-short), then the whole test suite with the race detector, real
# services and processes included. This is the test
# command in README.md, and CI runs exactly it (through .ci/run).
#
# Environment:
#   FUZZTIME=10s   also fuzz every fuzz target for that long (default: only
#                  their seed corpora run, as part of the normal tests)
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "test.sh: Go is not installed (expected in /usr/local/go/bin)" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted (run gofmt -w):" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go vet"
go vet ./...

# The fast tests first, as a quick gate: -short means "no external
# service needed" (no RabbitMQ, dockerd, Slurm, python3 or PostgreSQL;
# the tests that need one skip, see internal/needs), so they run before
# scripts/start-services.sh and must pass on their own. Running them here
# keeps `go test -short ./...`, which README.md offers as the quick
# check, from rotting.
step "go test -short (fast tests: no service needed)"
go test -short -count=1 -timeout 15m ./...

step "start services" && bash scripts/start-services.sh
step "go test -race (unit and integration tests)"
go test -race -count=1 -timeout 20m ./...

# A module of its own, so ./... above does not reach it (its vet runs
# there, in examples/outside_test.go): funcx embedded as a user would,
# with a provider and a router of its own.
step "examples/embed (go test -race, then go run)"
(cd examples/embed && go test -race -count=1 ./... && go run . -tasks 100)

if [ -n "${FUZZTIME:-}" ]; then
  step "fuzzing each target for $FUZZTIME"
  for pkg in $(go list ./...); do
    for target in $(go test -list 'Fuzz.*' "$pkg" | grep '^Fuzz' || true); do
      echo "-- $pkg $target"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
    done
  done
fi

step "all checks passed"
