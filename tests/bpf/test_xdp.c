/* SPDX-License-Identifier: MIT */
/*
 * The XDP ingress filter under the host kernel's verifier: crafted
 * Ethernet/IPv4/IPv6/UDP frames through BPF_PROG_TEST_RUN, each frame's
 * verdict read from the per-CPU counters (exactly one moves by one), and
 * the userspace fallback (rt_filter) giving the same verdicts. The tc twin
 * (clsact ingress, skb input) gives the XDP program's verdicts, and runs on
 * lo in a network namespace of the test's own.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include "harness.h"
#include "ref.h"
#include "lib/rt_xdp.h"
#include "lib/rt_filter.h"
#include "lib/rt_ingress.h"
#include "cookie.h"
#include "iomt_err.h"
#include "keccak.h"
#include "s2_data.h"
#include "pkt.h"

#define XF_INLINE inline
#define XF_PERMUTE(st) iomt_keccak_f1600((uint64_t *)(st))
#include "xf_cookie.h"

enum { PORT = 5683, OTHER_PORT = 5684, T0 = 1000000000 };

static const uint16_t ports[] = { PORT };
static const struct pkt_src src_a = { 0, { 198, 18, 0, 2 }, 40000 };
static const struct pkt_src src_b = { 0, { 198, 18, 0, 3 }, 40000 };
static const struct pkt_src src_6 = { 1, { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, [15] = 7 }, 40001 };
static const uint8_t key0[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t key1[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				  0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t key2[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				  0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

static struct rt_xdp *xopen_hook(enum rt_xdp_hook hook)
{
	struct rt_xdp *x = NULL;
	struct iomt_xf_conf c;
	char why[256];
	int err = rt_xdp_open_hook(&x, ports, 1, RT_XDP_VARIANT_PURE, hook, why, sizeof(why));

	if (err == -EPERM || err == -EACCES || err == -ENOSYS) {
		SKIP(return NULL, "BPF programs cannot be loaded here: %s", why);
	}
	if (err)
		TH_LOG("rt_xdp_open: %s", why);
	ASSERT_EQ(err, 0);
	/* A fixed clock: buckets refill only when a test moves it. */
	ASSERT_EQ(rt_xdp_get_conf(x, &c), 0);
	c.now_ns = T0;
	ASSERT_EQ(rt_xdp_set_conf(x, &c), 0);
	return x;
}

static struct rt_xdp *xopen(void)
{
	return xopen_hook(RT_XDP_HOOK_XDP);
}

static void set_now(struct rt_xdp *x, uint64_t ns)
{
	struct iomt_xf_conf c;

	ASSERT_EQ(rt_xdp_get_conf(x, &c), 0);
	c.now_ns = ns;
	ASSERT_EQ(rt_xdp_set_conf(x, &c), 0);
}

/* The verdict of one frame: the one counter that moved, checked against
 * the XDP action. */
static int verdict(struct rt_xdp *x, const uint8_t *pkt, size_t len)
{
	uint64_t before[IOMT_XF_NVERDICTS], after[IOMT_XF_NVERDICTS];
	uint32_t action = 0;
	int v = -1, moved = 0;

	ASSERT_EQ(rt_xdp_counters(x, before), 0);
	ASSERT_EQ(rt_xdp_test_run(x, pkt, len, 1, &action, NULL), 0);
	ASSERT_EQ(rt_xdp_counters(x, after), 0);
	for (int i = 0; i < IOMT_XF_NVERDICTS; i++) {
		if (after[i] != before[i]) {
			ASSERT_EQ(after[i] - before[i], 1);
			v = i;
			moved++;
		}
	}
	ASSERT_EQ(moved, 1);
	ASSERT_EQ(action, (v == IOMT_XF_PASS || v == IOMT_XF_PASS_NOT_OURS) ? 2u : 1u);
	return v;
}

/* The verdict of a frame of type/plen from s to PORT. */
static int frame_verdict(struct rt_xdp *x, const struct pkt_src *s, uint8_t type, size_t plen)
{
	uint8_t f[PKT_MAX], p[PKT_MAX];
	size_t n = pkt_frame(f, type, plen, 0x5a);

	return verdict(x, p, pkt_build(p, s, PORT, f, n));
}

#define EXPECT_VERDICT(got, want)                                                   \
	do {                                                                        \
		int g_ = (got), w_ = (want);                                        \
		if (g_ != w_)                                                       \
			TH_LOG("verdict %s, expected %s", rt_xdp_verdict_name(g_),   \
			       rt_xdp_verdict_name(w_));                            \
		EXPECT_EQ(g_, w_);                                                  \
	} while (0)

/* ---- cookies: lib/cookie.c, OpenSSL, the filter's one-permutation form ---- */

TEST(cookie_vector)
{
	/* docs/PROTOCOL.md § "Cookies and the ingress filter", vector 1 */
	static const uint8_t want[16] = {
		0xa0, 0xd4, 0x26, 0x5e, 0x20, 0xe5, 0x77, 0x8a,
		0x17, 0x9c, 0xa9, 0x1c, 0x39, 0xa8, 0x45, 0xf2,
	};
	uint8_t addr[16], c[16], ref[16], msg[18];

	iomt_cookie_addr_v4(addr, src_a.addr);
	ASSERT_EQ(iomt_cookie_make(key0, addr, 40000, c), 0);
	memcpy(msg, addr, 16);
	msg[16] = 40000 >> 8;
	msg[17] = 40000 & 0xff;
	ossl_kmac(key0, 16, "iomt/cookie", msg, sizeof(msg), ref, sizeof(ref));
	ASSERT_MEMEQ(c, ref, 16);
	ASSERT_MEMEQ(c, want, 16);
}

TEST(cookie_prestate_is_kmac)
{
	uint8_t key[16], addr[16], c[16], msg[18], ref[16];
	__u64 pre[25], st[25], m[3];
	uint16_t port;

	for (int i = 0; i < 200; i++) {
		for (int j = 0; j < 16; j++) {
			key[j] = (uint8_t)rand();
			addr[j] = (uint8_t)rand();
		}
		port = (uint16_t)rand();
		ASSERT_EQ(iomt_cookie_make(key, addr, port, c), 0);
		memcpy(msg, addr, 16);
		msg[16] = (uint8_t)(port >> 8);
		msg[17] = (uint8_t)port;
		ossl_kmac(key, 16, "iomt/cookie", msg, sizeof(msg), ref, sizeof(ref));
		ASSERT_MEMEQ(c, ref, 16);
		ASSERT_EQ(iomt_cookie_prestate(key, (uint64_t *)pre), 0);
		xf_cookie_msg(m, addr, port);
		xf_cookie_state(st, pre, m);
		ASSERT_TRUE(xf_cookie_eq(st, xf_le64(c), xf_le64(c + 8)));
		c[i % 16] ^= 1;
		ASSERT_FALSE(xf_cookie_eq(st, xf_le64(c), xf_le64(c + 8)));
	}
	ASSERT_EQ(iomt_cookie_make(NULL, addr, 1, c), IOMT_EINVAL);
	ASSERT_EQ(iomt_cookie_prestate(key, NULL), IOMT_EINVAL);
}

