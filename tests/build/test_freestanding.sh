#!/bin/sh
# lib/ is freestanding: its sources include only <stdint.h>, <stddef.h>,
# <string.h> (plus the x86 intrinsics headers in the SIMD/AES-NI kernels) and each other, and
# the Cortex-M3 objects need nothing from a C library but mem* (and libgcc's
# __aeabi_* helpers). Needs `make lib-arm` first (make test does it).
cd "$(dirname "$0")/../.." || exit 1
. tests/tap.sh
BUILD=${BUILD:-build}

bad=$(grep -hE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' lib/*.c lib/*.h |
	sed -E 's/.*<([^>]*)>.*/\1/' | sort -u | grep -vxE 'stdint.h|stddef.h|string.h|[a-z]*mmintrin.h')
if [ -z "$bad" ]; then tap_ok "lib_includes_only_freestanding_headers"
else tap_fail "lib_includes_only_freestanding_headers" "$(echo $bad)"; fi

simd=$(grep -lE '#[[:space:]]*include[[:space:]]*<[a-z]*mmintrin.h>' lib/*.c lib/*.h | grep -vE '_(avx2|avx512|aesni|bmi2)\.c$')
if [ -z "$simd" ]; then tap_ok "simd_headers_only_in_simd_kernels"
else tap_fail "simd_headers_only_in_simd_kernels" "$simd"; fi

calls=$(grep -nE '\b(malloc|calloc|realloc|free|printf|fprintf|fopen|abort|exit|getrandom|time)\(' lib/*.c)
if [ -z "$calls" ]; then tap_ok "lib_calls_no_libc_or_os"
else tap_fail "lib_calls_no_libc_or_os" "$(echo "$calls" | head -3)"; fi

lib=$BUILD/arm/libiomt.a
if [ ! -f "$lib" ]; then
	tap_fail "arm_objects_need_only_mem_functions" "$lib missing: run make lib-arm"
else
	undef=$(arm-none-eabi-nm -u "$lib" | awk 'NF == 2 { print $2 }' | sort -u |
		grep -vxE 'mem(cpy|set|cmp|move)|__aeabi_[a-z0-9_]+')
	defined=$(arm-none-eabi-nm --defined-only "$lib" | awk 'NF == 3 { print $3 }' | sort -u)
	missing=$(for s in $undef; do echo "$defined" | grep -qx "$s" || echo "$s"; done)
	if [ -z "$missing" ]; then tap_ok "arm_objects_need_only_mem_functions"
	else tap_fail "arm_objects_need_only_mem_functions" "$(echo $missing)"; fi
	arm-none-eabi-size -t "$lib" | tail -n 1 | awk '{ printf "# Cortex-M3 lib/: text %s, data %s, bss %s bytes\n", $1, $2, $3 }'
fi
tap_done
