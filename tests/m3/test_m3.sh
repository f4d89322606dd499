#!/bin/sh
# lib/ on the Cortex-M3 ISA: runs the bare-metal image built by `make
# m3-image` (built here if missing; tests/m3/m3_main.c: known-answer tests and the seed-002 device
# side against vector 0) under qemu-system-arm's lm3s6965evb, and re-emits
# its TAP lines as this suite's. The image's own plan, totals and comments
# are passed through as comments. Also fails if the image does not exit 0
# through semihosting or stops before its plan (a fault, a hang).
# SKIP only when qemu-system-arm is absent (mk/debian-packages.txt has it).
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
BUILD=${BUILD:-build}
img=$BUILD/m3/main.elf
QEMU_TIMEOUT=${IOMT_M3_TIMEOUT:-60}   # seconds; the image runs in well under 1 s

if ! command -v qemu-system-arm >/dev/null 2>&1; then
	tap_skip "m3_image" "qemu-system-arm not installed (mk/debian-packages.txt)"
	tap_done
	exit
fi
# make test-run builds the image first; make check (which builds only
# "all lib-arm" in its own BUILD) does not, so build it here then.
if [ ! -f "$img" ] && ! make --no-print-directory BUILD="$BUILD" m3-image >"${TMPDIR:-/tmp}/m3make.$$" 2>&1; then
	sed 's/^/# make: /' "${TMPDIR:-/tmp}/m3make.$$" | tail -n 20
	rm -f "${TMPDIR:-/tmp}/m3make.$$"
	tap_fail "m3_image_built" "make m3-image BUILD=$BUILD failed"
	tap_done
	exit
fi
rm -f "${TMPDIR:-/tmp}/m3make.$$"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$dir/semihosting.out
# Semihosting output goes to a file chardev (without one QEMU writes it to
# stderr, mixed with the board model's own messages, shown on failure).
timeout "$QEMU_TIMEOUT" qemu-system-arm -M lm3s6965evb -nographic -monitor none \
	-chardev file,id=semi,path="$out" -semihosting-config enable=on,target=native,chardev=semi \
	-kernel "$img" </dev/null >"$dir/qemu.log" 2>&1
rc=$?
[ "$rc" = 0 ] || sed 's/^/# qemu: /' "$dir/qemu.log"
touch "$out"

plan=
while IFS= read -r line; do
	case $line in
	"ok "*) tap_ok "m3.$(echo "$line" | cut -d' ' -f3-)" ;;
	"not ok "*) tap_fail "m3.$(echo "$line" | cut -d' ' -f4-)" ;;
	1..*) plan=${line#1..}; echo "# m3: $line" ;;
	"# "*) echo "$line" ;;
	*) echo "# m3: $line" ;;
	esac
done <"$out"

if [ "$rc" = 0 ]; then tap_ok "m3_image_exit_status"
elif [ "$rc" = 124 ]; then tap_fail "m3_image_exit_status" "timed out after ${QEMU_TIMEOUT}s"
else tap_fail "m3_image_exit_status" "qemu exit $rc"; fi
if [ -n "$plan" ] && [ "$plan" = $((tap_n - 1)) ]; then tap_ok "m3_image_ran_its_plan"
else tap_fail "m3_image_ran_its_plan" "plan ${plan:-missing}, $((tap_n - 1)) results"; fi
tap_done