/* ---- sizes: the filter's table is lib/'s ---- */

TEST(sizes_are_libs)
{
	struct rt_xdp *x = xopen();
	int checked = 0;

	if (!x)
		return;
	for (int t = 0; t < 256; t++) {
		size_t want = iomt_wire_fixed_len((uint8_t)t);

		if (t == IOMT_MSG_S2_DATA || t == IOMT_MSG_COOKIE_WRAP)
			continue;  /* their own tests below */
		if (want == (size_t)-1) {
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, 17), IOMT_XF_DROP_MALFORMED);
			continue;
		}
		if (want == 0) {
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, 0), IOMT_XF_PASS);
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, 1000), IOMT_XF_PASS);
		} else {
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, want), IOMT_XF_PASS);
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, want - 1), IOMT_XF_DROP_SIZE);
			EXPECT_VERDICT(frame_verdict(x, &src_a, (uint8_t)t, want + 1), IOMT_XF_DROP_SIZE);
			EXPECT_VERDICT(frame_verdict(x, &src_6, (uint8_t)t, want), IOMT_XF_PASS);
		}
		checked++;
	}
	/* every type lib/wire.c knows but the two above */
	EXPECT_GE(checked, 21);
	/* S2_DATA: whole samples between lib/s2_data.h's bounds */
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN),
		       IOMT_XF_DROP_NO_SESSION);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MAX_LEN),
		       IOMT_XF_DROP_NO_SESSION);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN - 1),
		       IOMT_XF_DROP_SIZE);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN + 1),
		       IOMT_XF_DROP_SIZE);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MAX_LEN + 7),
		       IOMT_XF_DROP_SIZE);
	/* COOKIE_WRAP: at least a cookie and an inner header */
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_COOKIE_WRAP, 19), IOMT_XF_DROP_SIZE);
	rt_xdp_close(x);
}

TEST(headers)
{
	struct rt_xdp *x = xopen();
	uint8_t f[256], p[PKT_MAX];
	size_t n, len;

	if (!x)
		return;
	n = pkt_frame(f, IOMT_MSG_S2_M4, IOMT_WIRE_S2_M4_LEN, 1);
	len = pkt_build(p, &src_a, PORT, f, n);
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_PASS);
	/* wrong version */
	p[len - n] = 2;
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_DROP_MALFORMED);
	/* the length field says one byte more than the datagram holds */
	len = pkt_build(p, &src_a, PORT, f, n);
	p[len - n + 3]++;
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_DROP_MALFORMED);
	/* fewer than 4 bytes of frame */
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, PORT, f, 3)), IOMT_XF_DROP_MALFORMED);
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, PORT, f, 0)), IOMT_XF_DROP_MALFORMED);
	/* UDP length not the IP payload's */
	len = pkt_build(p, &src_a, PORT, f, n);
	p[PKT_ETH + PKT_IP4 + 5]--;
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_DROP_MALFORMED);
	/* IP total length beyond the frame */
	len = pkt_build(p, &src_a, PORT, f, n);
	EXPECT_VERDICT(verdict(x, p, len - 1), IOMT_XF_DROP_MALFORMED);
	/* Ethernet padding after the datagram is fine */
	len = pkt_build(p, &src_a, PORT, f, n);
	memset(p + len, 0, 8);
	EXPECT_VERDICT(verdict(x, p, len + 8), IOMT_XF_PASS);
	/* IPv4 options (ihl 6) */
	len = pkt_build(p, &src_a, PORT, f, n);
	memmove(p + PKT_ETH + 24, p + PKT_ETH + 20, len - PKT_ETH - 20);
	memset(p + PKT_ETH + 20, 1, 4);   /* 4 x NOP */
	p[PKT_ETH] = 0x46;
	pkt_be16(p + PKT_ETH + 2, (uint32_t)(len + 4 - PKT_ETH));
	EXPECT_VERDICT(verdict(x, p, len + 4), IOMT_XF_PASS);
	/* IPv6 payload length beyond the frame */
	len = pkt_build(p, &src_6, PORT, f, n);
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_PASS);
	EXPECT_VERDICT(verdict(x, p, len - 1), IOMT_XF_DROP_MALFORMED);
	rt_xdp_close(x);
}

TEST(not_ours_passes)
{
	struct rt_xdp *x = xopen();
	uint8_t f[64], p[PKT_MAX];
	size_t n, len;

	if (!x)
		return;
	n = pkt_frame(f, 0xee, 3, 1);   /* junk, but not to a service port */
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, OTHER_PORT, f, n)), IOMT_XF_PASS_NOT_OURS);
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_6, OTHER_PORT, f, n)), IOMT_XF_PASS_NOT_OURS);
	/* TCP to the service port */
	len = pkt_build(p, &src_a, PORT, f, n);
	p[PKT_ETH + 9] = 6;
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_PASS_NOT_OURS);
	/* ARP */
	len = pkt_build(p, &src_a, PORT, f, n);
	pkt_be16(p + 12, 0x0806);
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_PASS_NOT_OURS);
	/* an IPv4 fragment: the stack reassembles, the daemon checks */
	len = pkt_build(p, &src_a, PORT, f, n);
	p[PKT_ETH + 6] = 0x20;
	EXPECT_VERDICT(verdict(x, p, len), IOMT_XF_PASS_NOT_OURS);
	/* a runt */
	EXPECT_VERDICT(verdict(x, p, 14), IOMT_XF_PASS_NOT_OURS);
	rt_xdp_close(x);
}

/* ---- per-source token buckets ---- */

