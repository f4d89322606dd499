#!/bin/sh
# SPDX-License-Identifier: MIT
# A busybox initramfs for one qemu guest run:
#   tests/qemu/mkinitramfs.sh OUT.cpio GUEST_SCRIPT [FILE...]
# env: KVER, KROOT (from tests/qemu/kernel.sh); MODS="m1 m2 ..." kernel
# modules, each with its dependencies (modprobe --show-depends against
# KROOT), loaded in that order at boot; PRELOAD too, loaded first.
# GUEST_SCRIPT becomes /test/run.sh, run by tests/qemu/guest/init; each FILE
# is copied into /test (programs with the shared libraries ldd lists, at
# their host paths), so the guest runs what the host built.
set -eu
out=$1 script=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
	"$root/run" "$root/mods" "$root/test" "$root/etc"
busybox=$(command -v busybox)
file "$busybox" | grep -q 'statically linked' ||
	{ echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2; exit 1; }
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
: >"$root/mods/order"
for m in ${PRELOAD:-} ${MODS:-}; do
	deps=$(modprobe -d "$KROOT" -S "$KVER" --show-depends "$m") ||
		{ echo "mkinitramfs: no module $m in $KROOT ($KVER)" >&2; exit 1; }
	echo "$deps" | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
		b=$(basename "$ko")
		grep -qx "$b" "$root/mods/order" && continue
		cp "$ko" "$root/mods/$b"
		echo "$b" >>"$root/mods/order"
	done
done
cp "$here/guest/init" "$root/init"
cp "$here/guest/tap.sh" "$root/test/tap.sh"
cp "$script" "$root/test/run.sh"
chmod +x "$root/init" "$root/test/run.sh"
for f in "$@"; do
	cp -L "$f" "$root/test/"
	file -L "$f" | grep -q 'dynamically linked' || continue
	for l in $(ldd "$f" | grep -oE '/[^ ]+'); do
		[ -e "$root$l" ] && continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
