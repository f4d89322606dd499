// SPDX-License-Identifier: GPL-2.0
/*
 * Known-answer tests at load (WireGuard's habit): the module refuses to
 * load if one fails. The vector is docs/PROTOCOL.md § 10.1's, checked in
 * userspace against OpenSSL's KMAC-128 (suite bpf.xdp cookie_vector):
 * the full KMAC (lib/cookie.c), the one-permutation path from the
 * prestate (bpf/xf_cookie.h, what the kfunc runs), a flipped cookie bit
 * refused, and Keccak-f[1600] of the zero state.
 */
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/string.h>
#include "iomt.h"
#include "cookie.h"
#include "keccak.h"
#include "ct.h"

static const u8 kat_key[16] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};
static const u8 kat_addr[16] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc6, 0x12, 0x00, 0x02,
};
static const u16 kat_port = 40000;
static const u8 kat_cookie[16] = {
	0xa0, 0xd4, 0x26, 0x5e, 0x20, 0xe5, 0x77, 0x8a,
	0x17, 0x9c, 0xa9, 0x1c, 0x39, 0xa8, 0x45, 0xf2,
};
/* Keccak-f[1600] of the all-zero state, lane 0 (the Keccak team's KAT). */
static const u64 kat_zero_lane0 = 0xf1258f7940e1dde7ULL;

int iomt_km_selftest(bool corrupt)
{
	u8 expect[16], got[16], msg[IOMT_KM_CHECK_LEN];
	u64 pre[IOMT_KM_STATE_WORDS], st[IOMT_KM_STATE_WORDS] = { 0 };
	int fails = 0;

	memcpy(expect, kat_cookie, sizeof(expect));
	if (corrupt)
		expect[0] ^= 1;   /* module parameter selftest_break (tests) */
	iomt_keccak_f1600(st);
	if (st[0] != kat_zero_lane0) {
		pr_err("iomt: self-test keccak_f1600 failed\n");
		fails++;
	}
	if (iomt_cookie_make(kat_key, kat_addr, kat_port, got) ||
	    !iomt_ct_eq(got, expect, sizeof(got))) {
		pr_err("iomt: self-test cookie_kmac failed\n");
		fails++;
	}
	memcpy(msg, kat_addr, 16);
	msg[16] = kat_port >> 8;
	msg[17] = kat_port & 0xff;
	memcpy(msg + 18, expect, 16);
	if (iomt_cookie_prestate(kat_key, pre) || iomt_km_cookie_match(pre, msg) != 1) {
		pr_err("iomt: self-test cookie_prestate failed\n");
		fails++;
	}
	msg[18 + 15] ^= 0x80;
	if (iomt_km_cookie_match(pre, msg) != 0) {
		pr_err("iomt: self-test cookie_reject failed\n");
		fails++;
	}
	memzero_explicit(pre, sizeof(pre));
	return fails ? -EINVAL : 0;
}