TEST(rate_limit)
{
	struct rt_xdp *x = xopen();

	if (!x)
		return;
	ASSERT_EQ(rt_xdp_set_rates(x, 10, 3, 0, 0), 0);   /* 10/s, burst 3 */
	for (int i = 0; i < 3; i++)
		EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN),
		       IOMT_XF_DROP_RATE);
	/* other sources have their own buckets; non-requests are not limited */
	EXPECT_VERDICT(frame_verdict(x, &src_b, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M4, 48), IOMT_XF_PASS);
	/* 99 ms: not yet one token; 100 ms: one */
	set_now(x, T0 + 99000000ULL);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
	set_now(x, T0 + 199000000ULL);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
	/* a long pause refills to the burst, no more */
	set_now(x, T0 + 100ULL * 1000000000ULL);
	for (int i = 0; i < 3; i++)
		EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
	/* an IPv6 source is limited by its /64 */
	for (int i = 0; i < 3; i++)
		EXPECT_VERDICT(frame_verdict(x, &src_6, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	{
		struct pkt_src other = src_6;

		other.addr[15] = 99;
		EXPECT_VERDICT(frame_verdict(x, &other, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
		other.addr[7] = 2;
		EXPECT_VERDICT(frame_verdict(x, &other, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	}
	EXPECT_EQ(rt_xdp_set_rates(x, 10, 1000001, 0, 0), -EINVAL);
	rt_xdp_close(x);
}

/* ---- cookies under load ---- */

/* COOKIE_WRAP(cookie, request of type/len) from s. */
static int wrap_verdict(struct rt_xdp *x, const struct pkt_src *s, const uint8_t cookie[16],
			uint8_t type, size_t plen)
{
	uint8_t f[PKT_MAX], p[PKT_MAX];
	size_t n = pkt_frame(f, IOMT_MSG_COOKIE_WRAP, 16 + 4 + plen, 0);

	memcpy(f + 4, cookie, 16);
	pkt_frame(f + 20, type, plen, 0x33);
	return verdict(x, p, pkt_build(p, s, PORT, f, n));
}

static void cookie_of(const struct pkt_src *s, const uint8_t key[16], uint8_t c[16])
{
	uint8_t addr[16];

	if (s->v6)
		memcpy(addr, s->addr, 16);
	else
		iomt_cookie_addr_v4(addr, s->addr);
	ASSERT_EQ(iomt_cookie_make(key, addr, s->port, c), 0);
}

TEST(cookies)
{
	struct rt_xdp *x = xopen();
	uint8_t c0[16], c1[16], c2[16], c6[16], bad[16];
	struct pkt_src moved = src_a;

	if (!x)
		return;
	cookie_of(&src_a, key0, c0);
	cookie_of(&src_a, key1, c1);
	cookie_of(&src_a, key2, c2);
	cookie_of(&src_6, key2, c6);
	/* no keys yet: no cookie is valid */
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_BAD_COOKIE);
	ASSERT_EQ(rt_xdp_set_cookie_keys(x, key2, key1), 0);
	ASSERT_EQ(rt_xdp_set_rates(x, 0, 0, 1, 1), 0);   /* one cookie reply per second */
	/* not under load: plain requests pass */
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	ASSERT_EQ(rt_xdp_set_under_load(x, 1), 0);
	/* under load: the cookie-reply budget, then no more */
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_NO_COOKIE);
	EXPECT_VERDICT(frame_verdict(x, &src_b, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN),
		       IOMT_XF_DROP_NO_COOKIE);
	/* non-requests are not asked for a cookie */
	EXPECT_VERDICT(frame_verdict(x, &src_a, IOMT_MSG_S2_M4, 48), IOMT_XF_PASS);
	/* current and previous epoch: in; expired, wrong, other port: out */
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c1, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c1, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN),
		       IOMT_XF_PASS);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c0, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_BAD_COOKIE);
	for (int i = 0; i < 16; i++) {
		memcpy(bad, c2, 16);
		bad[i] ^= 0x80;
		EXPECT_VERDICT(wrap_verdict(x, &src_a, bad, IOMT_MSG_S2_M1, 64),
			       IOMT_XF_DROP_BAD_COOKIE);
	}
	moved.port++;
	EXPECT_VERDICT(wrap_verdict(x, &moved, c2, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_BAD_COOKIE);
	EXPECT_VERDICT(wrap_verdict(x, &src_b, c2, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_BAD_COOKIE);
	EXPECT_VERDICT(wrap_verdict(x, &src_6, c6, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	/* only a request of its exact size may be wrapped */
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M4, 48), IOMT_XF_DROP_MALFORMED);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M1, 63), IOMT_XF_DROP_SIZE);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M1, 65), IOMT_XF_DROP_SIZE);
	/* the epoch turns: key1 expires */
	ASSERT_EQ(rt_xdp_set_cookie_keys(x, key0, key2), 0);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c1, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_BAD_COOKIE);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c2, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c0, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	/* a second later the budget has one more reply */
	set_now(x, T0 + 1000000000ULL);
	EXPECT_VERDICT(frame_verdict(x, &src_b, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(frame_verdict(x, &src_b, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_NO_COOKIE);
	/* off again */
	ASSERT_EQ(rt_xdp_set_under_load(x, 0), 0);
	EXPECT_VERDICT(frame_verdict(x, &src_b, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	/* wrapped requests are rate limited like plain ones */
	ASSERT_EQ(rt_xdp_set_rates(x, 1, 1, 0, 0), 0);
	ASSERT_EQ(rt_xdp_reset_buckets(x), 0);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c0, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	EXPECT_VERDICT(wrap_verdict(x, &src_a, c0, IOMT_MSG_S2_M1, 64), IOMT_XF_DROP_RATE);
	rt_xdp_close(x);
}

/* ---- sessions and the replay window ---- */

static int data_verdict(struct rt_xdp *x, const uint8_t handle[8], uint64_t ctr)
{
	uint8_t f[PKT_MAX], p[PKT_MAX];
	size_t n = pkt_frame(f, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN, 0x77);

	memcpy(f + 4, handle, 8);
	for (int i = 0; i < 8; i++)
		f[12 + i] = (uint8_t)(ctr >> (56 - 8 * i));
	return verdict(x, p, pkt_build(p, &src_a, PORT, f, n));
}

TEST(sessions)
{
	static const uint8_t h[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, h2[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	struct iomt_s2_replay w;
	struct rt_xdp *x = xopen();

	if (!x)
		return;
	EXPECT_VERDICT(data_verdict(x, h, 1), IOMT_XF_DROP_NO_SESSION);
	iomt_s2_replay_init(&w);
	ASSERT_EQ(rt_xdp_session_set(x, h, w.top, w.bits), 0);
	EXPECT_VERDICT(data_verdict(x, h, 1), IOMT_XF_PASS);
	EXPECT_VERDICT(data_verdict(x, h2, 1), IOMT_XF_DROP_NO_SESSION);
	EXPECT_VERDICT(data_verdict(x, h, 0), IOMT_XF_DROP_MALFORMED);
	EXPECT_VERDICT(data_verdict(x, h, IOMT_S2_DATA_COUNTER_MAX + 1), IOMT_XF_DROP_MALFORMED);
	/* the daemon accepts 5 (authenticated) and says so */
	iomt_s2_replay_commit(&w, 5);
	ASSERT_EQ(rt_xdp_session_set(x, h, w.top, w.bits), 0);
	EXPECT_VERDICT(data_verdict(x, h, 5), IOMT_XF_DROP_REPLAY);
	/* 3, late but inside the window: once */
	EXPECT_VERDICT(data_verdict(x, h, 3), IOMT_XF_PASS);
	iomt_s2_replay_commit(&w, 3);
	ASSERT_EQ(rt_xdp_session_set(x, h, w.top, w.bits), 0);
	EXPECT_VERDICT(data_verdict(x, h, 3), IOMT_XF_DROP_REPLAY);
	EXPECT_VERDICT(data_verdict(x, h, 4), IOMT_XF_PASS);
	EXPECT_VERDICT(data_verdict(x, h, 6), IOMT_XF_PASS);
	/* the window's far edge */
	iomt_s2_replay_commit(&w, 100);
	ASSERT_EQ(rt_xdp_session_set(x, h, w.top, w.bits), 0);
	EXPECT_VERDICT(data_verdict(x, h, 100 - 63), IOMT_XF_PASS);
	EXPECT_VERDICT(data_verdict(x, h, 100 - 64), IOMT_XF_DROP_REPLAY);
	ASSERT_EQ(rt_xdp_session_del(x, h), 0);
	EXPECT_VERDICT(data_verdict(x, h, 101), IOMT_XF_DROP_NO_SESSION);
	EXPECT_EQ(rt_xdp_session_del(x, h), -ENOENT);
	rt_xdp_close(x);
}

/* The filter's window check is lib/s2_data.h's. */
TEST(window_is_libs)
{
	static const uint8_t h[8] = { 7 };
	struct iomt_s2_replay w;
	struct rt_xdp *x = xopen();

	if (!x)
		return;
	srand(7);
	for (int i = 0; i < 400; i++) {
		uint64_t c;
		int lib, want;

		w.top = (uint64_t)(rand() % 300);
		w.bits = ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
		if (w.top == 0)
			w.bits = 0;
		c = (uint64_t)(rand() % 330);
		if (i % 50 == 0)
			c = IOMT_S2_DATA_COUNTER_MAX + (uint64_t)(rand() % 2);
		ASSERT_EQ(rt_xdp_session_set(x, h, w.top, w.bits), 0);
		lib = iomt_s2_replay_check(&w, c);
		want = lib == IOMT_OK ? IOMT_XF_PASS :
		       lib == IOMT_ESTATE ? IOMT_XF_DROP_REPLAY : IOMT_XF_DROP_MALFORMED;
		EXPECT_VERDICT(data_verdict(x, h, c), want);
	}
	rt_xdp_close(x);
}

/* ---- the userspace fallback gives the same verdicts ---- */

struct corpus {
	uint8_t p[PKT_MAX];
	size_t len;
};

static size_t base_packet(uint8_t *p, int kind, const uint8_t *handles, const uint8_t keys[][16])
{
	static const struct pkt_src *srcs[] = { &src_a, &src_b, &src_6 };
	const struct pkt_src *s = srcs[rand() % 3];
	uint8_t f[PKT_MAX], c[16];
	size_t n;

	switch (kind) {
	case 0:
		n = pkt_frame(f, IOMT_MSG_S2_M1, 64, 1);
		break;
	case 1:
		n = pkt_frame(f, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN, 2);
		break;
	case 2:
		n = pkt_frame(f, IOMT_MSG_REC_PUT, (size_t)(rand() % 300), 3);
		break;
	case 3: {
		uint64_t ctr = (uint64_t)(rand() % 140);

		n = pkt_frame(f, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN + 7 * (size_t)(rand() % 3), 4);
		memcpy(f + 4, handles + 8 * (rand() % 4), 8);
		for (int i = 0; i < 8; i++)
			f[12 + i] = (uint8_t)(ctr >> (56 - 8 * i));
		break;
	}
	case 4:
		n = pkt_frame(f, IOMT_MSG_COOKIE_WRAP, 16 + 4 + 64, 0);
		cookie_of(s, keys[rand() % 3], c);
		memcpy(f + 4, c, 16);
		pkt_frame(f + 20, IOMT_MSG_S2_M1, 64, 5);
		break;
	default:
		n = pkt_frame(f, (uint8_t)rand(), (size_t)(rand() % 200), 6);
		break;
	}
	return pkt_build(p, s, rand() % 8 ? PORT : OTHER_PORT, f, n);
}

static void mutate(struct corpus *c)
{
	int r = rand() % 6;

	if (r == 0)
		return;
	if (r <= 3) {
		for (int k = 0; k < 1 + rand() % 3; k++)
			c->p[(size_t)rand() % c->len] ^= (uint8_t)(1 + rand() % 255);
	} else if (r == 4) {
		c->len -= (size_t)rand() % (c->len < 30 ? c->len : 30);
	} else {
		size_t add = (size_t)(rand() % 20);

		memset(c->p + c->len, rand(), add);
		c->len += add;
	}
}

TEST_TIMEOUT(same_verdicts_as_userspace, 120)
{
	uint8_t handles[32];
	const uint8_t keys[3][16] = {
		{ 0 }, { 1 }, { 2 }
	};
	struct rt_xdp *x = xopen();
	struct rt_filter *f;
	struct iomt_xf_conf conf;
	struct iomt_xf_keys k = { 0 };
	uint64_t now = T0, xc[IOMT_XF_NVERDICTS], fc[IOMT_XF_NVERDICTS];
	int per[IOMT_XF_NVERDICTS] = { 0 }, n = 6000;

	if (!x)
		return;
	f = rt_filter_new(0, 0);
	ASSERT_NONNULL(f);
	srand(20261207);
	for (int i = 0; i < 32; i++)
		handles[i] = (uint8_t)rand();
	/* three sessions known, the fourth not */
	for (int i = 0; i < 3; i++) {
		struct iomt_xf_win w = { (uint64_t)(60 + 20 * i), 0x5555aaaa0f0fULL << i };

		ASSERT_EQ(rt_xdp_session_set(x, handles + 8 * i, w.top, w.bits), 0);
		ASSERT_EQ(rt_filter_session_set(f, handles + 8 * i, &w), 0);
	}
	ASSERT_EQ(rt_xdp_set_cookie_keys(x, keys[1], keys[0]), 0);
	ASSERT_EQ(iomt_cookie_prestate(keys[1], (uint64_t *)k.cur), 0);
	ASSERT_EQ(iomt_cookie_prestate(keys[0], (uint64_t *)k.prev), 0);
	k.have_cur = k.have_prev = 1;
	rt_filter_set_keys(f, &k);
	ASSERT_EQ(rt_xdp_set_rates(x, 50, 4, 20, 2), 0);
	for (int i = 0; i < n; i++) {
		struct corpus c;
		int vx, vf;

		/* the clock moves 0..1 ms; load comes and goes */
		now += (uint64_t)(rand() % 1000000);
		ASSERT_EQ(rt_xdp_get_conf(x, &conf), 0);
		conf.now_ns = now;
		if (i % 500 == 0)
			conf.under_load = !conf.under_load;
		ASSERT_EQ(rt_xdp_set_conf(x, &conf), 0);
		rt_filter_set_conf(f, &conf);
		c.len = base_packet(c.p, rand() % 6, handles, keys);
		mutate(&c);
		vx = verdict(x, c.p, c.len);
		vf = rt_filter_packet(f, c.p, c.len);
		if (vx != vf)
			TH_LOG("packet %d (%zu bytes): XDP %s, userspace %s", i, c.len,
			       rt_xdp_verdict_name(vx), rt_xdp_verdict_name(vf));
		ASSERT_EQ(vx, vf);
		per[vx]++;
	}
	/* the counters add up, on both sides, and every verdict was seen */
	ASSERT_EQ(rt_xdp_counters(x, xc), 0);
	rt_filter_counters(f, fc);
	for (int v = 0; v < IOMT_XF_NVERDICTS; v++) {
		EXPECT_EQ(xc[v], (uint64_t)per[v]);
		EXPECT_EQ(fc[v], (uint64_t)per[v]);
		if (!per[v])
			TH_LOG("no packet got %s", rt_xdp_verdict_name(v));
		EXPECT_GT(per[v], 0);
	}
	rt_filter_free(f);
	rt_xdp_close(x);
}

/* repeat=N counts N; the counters are summed over CPUs. */
TEST(counters_repeat)
{
	struct rt_xdp *x = xopen();
	uint64_t c[IOMT_XF_NVERDICTS], total = 0;
	uint8_t f[64], p[PKT_MAX];
	uint32_t action;

	if (!x)
		return;
	ASSERT_EQ(rt_xdp_test_run(x, p, pkt_build(p, &src_a, PORT, f, pkt_frame(f, 0xee, 8, 0)),
				  1000, &action, NULL), 0);
	EXPECT_EQ(action, 1u);
	ASSERT_EQ(rt_xdp_counters(x, c), 0);
	for (int v = 0; v < IOMT_XF_NVERDICTS; v++)
		total += c[v];
	EXPECT_EQ(c[IOMT_XF_DROP_MALFORMED], 1000u);
	EXPECT_EQ(total, 1000u);
	rt_xdp_close(x);
}

/* The fallback's own entry point: a datagram and its source address. */
TEST(fallback_datagram)
{
	struct rt_filter *f = rt_filter_new(16, 4);
	struct iomt_xf_conf c = { .ports = { PORT }, .rate_pps = 1, .burst = 1, .now_ns = T0 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sockaddr_un { sa_family_t f; char p[8]; } u = { AF_UNIX, "x" };
	uint8_t fr[128], h[8] = { 1 };
	struct iomt_xf_win w = { 0, 0 };
	uint64_t cnt[IOMT_XF_NVERDICTS];
	size_t n;

	ASSERT_NONNULL(f);
	rt_filter_set_conf(f, &c);
	memcpy(&a.sin_addr, src_a.addr, 4);
	n = pkt_frame(fr, IOMT_MSG_S2_M1, 64, 0);
	EXPECT_EQ(rt_filter_datagram(f, (struct sockaddr *)&a, fr, n), IOMT_XF_PASS);
	EXPECT_EQ(rt_filter_datagram(f, (struct sockaddr *)&a, fr, n), IOMT_XF_DROP_RATE);
	EXPECT_EQ(rt_filter_datagram(f, (struct sockaddr *)&a, fr, n - 1), IOMT_XF_DROP_MALFORMED);
	EXPECT_EQ(rt_filter_datagram(f, (struct sockaddr *)(void *)&u, fr, n), IOMT_XF_DROP_MALFORMED);
	/* the session table: full at 4, delete and reuse */
	for (int i = 0; i < 4; i++) {
		h[0] = (uint8_t)i;
		EXPECT_EQ(rt_filter_session_set(f, h, &w), 0);
	}
	h[0] = 9;
	EXPECT_EQ(rt_filter_session_set(f, h, &w), -ENOSPC);
	EXPECT_EQ(rt_filter_session_del(f, h), -ENOENT);
	for (int i = 0; i < 4; i++) {
		h[0] = (uint8_t)i;
		EXPECT_EQ(rt_filter_session_del(f, h), 0);
	}
	h[0] = 9;
	EXPECT_EQ(rt_filter_session_set(f, h, &w), 0);
	rt_filter_counters(f, cnt);
	EXPECT_EQ(cnt[IOMT_XF_PASS] + cnt[IOMT_XF_DROP_RATE] + cnt[IOMT_XF_DROP_MALFORMED], 4u);
	rt_filter_free(f);
}

/* Opening needs ports; attach to an interface that does not exist fails
 * with a reason (the daemon then runs the checks in userspace). */
TEST(open_attach_errors)
{
	struct rt_xdp *x = NULL;
	char why[256] = "";
	uint16_t zero = 0;

	EXPECT_EQ(rt_xdp_open(&x, &zero, 1, why, sizeof(why)), -EINVAL);
	EXPECT_EQ(rt_xdp_open(&x, ports, 0, why, sizeof(why)), -EINVAL);
	EXPECT_NULL(x);
	x = xopen();
	if (!x)
		return;
	EXPECT_LT(rt_xdp_attach(x, 999999, why, sizeof(why)), 0);
	TH_LOG("attach to ifindex 999999: %s", why);
	EXPECT_TRUE(strstr(why, "999999") != NULL);
	EXPECT_EQ(rt_xdp_mode(x), RT_XDP_NONE);
	rt_xdp_close(x);
}


/* lib/cookie.h's frames: what the daemon sends and the requester wraps,
 * judged by the filter. */
TEST(cookie_frames)
{
	uint8_t addr[16], reply[IOMT_COOKIE_REPLY_FRAME_LEN], c[16], req[80], w[128], p[PKT_MAX];
	const uint8_t *inner;
	size_t n, ilen;
	struct rt_xdp *x;

	iomt_cookie_addr_v4(addr, src_a.addr);
	ASSERT_EQ(iomt_cookie_reply(key1, addr, src_a.port, reply), 0);
	ASSERT_EQ(iomt_wire_fixed_len(reply[1]), IOMT_WIRE_COOKIE_REPLY_LEN);
	ASSERT_EQ(iomt_cookie_reply_parse(reply, sizeof(reply), c), 0);
	EXPECT_EQ(iomt_cookie_reply_parse(reply, sizeof(reply) - 1, c), IOMT_ESIZE);
	n = pkt_frame(req, IOMT_MSG_S2_M1, 64, 9);
	EXPECT_EQ(iomt_cookie_reply_parse(req, n, c), IOMT_EMALFORMED);
	ASSERT_EQ(iomt_cookie_reply_parse(reply, sizeof(reply), c), 0);
	ASSERT_EQ(iomt_cookie_wrap(c, req, n, w, sizeof(w), &n), 0);
	ASSERT_EQ(n, 4 + 16 + 4 + 64u);
	EXPECT_EQ(iomt_cookie_wrap(c, req, 68, w, n - 1, &n), IOMT_ESIZE);
	ASSERT_EQ(iomt_cookie_unwrap(w + 4, n - 4, c, &inner, &ilen), 0);
	EXPECT_EQ(ilen, 68u);
	EXPECT_TRUE(inner == w + 20);
	EXPECT_EQ(iomt_cookie_unwrap(w + 4, n - 5, c, &inner, &ilen), IOMT_ESIZE);
	EXPECT_EQ(iomt_cookie_unwrap(w + 4, 19, c, &inner, &ilen), IOMT_ESIZE);
	x = xopen();
	if (!x)
		return;
	ASSERT_EQ(rt_xdp_set_cookie_keys(x, key1, NULL), 0);
	ASSERT_EQ(rt_xdp_set_under_load(x, 1), 0);
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, PORT, w, n)), IOMT_XF_PASS);
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, PORT, req, 68)), IOMT_XF_DROP_NO_COOKIE);
	EXPECT_VERDICT(verdict(x, p, pkt_build(p, &src_a, PORT, reply, sizeof(reply))), IOMT_XF_PASS);
	rt_xdp_close(x);
}

/* The daemon's facade: no interface, or one XDP cannot use, means the
 * same checks in userspace, with the same calls. */
TEST(ingress_fallback)
{
	struct rt_ingress_conf c = { .ifname = "iomt-no-such0", .ports = { PORT },
				     .cookie_rate_pps = 0 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(40000) };
	static const uint8_t h[8] = { 4, 4, 4, 4, 4, 4, 4, 4 };
	uint8_t fr[128], ck[16], addr[16], w[160];
	uint64_t cnt[IOMT_XF_NVERDICTS];
	struct rt_ingress *in;
	size_t n, wn;

	ASSERT_EQ(rt_ingress_open(&in, &c), 0);
	ASSERT_FALSE(rt_ingress_xdp(in));
	memcpy(&a.sin_addr, src_a.addr, 4);
	n = pkt_frame(fr, IOMT_MSG_S2_M1, 64, 0);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n), IOMT_XF_PASS);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n - 1), IOMT_XF_DROP_MALFORMED);
	/* under load: plain requests out, wrapped with a cookie in */
	ASSERT_EQ(rt_ingress_set_cookie_keys(in, key1, key0), 0);
	ASSERT_EQ(rt_ingress_set_under_load(in, 1), 0);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n), IOMT_XF_DROP_NO_COOKIE);
	iomt_cookie_addr_v4(addr, src_a.addr);
	ASSERT_EQ(iomt_cookie_make(key0, addr, 40000, ck), 0);
	ASSERT_EQ(iomt_cookie_wrap(ck, fr, n, w, sizeof(w), &wn), 0);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, w, wn), IOMT_XF_PASS);
	a.sin_port = htons(40001);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, w, wn), IOMT_XF_DROP_BAD_COOKIE);
	ASSERT_EQ(rt_ingress_set_under_load(in, 0), 0);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n), IOMT_XF_PASS);
	/* sessions */
	n = pkt_frame(fr, IOMT_MSG_S2_DATA, IOMT_S2_DATA_MIN_LEN, 0);
	memcpy(fr + 4, h, 8);
	fr[19] = 2;
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n), IOMT_XF_DROP_NO_SESSION);
	ASSERT_EQ(rt_ingress_session_set(in, h, 2, 1), 0);
	EXPECT_EQ(rt_ingress_check(in, (struct sockaddr *)&a, fr, n), IOMT_XF_DROP_REPLAY);
	ASSERT_EQ(rt_ingress_session_del(in, h), 0);
	ASSERT_EQ(rt_ingress_counters(in, cnt), 0);
	EXPECT_EQ(cnt[IOMT_XF_PASS], 3u);
	EXPECT_EQ(cnt[IOMT_XF_DROP_REPLAY], 1u);
	rt_ingress_close(in);
	/* no interface at all; no port is a configuration error */
	c.ifname = NULL;
	ASSERT_EQ(rt_ingress_open(&in, &c), 0);
	ASSERT_FALSE(rt_ingress_xdp(in));
	rt_ingress_close(in);
	c.ports[0] = 0;
	EXPECT_EQ(rt_ingress_open(&in, &c), -EINVAL);
}

