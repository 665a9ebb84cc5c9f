#!/usr/bin/env bash
# The fuzz tier: every `func FuzzXxx` in the tree, each for the number of
# executions scripts/fuzz-budgets gives it (internal/cmd/fuzzrun explains
# why counts and not durations). FUZZ_DIRS (an extended regexp on the
# package directory, e.g. 'vrrp|bfd') narrows the run; FUZZ_SCALE
# multiplies every count (10 for a ten times longer run).
set -euo pipefail
go=${GO:-go}
exec "$go" run ./internal/cmd/fuzzrun -budgets scripts/fuzz-budgets \
	-dirs "${FUZZ_DIRS:-.}" -scale "${FUZZ_SCALE:-1}"
