#!/usr/bin/env bash
# Runs each make target given as an argument in order, keeps going after a
# failure (except deps) and prints every tier's wall time at the end.
set -uo pipefail
make=${MAKE:-make}
rc=0
summary=()
t0=$(date +%s)
for tier in "$@"; do
	echo
	echo "======== $tier ($(date -u +%H:%M:%S) UTC)"
	s=$(date +%s)
	if "$make" --no-print-directory "$tier"; then status=ok; else status=FAIL; rc=1; fi
	summary+=("$(printf '%-6s %-4s %5ss' "$tier" "$status" $(($(date +%s) - s)))")
	if [[ $tier == deps && $status == FAIL ]]; then
		break
	fi
done
echo
echo "======== make test: wall time per tier"
printf '%s\n' "${summary[@]}"
printf '%-11s %5ss\n' total $(($(date +%s) - t0))
exit $rc
