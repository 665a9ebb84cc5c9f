#!/usr/bin/env bash
# Enforces the package boundaries of DESIGN.md: vrrp, vip, bfd, check and
# ipvs (with their subpackages) never import one another nor internal/;
# their tests may also import internal/testutil and internal/vm. The test
# helpers themselves import none of the five.
set -euo pipefail

mod=$(go list -m)
roots=(vrrp vip bfd check ipvs)
fail=0

in_roots() {
	local top=$1 r
	for r in "${roots[@]}"; do [[ $top == "$r" ]] && return 0; done
	return 1
}

for root in "${roots[@]}"; do
	[[ -d $root ]] || continue
	while IFS='|' read -r pkg imports testimports; do
		for imp in $imports; do
			[[ $imp == "$mod"/* ]] || continue
			rel=${imp#"$mod"/}
			if [[ ${rel%%/*} != "$root" ]]; then
				echo "import boundary: $pkg imports $imp" >&2
				fail=1
			fi
		done
		for imp in $testimports; do
			[[ $imp == "$mod"/* ]] || continue
			rel=${imp#"$mod"/}
			case $rel in
			"$root" | "$root"/* | internal/testutil | internal/testutil/* | internal/vm | internal/vm/*) ;;
			*)
				echo "import boundary: tests of $pkg import $imp" >&2
				fail=1
				;;
			esac
		done
	done < <(go list -e -f '{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}' "./$root/...")
done

for helper in internal/testutil internal/vm; do
	[[ -d $helper ]] || continue
	for imp in $(go list -e -deps -f '{{.ImportPath}}' "./$helper/..."); do
		[[ $imp == "$mod"/* ]] || continue
		rel=${imp#"$mod"/}
		if in_roots "${rel%%/*}"; then
			echo "import boundary: test helper $helper depends on $imp" >&2
			fail=1
		fi
	done
done

if ((fail)); then
	exit 1
fi
echo "import boundaries: ok"
