#!/usr/bin/env bash
# Installs the system packages the test tiers need (Debian 12), idempotently
# and non-interactively. Does nothing when everything is already installed.
set -euo pipefail

packages=(
	keepalived frr tshark tcpdump nftables iproute2 iputils-ping
	qemu-system-x86 busybox-static ipvsadm kmod cpio dnsmasq opensmtpd procps systemd
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

# The VM tier runs `apt-get download` for the kernel package: it needs
# package lists even when every package above is installed.
have_lists=false
if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	have_lists=true
fi

if ((${#missing[@]} == 0)) && $have_lists; then
	echo "deps: all ${#packages[@]} packages installed"
	exit 0
fi

if [[ $(id -u) != 0 ]]; then
	echo "deps: need root to install: ${missing[*]:-(package lists)}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -q
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
