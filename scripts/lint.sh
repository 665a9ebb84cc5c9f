#!/usr/bin/env bash
# Runs every lint step, keeps going after a failure, and fails at the end if
# any step failed. Usage: scripts/lint.sh STATICCHECK_BINARY
set -uo pipefail
staticcheck=$1
go=${GO:-go}
failed=()

step() {
	local name=$1
	shift
	echo "== $name"
	if ! "$@"; then
		failed+=("$name")
	fi
}

gofmt_check() {
	local out
	out=$(find . -name '*.go' -not -path './.cache/*' -not -path './.bin/*' -not -path '*/testdata/*' -print0 |
		xargs -0 gofmt -l)
	if [[ -n $out ]]; then
		echo "gofmt -w needed on:"
		echo "$out"
		return 1
	fi
}

step gofmt gofmt_check
step "go vet" "$go" vet ./...
step "GOOS=darwin go vet" env GOOS=darwin "$go" vet ./...
step staticcheck "$staticcheck" ./...
step "go mod tidy -diff" "$go" mod tidy -diff
step "import boundaries" scripts/check-imports.sh

if ((${#failed[@]})); then
	printf 'lint FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "lint: ok"
