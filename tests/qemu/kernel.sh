#!/bin/sh
# SPDX-License-Identifier: MIT
# Debian's stock amd64 kernel for the qemu guests, unpacked (never
# installed: the host's /boot and initramfs-tools are not touched), cached
# in $1 (e.g. $(BUILD)/qemu) between runs:
#   tests/qemu/kernel.sh CACHE_DIR  ->  prints "KVER KROOT" on stdout
# KVER is what linux-image-amd64 depends on (apt-cache depends); KROOT holds
# boot/vmlinuz-KVER and lib/modules/KVER (depmod'ed). Needs apt's lists
# (apt-get update) and the network on a cold cache only.
set -eu
cache=$1
mkdir -p "$cache"
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || { echo "kernel.sh: apt-cache knows no linux-image-amd64 (apt-get update?)" >&2; exit 1; }
kver=${pkg#linux-image-}
kroot=$cache/kroot-$kver
# One fetch at a time per cache (suites may run side by side).
exec 9>"$cache/.kernel.lock"
flock 9
if [ ! -f "$kroot/.ok" ]; then
	rm -rf "$kroot" "$cache/dl"
	mkdir -p "$cache/dl"
	(cd "$cache/dl" && apt-get download -q "$pkg" >&2) ||
		{ echo "kernel.sh: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$cache"/dl/"$pkg"_*.deb "$kroot"
	depmod -b "$kroot" "$kver"
	rm -rf "$cache/dl"
	touch "$kroot/.ok"
fi
echo "$kver $kroot"