/* With XDP on lo (generic mode at least), checks are XDP's. The test's
 * child gets a network namespace of its own: never the host's lo. */
TEST(ingress_xdp_on_lo)
{
	struct rt_ingress_conf c = { .ifname = "lo", .ports = { PORT } };
	uint64_t cnt[IOMT_XF_NVERDICTS];
	struct rt_ingress *in;
	struct rt_xdp *probe = xopen();

	if (!probe)
		return;
	rt_xdp_close(probe);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "no network namespace of our own: %s", strerror(errno));
	ASSERT_EQ(rt_ingress_open(&in, &c), 0);
	ASSERT_TRUE(rt_ingress_xdp(in));
	EXPECT_EQ(rt_ingress_check(in, NULL, NULL, 0), IOMT_XF_PASS);
	EXPECT_EQ(rt_ingress_set_under_load(in, 1), 0);
	EXPECT_EQ(rt_ingress_counters(in, cnt), 0);
	rt_ingress_close(in);
}

/* ---- the tc twin (clsact ingress): XDP's verdicts on the skb ---- */

/* The same mutated frames, conf changes and keys through the XDP program
 * and the tc one (BPF_PROG_TEST_RUN with skb input): the same verdict and
 * action (TC_ACT_OK as XDP_PASS, TC_ACT_SHOT as XDP_DROP) every time. */
