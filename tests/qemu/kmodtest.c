/* SPDX-License-Identifier: MIT */
/*
 * kernel/iomt.ko's checks inside the qemu guest (tests/qemu/test_kmod.sh,
 * guest/kmod.sh): one command per run, exit 0 when the check holds, what it
 * saw on stdout.
 *
 *   status            the module's genl status; 0 if its self-tests passed
 *   keys              genl key install: status before/after (which keys,
 *                     generation), replace, clear; refused without
 *                     CAP_NET_ADMIN (a child dropped to uid 65534)
 *   variant WANT      rt_xdp_open's choice (kfunc|purebpf) must be WANT
 *   verdicts          crafted frames through BPF_PROG_TEST_RUN on both
 *                     variants of both hooks (XDP, and tc with skb input):
 *                     identical verdicts and actions, and the expected ones
 *   bench N           a valid COOKIE_WRAP, N test runs on each variant:
 *                     "xdp_kfunc_verify_ns X" and "xdp_purebpf_verify_ns Y"
 *   busy              while the kfunc variant is loaded, delete_module
 *                     must refuse (EBUSY/EWOULDBLOCK)
 *   veth [tc]         a veth pair, the filter (auto variant; XDP, or tc on
 *                     clsact ingress) on one end, frames sent through the
 *                     other (AF_PACKET): counters
 *   vlog kf|pure      load one variant, print its verifier log's tail
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/if_ether.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include "lib/rt_xdp.h"
#include "lib/rt_kmod.h"
#include "lib/rt_log.h"
#include "cookie.h"
#include "bpf/pkt.h"
#include <bpf/libbpf.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "iomt_xdp.skel.h"
#pragma GCC diagnostic pop

enum { PORT = 5683, T0 = 1000000000 };
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

static int fails;

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond)) {                            \
			printf("FAIL %s:%d: ", __func__, __LINE__); \
			printf(__VA_ARGS__);              \
			printf("\n");                     \
			fails++;                          \
		}                                         \
	} while (0)

static struct rt_xdp *xopen_hook(enum rt_xdp_variant want, enum rt_xdp_hook hook)
{
	struct rt_xdp *x = NULL;
	struct iomt_xf_conf c;
	char why[256];
	int err = rt_xdp_open_hook(&x, ports, 1, want, hook, why, sizeof(why));

	if (err) {
		printf("rt_xdp_open_hook(%s, %s): %s\n", rt_xdp_variant_name(want),
		       hook == RT_XDP_HOOK_TC ? "tc" : "xdp", why);
		exit(1);
	}
	/* A fixed clock: buckets refill only when we say so. */
	if (rt_xdp_get_conf(x, &c) == 0) {
		c.now_ns = T0;
		rt_xdp_set_conf(x, &c);
	}
	return x;
}

static struct rt_xdp *xopen(enum rt_xdp_variant want)
{
	return xopen_hook(want, RT_XDP_HOOK_XDP);
}

/* The one counter that moved for one frame; the action must agree (tc's
 * reported as XDP's by rt_xdp_test_run). */
static int verdict(struct rt_xdp *x, const uint8_t *pkt, size_t len)
{
	uint64_t before[IOMT_XF_NVERDICTS], after[IOMT_XF_NVERDICTS];
	uint32_t action = 0;
	int v = -1, moved = 0;

	if (rt_xdp_counters(x, before) || rt_xdp_test_run(x, pkt, len, 1, &action, NULL) ||
	    rt_xdp_counters(x, after))
		return -2;
	for (int i = 0; i < IOMT_XF_NVERDICTS; i++)
		if (after[i] != before[i]) {
			v = i;
			moved++;
		}
	if (moved != 1)
		return -3;
	if (action != ((v == IOMT_XF_PASS || v == IOMT_XF_PASS_NOT_OURS) ? 2u : 1u))
		return -4;
	return v;
}

static void cookie_of(const struct pkt_src *s, const uint8_t key[16], uint8_t c[16])
{
	uint8_t addr[16];

	if (s->v6)
		memcpy(addr, s->addr, 16);
	else
		iomt_cookie_addr_v4(addr, s->addr);
	iomt_cookie_make(key, addr, s->port, c);
}

static size_t wrap_pkt(uint8_t *p, const struct pkt_src *s, const uint8_t cookie[16],
		       uint8_t type, size_t plen)
{
	uint8_t f[PKT_MAX];
	size_t n = pkt_frame(f, IOMT_MSG_COOKIE_WRAP, 16 + 4 + plen, 0);

	memcpy(f + 4, cookie, 16);
	pkt_frame(f + 20, type, plen, 0x33);
	return pkt_build(p, s, PORT, f, n);
}

