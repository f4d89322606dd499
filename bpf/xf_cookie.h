/* SPDX-License-Identifier: MIT */
/*
 * The under-load cookie, computed the way the XDP filter does it: from the
 * keyed KMAC128 state (lib/cookie.h iomt_cookie_prestate), one Keccak-f[1600]
 * permutation per check. Equal by construction and by test to
 * lib/cookie.c iomt_cookie_make:
 *
 *   cookie = KMAC128(K, src_addr16 || src_port (2, BE), 128, "iomt/cookie")
 *
 * The message and KMAC's right_encode(128) fit the last block, so the
 * block is built in the lanes directly: bytes 0..17 the message, 18..19
 * right_encode(128) = 80 01, 20 cSHAKE's padding start 04, 167 the final 80.
 * The includer defines XF_INLINE and XF_PERMUTE(st) (BPF: lib/keccak_perm.h;
 * userspace: iomt_keccak_f1600). A kfunc variant (kernel/) must give the
 * same 16 bytes for the same prestate and source.
 */
#ifndef IOMT_XF_COOKIE_H
#define IOMT_XF_COOKIE_H

/* Little-endian 8 bytes, byte by byte (packet data has no alignment). */
static XF_INLINE __u64 xf_le64(const __u8 *p)
{
	return (__u64)p[0] | (__u64)p[1] << 8 | (__u64)p[2] << 16 | (__u64)p[3] << 24 |
	       (__u64)p[4] << 32 | (__u64)p[5] << 40 | (__u64)p[6] << 48 | (__u64)p[7] << 56;
}

/* m[0..3) = the last block's non-zero lanes for (addr16, port). */
static XF_INLINE void xf_cookie_msg(__u64 *m, const __u8 *addr16, __u16 port)
{
	m[0] = xf_le64(addr16);
	m[1] = xf_le64(addr16 + 8);
	m[2] = (__u64)(port >> 8) | (__u64)(port & 0xff) << 8 |
	       0x80ULL << 16 | 0x01ULL << 24 | 0x04ULL << 32;
}

/* st = the state whose first 16 output bytes (lanes 0 and 1, little-endian)
 * are the cookie of message lanes m under the key behind pre. */
static XF_INLINE void xf_cookie_state(__u64 *st, const __u64 *pre, const __u64 *m)
{
	for (int i = 0; i < IOMT_XF_KECCAK_WORDS; i++)
		st[i] = pre[i];
	st[0] ^= m[0];
	st[1] ^= m[1];
	st[2] ^= m[2];
	st[20] ^= 0x80ULL << 56;
	XF_PERMUTE(st);
}

/* 1 if the 16 bytes at c are the cookie in st; no early exit. */
static XF_INLINE int xf_cookie_eq(const __u64 *st, __u64 c0, __u64 c1)
{
	return ((st[0] ^ c0) | (st[1] ^ c1)) == 0;
}

#endif