TEST_TIMEOUT(tc_same_verdicts_as_xdp, 120)
{
	uint8_t handles[32];
	const uint8_t keys[3][16] = {
		{ 0 }, { 1 }, { 2 }
	};
	struct rt_xdp *x = xopen(), *t;
	struct rt_xdp *both[2];
	struct iomt_xf_conf conf;
	uint64_t now = T0, tc[IOMT_XF_NVERDICTS];
	int per[IOMT_XF_NVERDICTS] = { 0 }, n = 3000, skipped = 0;

	if (!x)
		return;
	t = xopen_hook(RT_XDP_HOOK_TC);
	ASSERT_NONNULL(t);
	EXPECT_EQ(rt_xdp_hook(t), RT_XDP_HOOK_TC);
	EXPECT_EQ(rt_xdp_hook(x), RT_XDP_HOOK_XDP);
	both[0] = x;
	both[1] = t;
	srand(20261208);
	for (int i = 0; i < 32; i++)
		handles[i] = (uint8_t)rand();
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(rt_xdp_session_set(both[k], handles + 8 * i, (uint64_t)(60 + 20 * i),
						     0x5555aaaa0f0fULL << i), 0);
		ASSERT_EQ(rt_xdp_set_cookie_keys(both[k], keys[1], keys[0]), 0);
		ASSERT_EQ(rt_xdp_set_rates(both[k], 50, 4, 20, 2), 0);
	}
	for (int i = 0; i < n; i++) {
		struct corpus c;
		int vx, vt;

		now += (uint64_t)(rand() % 1000000);
		ASSERT_EQ(rt_xdp_get_conf(x, &conf), 0);
		conf.now_ns = now;
		if (i % 500 == 0)
			conf.under_load = !conf.under_load;
		ASSERT_EQ(rt_xdp_set_conf(x, &conf), 0);
		ASSERT_EQ(rt_xdp_set_conf(t, &conf), 0);
		c.len = base_packet(c.p, rand() % 6, handles, keys);
		mutate(&c);
		/* BPF_PROG_TEST_RUN's skb needs an Ethernet header, and an IPv4
		 * or IPv6 one in full when the EtherType says so (-EINVAL) */
		if (c.len < 14 || c.len < 14u + (c.p[12] == 0x08 && c.p[13] == 0x00 ? 20 :
						 c.p[12] == 0x86 && c.p[13] == 0xdd ? 40 : 0)) {
			skipped++;
			continue;
		}
		vx = verdict(x, c.p, c.len);
		vt = verdict(t, c.p, c.len);
		if (vx != vt)
			TH_LOG("packet %d (%zu bytes): XDP %s, tc %s", i, c.len,
			       rt_xdp_verdict_name(vx), rt_xdp_verdict_name(vt));
		ASSERT_EQ(vx, vt);
		per[vt]++;
	}
	TH_LOG("%d frames, %d too short for an skb test run", n - skipped, skipped);
	EXPECT_LT(skipped, n / 10);
	ASSERT_EQ(rt_xdp_counters(t, tc), 0);
	for (int v = 0; v < IOMT_XF_NVERDICTS; v++) {
		EXPECT_EQ(tc[v], (uint64_t)per[v]);
		if (!per[v])
			TH_LOG("no packet got %s", rt_xdp_verdict_name(v));
		EXPECT_GT(per[v], 0);
	}
	rt_xdp_close(t);
	rt_xdp_close(x);
}