static size_t plain_pkt(uint8_t *p, const struct pkt_src *s, uint8_t type, size_t plen)
{
	uint8_t f[PKT_MAX];
	size_t n = pkt_frame(f, type, plen, 0x5a);

	return pkt_build(p, s, PORT, f, n);
}

/* The four programs: both variants on both hooks. */
enum { V_XDP_PURE, V_XDP_KF, V_TC_PURE, V_TC_KF, NV };
static const char *const v_names[NV] = { "xdp purebpf", "xdp kfunc", "tc purebpf", "tc kfunc" };

/* All four, same frame: the same verdict (and action), and want's. */
static int all(struct rt_xdp **v, const char *what, const uint8_t *p, size_t n, int want)
{
	int a = verdict(v[0], p, n), same = 1;

	CHECK(a == want, "%s: %s, expected %s", what, rt_xdp_verdict_name(a),
	      rt_xdp_verdict_name(want));
	for (int i = 1; i < NV; i++) {
		int b = verdict(v[i], p, n);

		CHECK(a == b, "%s: %s %s, %s %s", what, v_names[0], rt_xdp_verdict_name(a),
		      v_names[i], rt_xdp_verdict_name(b));
		same &= a == b;
	}
	return same;
}

static int cmd_status(void)
{
	struct rt_kmod_status st;
	char why[256];

	if (rt_kmod_status(&st, why, sizeof(why))) {
		printf("status: %s\n", why);
		return 1;
	}
	printf("status: selftest=%u have_cur=%u have_prev=%u generation=%llu\n", st.selftest,
	       st.have_cur, st.have_prev, (unsigned long long)st.generation);
	return st.selftest == 1 ? 0 : 1;
}

/* SET_COOKIE_KEYS from a child that dropped to uid 65534 (no
 * capabilities): its result. */
