/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel/iomt.ko internals (kernel/README.md): the cookie keys the module
 * holds (iomt_keys.c), the cookie check the kfunc and the self-tests share,
 * the kfunc set (iomt_kfunc.c) and the generic netlink family (iomt_genl.c).
 */
#ifndef IOMT_KMOD_H
#define IOMT_KMOD_H
#include <linux/types.h>

enum {
	IOMT_KM_KEY_LEN = 16,
	IOMT_KM_STATE_WORDS = 25,
	/* The kfunc's message: addr16 (16) || port (2, BE) || cookie (16). */
	IOMT_KM_CHECK_LEN = 16 + 2 + 16,
};

/* 1 if msg (IOMT_KM_CHECK_LEN bytes) carries the cookie of its address and
 * port under the key whose KMAC prestate is pre; 0 if not. Constant time in
 * the cookie. bpf/xf_cookie.h's computation, one Keccak-f[1600]. */
int iomt_km_cookie_match(const u64 pre[IOMT_KM_STATE_WORDS], const u8 *msg);

/* Installs the current key and the previous one (prev NULL: none); the
 * module keeps only their KMAC prestates. 0 or -errno. */
int iomt_km_keys_set(const u8 cur[IOMT_KM_KEY_LEN], const u8 *prev);
/* Forgets both keys. */
void iomt_km_keys_clear(void);
/* Module exit: forgets the keys, waits for RCU frees. */
void iomt_km_keys_exit(void);
/* Which keys are set (for the status reply; never the keys). */
void iomt_km_keys_status(u32 *have_cur, u32 *have_prev, u64 *generation);
/* The kfunc's check against the held keys: 1 match (current or previous),
 * 0 no match, -ENOKEY no current key. Callable in any context (RCU). */
int iomt_km_keys_check(const u8 *msg);

/* Known-answer tests run at load; 0 or -EINVAL (the module refuses to load). */
int iomt_km_selftest(bool corrupt);

int iomt_km_kfunc_register(void);
int iomt_km_genl_register(void);
void iomt_km_genl_unregister(void);

#endif