/* The tc hook's opening and attaching errors say why. */
TEST(tc_open_attach_errors)
{
	struct rt_xdp *x = NULL;
	char why[256] = "";

	EXPECT_EQ(rt_xdp_open_hook(&x, ports, 1, RT_XDP_VARIANT_PURE, (enum rt_xdp_hook)7, why,
				   sizeof(why)), -EINVAL);
	EXPECT_TRUE(strstr(why, "hook") != NULL);
	EXPECT_NULL(x);
	x = xopen_hook(RT_XDP_HOOK_TC);
	if (!x)
		return;
	EXPECT_LT(rt_xdp_attach(x, 999999, why, sizeof(why)), 0);
	TH_LOG("tc attach to ifindex 999999: %s", why);
	EXPECT_TRUE(strstr(why, "999999") != NULL);
	EXPECT_EQ(rt_xdp_mode(x), RT_XDP_NONE);
	EXPECT_STREQ(rt_xdp_mode_name(RT_XDP_TC), "tc");
	rt_xdp_close(x);
}

/* UDP datagrams of n payload bytes (a frame of type) to 127.0.0.1:PORT. */
static void lo_send(int s, uint8_t type, size_t plen)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORT),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t f[PKT_MAX];
	size_t n = pkt_frame(f, type, plen, 0x77);

	ASSERT_EQ(sendto(s, f, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
}

/* Attached to lo's tc ingress (tcx, or clsact before 6.6) in a netns of our own: real
 * datagrams are judged, dropped ones never reach the socket, a second
 * attach is refused, detach lets everything through again. */
TEST(tc_on_lo)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 0, 200000 };
	uint64_t cnt[IOMT_XF_NVERDICTS];
	uint8_t buf[PKT_MAX];
	struct rt_xdp *x = xopen_hook(RT_XDP_HOOK_TC);
	char why[256] = "";
	int rx, tx, lo, got = 0;

	if (!x)
		return;
	if (unshare(CLONE_NEWNET))
		SKIP(rt_xdp_close(x); return, "no network namespace of our own: %s", strerror(errno));
	lo = (int)if_nametoindex("lo");
	ASSERT_GT(lo, 0);
	{
		struct ifreq ifr = { .ifr_name = "lo" };
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		ASSERT_GE(s, 0);
		ASSERT_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
		ifr.ifr_flags |= IFF_UP;
		ASSERT_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
		close(s);
	}
	if (rt_xdp_attach(x, lo, why, sizeof(why)))
		TH_LOG("attach: %s", why);
	ASSERT_EQ(rt_xdp_mode(x), RT_XDP_TC);
	EXPECT_EQ(rt_xdp_attach(x, lo, why, sizeof(why)), -EBUSY);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(rx, 0);
	ASSERT_GE(tx, 0);
	ASSERT_EQ(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	lo_send(tx, IOMT_MSG_S2_M4, 48);   /* passes */
	lo_send(tx, 0xee, 4);             /* DROP_MALFORMED */
	lo_send(tx, IOMT_MSG_S2_M4, 47);   /* DROP_SIZE */
	lo_send(tx, IOMT_MSG_S2_M1, 64);   /* passes */
	while (recv(rx, buf, sizeof(buf), 0) > 0)
		got++;
	EXPECT_EQ(got, 2);
	ASSERT_EQ(rt_xdp_counters(x, cnt), 0);
	EXPECT_EQ(cnt[IOMT_XF_PASS], 2u);
	EXPECT_EQ(cnt[IOMT_XF_DROP_MALFORMED], 1u);
	EXPECT_EQ(cnt[IOMT_XF_DROP_SIZE], 1u);
	/* detached: junk reaches the socket again, uncounted */
	rt_xdp_detach(x);
	EXPECT_EQ(rt_xdp_mode(x), RT_XDP_NONE);
	lo_send(tx, 0xee, 4);
	EXPECT_GT(recv(rx, buf, sizeof(buf), 0), 0);
	ASSERT_EQ(rt_xdp_counters(x, cnt), 0);
	EXPECT_EQ(cnt[IOMT_XF_DROP_MALFORMED], 1u);
	close(rx);
	close(tx);
	rt_xdp_close(x);
}