static int unprivileged_set(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		char why[256];
		int err;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		err = rt_kmod_set_cookie_keys(key2, NULL, why, sizeof(why));
		printf("keys: unprivileged set: %s\n", err ? why : "accepted");
		_exit(err == -EPERM ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -ECHILD;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? -EPERM : -EIO;
}

static int cmd_keys(void)
{
	struct rt_kmod_status st0, st;
	char why[256];

	CHECK(rt_kmod_status(&st0, why, sizeof(why)) == 0, "status: %s", why);
	CHECK(rt_kmod_set_cookie_keys(key2, key1, why, sizeof(why)) == 0, "set: %s", why);
	CHECK(rt_kmod_status(&st, why, sizeof(why)) == 0, "status: %s", why);
	CHECK(st.have_cur == 1 && st.have_prev == 1 && st.generation == st0.generation + 1,
	      "after set: cur %u prev %u gen %llu (was %llu)", st.have_cur, st.have_prev,
	      (unsigned long long)st.generation, (unsigned long long)st0.generation);
	CHECK(rt_kmod_set_cookie_keys(key0, NULL, why, sizeof(why)) == 0, "set cur: %s", why);
	CHECK(rt_kmod_status(&st, why, sizeof(why)) == 0 && st.have_cur == 1 && st.have_prev == 0,
	      "after set cur only: prev %u", st.have_prev);
	CHECK(rt_kmod_set_cookie_keys(NULL, NULL, why, sizeof(why)) == 0, "clear: %s", why);
	CHECK(rt_kmod_status(&st, why, sizeof(why)) == 0 && st.have_cur == 0 && st.have_prev == 0,
	      "after clear: cur %u prev %u", st.have_cur, st.have_prev);
	/* Without CAP_NET_ADMIN: refused, keys unchanged. */
	CHECK(unprivileged_set() == -EPERM, "an unprivileged SET_COOKIE_KEYS was not refused");
	CHECK(rt_kmod_status(&st, why, sizeof(why)) == 0 && st.have_cur == 0,
	      "after the refused set: cur %u", st.have_cur);
	/* The status reply carries flags and a count: the keys never come back
	 * (iomt_genl.c has no command that reads them). */
	printf("keys: %s\n", fails ? "FAILED" : "installed, replaced, cleared");
	return fails != 0;
}

static int cmd_variant(const char *want)
{
	struct rt_xdp *x = xopen(RT_XDP_VARIANT_AUTO);
	const char *got = rt_xdp_variant_name(rt_xdp_variant(x));
	char why[256] = "";

	printf("variant: %s (kfunc available: %d %s)\n", got,
	       rt_xdp_kfunc_available(why, sizeof(why)), why);
	rt_xdp_close(x);
	return strcmp(got, want) != 0;
}

static void set_all(struct rt_xdp **v, int under_load, uint64_t crate, uint64_t cburst)
{
	for (int i = 0; i < NV; i++) {
		CHECK(rt_xdp_set_rates(v[i], 0, 0, crate, cburst) == 0, "rates");
		CHECK(rt_xdp_set_under_load(v[i], under_load) == 0, "load");
	}
}

static void keys_all(struct rt_xdp **v, const uint8_t *cur, const uint8_t *prev)
{
	/* The kfunc variants' keys go into the module through genl. */
	for (int i = 0; i < NV; i++)
		CHECK(rt_xdp_set_cookie_keys(v[i], cur, prev) == 0, "%s keys", v_names[i]);
}

static void set_both(struct rt_xdp *pure, struct rt_xdp *kf, int under_load,
		     uint64_t crate, uint64_t cburst)
{
	CHECK(rt_xdp_set_rates(pure, 0, 0, crate, cburst) == 0, "rates");
	CHECK(rt_xdp_set_rates(kf, 0, 0, crate, cburst) == 0, "rates");
	CHECK(rt_xdp_set_under_load(pure, under_load) == 0, "load");
	CHECK(rt_xdp_set_under_load(kf, under_load) == 0, "load");
}

static void keys_both(struct rt_xdp *pure, struct rt_xdp *kf, const uint8_t *cur,
		      const uint8_t *prev)
{
	CHECK(rt_xdp_set_cookie_keys(pure, cur, prev) == 0, "pure keys");
	/* The kfunc variant's keys go into the module through genl. */
	CHECK(rt_xdp_set_cookie_keys(kf, cur, prev) == 0, "kfunc keys");
}

static int cmd_verdicts(void)
{
	struct rt_xdp *v[NV] = {
		xopen(RT_XDP_VARIANT_PURE), xopen(RT_XDP_VARIANT_KFUNC),
		xopen_hook(RT_XDP_VARIANT_PURE, RT_XDP_HOOK_TC),
		xopen_hook(RT_XDP_VARIANT_KFUNC, RT_XDP_HOOK_TC),
	};
	uint8_t p[PKT_MAX], c0[16], c1[16], c2[16], c6[16], bad[16];
	struct pkt_src moved = src_a;
	int n = 0;

	cookie_of(&src_a, key0, c0);
	cookie_of(&src_a, key1, c1);
	cookie_of(&src_a, key2, c2);
	cookie_of(&src_6, key2, c6);
	keys_all(v, NULL, NULL);
	set_all(v, 1, 0, 0);
	/* no key anywhere: no cookie is valid */
	n += all(v, "no key", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	keys_all(v, key2, key1);
	n += all(v, "plain under load", p, plain_pkt(p, &src_a, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_NO_COOKIE);
	n += all(v, "M4", p, plain_pkt(p, &src_a, IOMT_MSG_S2_M4, 48), IOMT_XF_PASS);
	n += all(v, "current", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_PASS);
	n += all(v, "previous", p, wrap_pkt(p, &src_a, c1, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_PASS);
	n += all(v, "previous AP_REQ", p,
		  wrap_pkt(p, &src_a, c1, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN),
		  IOMT_XF_PASS);
	n += all(v, "expired", p, wrap_pkt(p, &src_a, c0, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	for (int i = 0; i < 16; i++) {
		memcpy(bad, c2, 16);
		bad[i] ^= (uint8_t)(1u << (i % 8));
		n += all(v, "flipped bit", p, wrap_pkt(p, &src_a, bad, IOMT_MSG_S2_M1, 64),
			  IOMT_XF_DROP_BAD_COOKIE);
	}
	moved.port++;
	n += all(v, "other port", p, wrap_pkt(p, &moved, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	n += all(v, "other address", p, wrap_pkt(p, &src_b, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	n += all(v, "IPv6", p, wrap_pkt(p, &src_6, c6, IOMT_MSG_S2_M1, 64), IOMT_XF_PASS);
	n += all(v, "wrapped non-request", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M4, 48),
		  IOMT_XF_DROP_MALFORMED);
	n += all(v, "wrapped short", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 63),
		  IOMT_XF_DROP_SIZE);
	/* the epoch turns */
	keys_all(v, key0, key2);
	n += all(v, "turned: old prev", p, wrap_pkt(p, &src_a, c1, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	n += all(v, "turned: new cur", p, wrap_pkt(p, &src_a, c0, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_PASS);
	n += all(v, "turned: new prev", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_PASS);
	/* current only */
	keys_all(v, key0, NULL);
	n += all(v, "no prev", p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_DROP_BAD_COOKIE);
	/* not under load: plain requests pass, wrapped ones still checked */
	set_all(v, 0, 0, 0);
	n += all(v, "plain, no load", p, plain_pkt(p, &src_a, IOMT_MSG_S2_M1, 64),
		  IOMT_XF_PASS);
	n += all(v, "junk", p, plain_pkt(p, &src_a, 0xee, 4), IOMT_XF_DROP_MALFORMED);
	for (int i = 0; i < NV; i++)
		rt_xdp_close(v[i]);
	printf("verdicts: %d frames, identical on both variants of XDP and tc: %s\n", n,
	       fails ? "NO" : "yes");
	return fails != 0;
}

static int cmd_bench(unsigned repeat)
{
	struct rt_xdp *pure = xopen(RT_XDP_VARIANT_PURE), *kf = xopen(RT_XDP_VARIANT_KFUNC);
	uint8_t p[PKT_MAX], c2[16];
	uint32_t a1 = 0, a2 = 0, ns_kf = 0, ns_pure = 0;
	size_t n;

	cookie_of(&src_a, key2, c2);
	keys_both(pure, kf, key2, key1);
	set_both(pure, kf, 1, 0, 0);
	n = wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64);
	/* Warm up, then measure each twice, alternating; keep the lower. */
	rt_xdp_test_run(kf, p, n, repeat / 10 + 1, &a1, NULL);
	rt_xdp_test_run(pure, p, n, repeat / 10 + 1, &a2, NULL);
	for (int r = 0; r < 2; r++) {
		uint32_t t;

		CHECK(rt_xdp_test_run(kf, p, n, repeat, &a1, &t) == 0, "kf run");
		if (!r || t < ns_kf)
			ns_kf = t;
		CHECK(rt_xdp_test_run(pure, p, n, repeat, &a2, &t) == 0, "pure run");
		if (!r || t < ns_pure)
			ns_pure = t;
	}
	CHECK(a1 == 2 && a2 == 2, "actions %u %u, want XDP_PASS", a1, a2);
	printf("xdp_kfunc_verify_ns %u\nxdp_purebpf_verify_ns %u\n", ns_kf, ns_pure);
	rt_xdp_close(pure);
	rt_xdp_close(kf);
	return fails != 0;
}

static int cmd_busy(void)
{
	struct rt_xdp *kf = xopen(RT_XDP_VARIANT_KFUNC);
	long r = syscall(SYS_delete_module, "iomt", O_NONBLOCK);
	int e = errno;
	char ref[32] = "?";
	FILE *f = fopen("/sys/module/iomt/refcnt", "r");

	if (f) {
		if (!fgets(ref, sizeof(ref), f))
			strcpy(ref, "?");
		ref[strcspn(ref, "\n")] = 0;
		fclose(f);
	}
	if (r == 0)
		printf("busy: delete_module while the kfunc program is loaded: unloaded (wrong)\n");
	else
		printf("busy: rmmod refused: module iomt is in use (refcnt %s: the kfunc program): %s\n",
		       ref, strerror(e));
	rt_xdp_close(kf);
	return !(r != 0 && (e == EWOULDBLOCK || e == EBUSY));
}

static int if_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ok;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	if (s >= 0)
		close(s);
	return ok ? 0 : -1;
}

static void send_n(int s, int ifindex, const uint8_t *p, size_t n, int count)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };

	memcpy(a.sll_addr, p, 6);
	for (int i = 0; i < count; i++)
		CHECK(sendto(s, p, n, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)n,
		      "sendto: %s", strerror(errno));
}

static int cmd_veth(enum rt_xdp_hook hook)
{
	const int tc = hook == RT_XDP_HOOK_TC;
	const char *na = tc ? "iomtta" : "iomtva", *nb = tc ? "iomttb" : "iomtvb";
	struct nl_sock *sk = nl_socket_alloc();
	struct rt_xdp *x;
	uint8_t p[PKT_MAX], c2[16], bad[16];
	uint64_t cnt[IOMT_XF_NVERDICTS];
	struct rtnl_link *l;
	char why[256];
	int s, va, vb, err;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) ||
	    (err = rtnl_link_veth_add(sk, na, nb, getpid())) < 0) {
		printf("veth: cannot create the pair\n");
		return 1;
	}
	va = (int)if_nametoindex(na);
	vb = (int)if_nametoindex(nb);
	CHECK(va > 0 && vb > 0 && if_up(na) == 0 && if_up(nb) == 0, "veth up");
	x = xopen_hook(RT_XDP_VARIANT_AUTO, hook);
	printf("veth: variant %s\n", rt_xdp_variant_name(rt_xdp_variant(x)));
	err = rt_xdp_attach(x, vb, why, sizeof(why));
	CHECK(err == 0, "attach: %s", why);
	printf("veth: attached, %s\n", rt_xdp_mode_name(rt_xdp_mode(x)));
	CHECK(rt_xdp_mode(x) == (tc ? RT_XDP_TC : RT_XDP_NATIVE), "mode %s",
	      rt_xdp_mode_name(rt_xdp_mode(x)));
	CHECK(rt_xdp_set_cookie_keys(x, key2, key1) == 0, "keys");
	CHECK(rt_xdp_set_rates(x, 0, 0, 0, 0) == 0 && rt_xdp_set_under_load(x, 1) == 0, "load");
	cookie_of(&src_a, key2, c2);
	memcpy(bad, c2, 16);
	bad[5] ^= 0x10;
	s = socket(AF_PACKET, SOCK_RAW, 0);
	CHECK(s >= 0, "AF_PACKET: %s", strerror(errno));
	send_n(s, va, p, wrap_pkt(p, &src_a, c2, IOMT_MSG_S2_M1, 64), 3);
	send_n(s, va, p, wrap_pkt(p, &src_a, bad, IOMT_MSG_S2_M1, 64), 4);
	send_n(s, va, p, plain_pkt(p, &src_a, IOMT_MSG_S2_M1, 64), 2);
	usleep(300000);
	CHECK(rt_xdp_counters(x, cnt) == 0, "counters");
	printf("veth: PASS=%llu DROP_BAD_COOKIE=%llu DROP_NO_COOKIE=%llu\n",
	       (unsigned long long)cnt[IOMT_XF_PASS],
	       (unsigned long long)cnt[IOMT_XF_DROP_BAD_COOKIE],
	       (unsigned long long)cnt[IOMT_XF_DROP_NO_COOKIE]);
	CHECK(cnt[IOMT_XF_PASS] == 3 && cnt[IOMT_XF_DROP_BAD_COOKIE] == 4 &&
	      cnt[IOMT_XF_DROP_NO_COOKIE] == 2, "counters");
	if (s >= 0)
		close(s);
	rt_xdp_close(x);
	l = rtnl_link_alloc();
	if (l) {
		rtnl_link_set_name(l, na);
		rtnl_link_delete(sk, l);
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
	return fails != 0;
}

/* vlog kf|pure|PROGRAM: the verifier's log tail for one program (diagnosis;
 * kf and pure are the XDP ones, else a program's name). */
static int cmd_vlog(const char *which)
{
	static char buf[1 << 22];
	struct iomt_xdp *s = iomt_xdp__open();
	const char *name = !strcmp(which, "kf") ? "iomt_xdp_filter_kf" :
			   !strcmp(which, "pure") ? "iomt_xdp_filter" : which;
	struct bpf_program *p, *want;
	int err;
	size_t n;

	if (!s)
		return 1;
	want = bpf_object__find_program_by_name(s->obj, name);
	if (!want) {
		printf("vlog: no program %s\n", name);
		iomt_xdp__destroy(s);
		return 1;
	}
	bpf_object__for_each_program(p, s->obj)
		bpf_program__set_autoload(p, p == want);
	bpf_program__set_log_buf(want, buf, sizeof(buf));
	bpf_program__set_log_level(want, 1);
	err = iomt_xdp__load(s);
	n = strlen(buf);
	printf("vlog %s: load %d\n%s\n", name, err, buf + (n > 4000 ? n - 4000 : 0));
	iomt_xdp__destroy(s);
	return err != 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* libbpf's warnings (a verifier log when a load fails) on stderr. */
	rt_log_init("kmodtest");
	rt_log_set_level(RT_LOG_DEBUG);
	if (!strcmp(c, "status"))
		return cmd_status();
	if (!strcmp(c, "keys"))
		return cmd_keys();
	if (!strcmp(c, "variant") && argc > 2)
		return cmd_variant(argv[2]);
	if (!strcmp(c, "verdicts"))
		return cmd_verdicts();
	if (!strcmp(c, "bench") && argc > 2)
		return cmd_bench((unsigned)strtoul(argv[2], NULL, 10));
	if (!strcmp(c, "busy"))
		return cmd_busy();
	if (!strcmp(c, "veth"))
		return cmd_veth(argc > 2 && !strcmp(argv[2], "tc") ? RT_XDP_HOOK_TC : RT_XDP_HOOK_XDP);
	if (!strcmp(c, "vlog") && argc > 2)
		return cmd_vlog(argv[2]);
	fprintf(stderr, "usage: kmodtest status|keys|variant WANT|verdicts|bench N|busy|veth [tc]|vlog P\n");
	return 2;
}
