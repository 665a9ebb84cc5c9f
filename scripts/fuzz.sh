#!/usr/bin/env bash
# Fuzzes every `func FuzzXxx` in the tree for FUZZTIME (default 5s) each.
# FUZZ_DIRS (an extended regexp on the package directory, e.g. 'vrrp|bfd')
# narrows the run.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
filter=${FUZZ_DIRS:-.}
n=0
failed=()
while IFS= read -r file; do
	dir=./$(dirname "${file#./}")
	[[ $dir =~ $filter ]] || continue
	while IFS= read -r name; do
		n=$((n + 1))
		echo "== fuzz $dir $name ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$dir"; then
			failed+=("$dir $name")
		fi
	done < <(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //')
done < <(find . -name '*_test.go' -not -path './.cache/*' -not -path './.bin/*' -not -path '*/testdata/*' -print0 |
	xargs -0 grep -l '^func Fuzz' | sort)
echo "fuzz: $n targets, ${#failed[@]} failed"
if ((${#failed[@]})); then
	printf 'fuzz FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