/* ---- bpf_links: detached without privileges, and with the process ---- */

/* The id of the program on ifindex's XDP hook (any mode), 0 if none. */
static __u32 xdp_id(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, o);

	if (bpf_xdp_query(ifindex, 0, &o))
		return 0xffffffffu;
	return o.prog_id ? o.prog_id : o.skb_prog_id ? o.skb_prog_id : o.drv_prog_id;
}

/* The number of programs on ifindex's tcx ingress (kernel 6.6+). */
static __u32 tcx_count(int ifindex)
{
	__u32 n = 0;

	if (bpf_prog_query(ifindex, (enum bpf_attach_type)46, 0, NULL, NULL, &n))
		return 0xffffffffu;
	return n;
}

/* 1 on a kernel of major.minor or later. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a > major || (a == major && b >= minor));
}

/* In a child that gave up root (every capability gone): a netlink detach
 * of XDP is refused, the link's detach works. Exit 0 when XDP's hook is
 * free afterwards. */
static int unprivileged_detach(struct rt_xdp *x, int ifindex, int tc)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 2;
	if (!tc && bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL) != -EPERM)
		return 3;
	rt_xdp_detach(x);
	if (rt_xdp_mode(x) != RT_XDP_NONE)
		return 4;
	/* (querying tcx takes CAP_NET_ADMIN: the parent looks) */
	return tc || xdp_id(ifindex) == 0 ? 0 : 5;
}

