#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds kernel/iomt.ko for the qemu guest's kernel, with module BTF (its
# kfuncs need it):
#   tests/qemu/kmod_build.sh CACHE KVER KROOT   ->  prints the .ko's path
# CACHE as tests/qemu/kernel.sh's (KVER, KROOT: what it printed).
# * Debian's linux-headers-KVER (make deps: linux-headers-amd64) compile it,
#   through the top-level Kbuild (make -C KDIR M=... modules), from a copy of
#   the sources in CACHE/kmod-src so the tree stays clean.
# * Debian's kbuild has neither vmlinux nor resolve_btfids, so
#   scripts/Makefile.modfinal skips BTF. We do its two steps: pahole -J
#   against the guest's vmlinux (unpacked from its vmlinuz by the kernel's
#   scripts/extract-vmlinux; its .BTF is the guest's /sys/kernel/btf/vmlinux),
#   then resolve_btfids (built from linux-source-6.1's tools/, cached).
set -eu
cache=$1 kver=$2 kroot=$3
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=/usr/src/linux-headers-$kver
[ -f "$kdir/Makefile" ] ||
	{ echo "kmod_build: no $kdir (apt-get install linux-headers-$kver)" >&2; exit 1; }
srcver=$(basename "$(dirname "$(readlink -f "$kdir/scripts")")" | sed -n 's/^linux-kbuild-\([0-9.]*\).*/\1/p')
[ -n "$srcver" ] || srcver=$(echo "$kver" | cut -d. -f1-2)
tarball=/usr/src/linux-source-$srcver.tar.xz
tools=$cache/ksrc-$srcver
if [ ! -x "$tools/resolve_btfids/resolve_btfids" ] || [ ! -x "$tools/extract-vmlinux" ]; then
	[ -f "$tarball" ] ||
		{ echo "kmod_build: no $tarball (apt-get install linux-source-$srcver)" >&2; exit 1; }
	rm -rf "$tools"
	mkdir -p "$tools/resolve_btfids"
	tar -C "$tools" -xJf "$tarball" "linux-source-$srcver/tools" \
		"linux-source-$srcver/scripts/extract-vmlinux" "linux-source-$srcver/include/uapi" \
		"linux-source-$srcver/scripts/bpf_doc.py"
	make -s -C "$tools/linux-source-$srcver/tools/bpf/resolve_btfids" \
		OUTPUT="$tools/resolve_btfids/" -j2 >&2
	cp "$tools/linux-source-$srcver/scripts/extract-vmlinux" "$tools/extract-vmlinux"
	rm -rf "$tools/linux-source-$srcver"
fi
vmlinux=$cache/vmlinux-$kver
if [ ! -s "$vmlinux" ]; then
	"$tools/extract-vmlinux" "$kroot/boot/vmlinuz-$kver" >"$vmlinux.tmp"
	mv "$vmlinux.tmp" "$vmlinux"
fi
src=$cache/kmod-src
rm -rf "$src"
mkdir -p "$src/bpf"
cp -r "$top/Kbuild" "$top/kernel" "$top/lib" "$src/"
cp "$top"/bpf/*.h "$src/bpf/"
# kbuild says "Skipping BTF generation ... unavailability of vmlinux": the
# two steps below are that generation.
make -s -C "$kdir" M="$src" modules >&2
ko=$src/kernel/iomt.ko
LLVM_OBJCOPY=objcopy pahole -J $(PAHOLE=pahole "$kdir/scripts/pahole-flags.sh") \
	--btf_base "$vmlinux" "$ko" >&2
"$tools/resolve_btfids/resolve_btfids" -b "$vmlinux" "$ko" >&2
echo "$ko"