/* A child attaches hook to ifindex, says so on fd, and waits to be killed. */
static void attach_and_wait(int ifindex, enum rt_xdp_hook hook, int fd)
{
	struct rt_xdp *x = NULL;
	char why[256];

	if (rt_xdp_open_hook(&x, ports, 1, RT_XDP_VARIANT_PURE, hook, why, sizeof(why)) ||
	    rt_xdp_attach(x, ifindex, why, sizeof(why)) || !rt_xdp_linked(x))
		_exit(1);
	if (write(fd, "a", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* The hook free within 2 s (the kernel releases the link as the killed
 * process's files close). */
static int hook_freed(int ifindex, int tc)
{
	for (int i = 0; i < 200; i++) {
		if ((tc ? tcx_count(ifindex) : xdp_id(ifindex)) == 0)
			return 1;
		usleep(10000);
	}
	return 0;
}

/* The hook (XDP on lo, or tcx where the kernel has it) held by a bpf_link:
 * never replaced, detached by a process without privileges (as iomt-gwd
 * after dropping to 'user'), and released when the process is killed. */
static void link_lifecycle(enum rt_xdp_hook hook)
{
	int tc = hook == RT_XDP_HOOK_TC, lo, st, pfd[2];
	struct rt_xdp *x = xopen_hook(hook), *y = NULL;
	char why[256] = "", c;
	pid_t pid;

	if (!x)
		return;
	if (unshare(CLONE_NEWNET))
		SKIP(rt_xdp_close(x); return, "no network namespace of our own: %s", strerror(errno));
	lo = (int)if_nametoindex("lo");
	ASSERT_GT(lo, 0);
	EXPECT_FALSE(rt_xdp_linked(x));
	if (rt_xdp_attach(x, lo, why, sizeof(why)))
		TH_LOG("attach: %s", why);
	ASSERT_EQ(rt_xdp_mode(x), tc ? RT_XDP_TC : RT_XDP_GENERIC);
	ASSERT_TRUE(rt_xdp_linked(x));
	EXPECT_EQ(tc ? tcx_count(lo) : (__u32)(xdp_id(lo) != 0), 1u);
	if (!tc) {
		/* a second program never takes the hook from the link */
		y = xopen();
		ASSERT_TRUE(y != NULL);
		EXPECT_EQ(rt_xdp_attach(y, lo, why, sizeof(why)), -EBUSY);
		TH_LOG("second attach: %s", why);
		EXPECT_EQ(rt_xdp_mode(y), RT_XDP_NONE);
		rt_xdp_close(y);
		EXPECT_NE(xdp_id(lo), 0u);
	}
	/* detached by a process without any capability */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(unprivileged_detach(x, lo, tc));
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
	EXPECT_TRUE(hook_freed(lo, tc));
	rt_xdp_close(x);   /* the link already detached: nothing left to do */
	/* SIGKILL: the link goes with the process */
	ASSERT_EQ(pipe(pfd), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		attach_and_wait(lo, hook, pfd[1]);
	}
	close(pfd[1]);
	EXPECT_EQ(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	EXPECT_EQ(tc ? tcx_count(lo) : (__u32)(xdp_id(lo) != 0), 1u);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_TRUE(hook_freed(lo, tc));
}

TEST(xdp_link_detach_unprivileged_and_on_kill)
{
	link_lifecycle(RT_XDP_HOOK_XDP);
}

/* tcx needs kernel 6.6 (Debian 12's 6.1 attaches tc over netlink: its
 * filter is removed at stop only with CAP_NET_ADMIN). */
TEST(tcx_link_detach_unprivileged_and_on_kill)
{
	if (!kernel_at_least(6, 6))
		SKIP(return, "no tcx before kernel 6.6: tc is attached over netlink");
	link_lifecycle(RT_XDP_HOOK_TC);
}

/* XDP's hook on lo taken by another program: the daemon's facade puts the
 * same checks on tc ingress instead, and says so. */
TEST(ingress_tc_when_xdp_taken)
{
	struct rt_ingress_conf c = { .ifname = "lo", .ports = { PORT } };
	struct rt_ingress *in;
	struct rt_xdp *other = xopen();
	char why[256] = "";

	if (!other)
		return;
	if (unshare(CLONE_NEWNET))
		SKIP(rt_xdp_close(other); return, "no network namespace of our own: %s",
		     strerror(errno));
	if (rt_xdp_attach(other, (int)if_nametoindex("lo"), why, sizeof(why)))
		TH_LOG("attach: %s", why);
	ASSERT_EQ(rt_xdp_mode(other), RT_XDP_GENERIC);
	ASSERT_EQ(rt_ingress_open(&in, &c), 0);
	EXPECT_TRUE(rt_ingress_xdp(in));
	EXPECT_STREQ(rt_ingress_mode_name(in), "tc");
	rt_ingress_close(in);
	/* the other program is still there: ours never replaced it */
	EXPECT_EQ(rt_xdp_mode(other), RT_XDP_GENERIC);
	rt_xdp_close(other);
	ASSERT_EQ(rt_ingress_open(&in, &c), 0);
	EXPECT_STREQ(rt_ingress_mode_name(in), "xdp generic");
	rt_ingress_close(in);
}
