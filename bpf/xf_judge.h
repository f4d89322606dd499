/* SPDX-License-Identifier: MIT */
/*
 * The ingress filter's checks, one source for the XDP program
 * (bpf/iomt_xdp.bpf.c) and for the userspace fallback (userspace/lib/
 * rt_filter.c), so both give the same verdict for the same packet and state.
 * docs/PROTOCOL.md § "Cookies and the ingress filter".
 *
 * The includer defines XF_INLINE, XF_PERMUTE(st), XF_FIXED_LEN(type) (lib/wire.c
 * iomt_wire_fixed_len, or its table for BPF) and, for its maps:
 *   struct xf_env;
 *   struct iomt_xf_bucket *xf_env_bucket(struct xf_env *, const struct iomt_xf_src *);
 *       the source's bucket, created empty (last_ns 0) if absent; NULL if none
 *   struct iomt_xf_bucket *xf_env_cookie_bucket(struct xf_env *);
 *   const struct iomt_xf_win *xf_env_session(struct xf_env *, __u64 handle);
 *   const struct iomt_xf_keys *xf_env_keys(struct xf_env *);
 *   __u64 *xf_env_scratch(struct xf_env *);   IOMT_XF_SCRATCH_WORDS: a Keccak
 *       state, the cookie's message lanes (3), the cookie (2)
 * and includes iomt_xdp.h, wire.h, s2_data.h and xf_cookie.h first.
 */
#ifndef IOMT_XF_JUDGE_H
#define IOMT_XF_JUDGE_H

enum xf_class {
	XF_C_UNKNOWN = 0,   /* not a type of ours */
	XF_C_PLAIN,         /* size check only */
	XF_C_REQUEST,       /* starts expensive work: bucket, and a cookie under load */
	XF_C_DATA,          /* S2_DATA: session allow-list and replay window */
	XF_C_WRAP,          /* COOKIE_WRAP: cookie || one complete request frame */
};

struct xf_type {
	__u32 cls, min, max;   /* payload size range; min == max for fixed types */
};

#define XF_FIXED(c, n) ((struct xf_type){ (c), (n), (n) })
#define XF_VAR(c, n) ((struct xf_type){ (c), (n), IOMT_WIRE_MAX_PAYLOAD })

/* Requests start expensive work (an agreement, a ticket check): per-source
 * bucket, and under load a cookie. */
static XF_INLINE int xf_is_request(__u8 type)
{
	return type == IOMT_MSG_S2_M1 || type == IOMT_MSG_KDC_AS_REQ ||
	       type == IOMT_MSG_KDC_TGS_REQ || type == IOMT_MSG_KDC_AP_REQ;
}

/* A type's class and payload size range: lib/wire.c's iomt_wire_fixed_len,
 * S2_DATA's bounds from lib/s2_data.h. */
static XF_INLINE struct xf_type xf_type_of(__u8 type)
{
	__u64 n;

	if (type == IOMT_MSG_S2_DATA)
		return (struct xf_type){ XF_C_DATA, IOMT_S2_DATA_MIN_LEN, IOMT_S2_DATA_MAX_LEN };
	if (type == IOMT_MSG_COOKIE_WRAP)
		return XF_VAR(XF_C_WRAP, IOMT_XF_COOKIE_LEN + IOMT_WIRE_HDR_LEN);
	n = XF_FIXED_LEN(type);
	if (n == (__u64)-1)
		return XF_FIXED(XF_C_UNKNOWN, 0);
	if (n == 0)
		return XF_VAR(xf_is_request(type) ? XF_C_REQUEST : XF_C_PLAIN, 0);
	return XF_FIXED(xf_is_request(type) ? XF_C_REQUEST : XF_C_PLAIN, (__u32)n);
}

static XF_INLINE __u64 xf_be64(const __u8 *p)
{
	return (__u64)p[0] << 56 | (__u64)p[1] << 48 | (__u64)p[2] << 40 | (__u64)p[3] << 32 |
	       (__u64)p[4] << 24 | (__u64)p[5] << 16 | (__u64)p[6] << 8 | (__u64)p[7];
}

/* Token bucket (credit in ns, one request costs 1e9 / rate); a new bucket
 * (last_ns 0) starts full. 1 if the request may pass. */
static XF_INLINE int xf_bucket_take(struct iomt_xf_bucket *b, __u64 rate, __u64 burst, __u64 now)
{
	__u64 cost, max, credit, elapsed;

	if (!rate)
		return 1;
	cost = 1000000000ULL / rate;
	max = cost * burst;
	if (b->last_ns == 0 || now < b->last_ns) {
		credit = b->last_ns == 0 ? max : b->credit_ns;
	} else {
		elapsed = now - b->last_ns;
		credit = elapsed >= max ? max : b->credit_ns + elapsed;
		if (credit > max)
			credit = max;
	}
	b->last_ns = now ? now : 1;
	if (credit < cost) {
		b->credit_ns = credit;
		return 0;
	}
	b->credit_ns = credit - cost;
	return 1;
}

/* Counter c against the window the daemon last committed (lib/s2_data.h
 * iomt_s2_replay_check, whose verdicts tests/bpf/test_xdp.c compares with
 * these): PASS, DROP_MALFORMED (0 or above the counter limit) or
 * DROP_REPLAY. Read-only: only the daemon, once the tag verifies, moves the
 * window (iomt_s2_replay_commit, then rt_xdp_session_set), so forged frames
 * carrying a known handle cannot push the window ahead of the real sender. */
static XF_INLINE int xf_win_check(const struct iomt_xf_win *w, __u64 c)
{
	__u64 d;

	if (c == 0 || c > IOMT_S2_DATA_COUNTER_MAX)
		return IOMT_XF_DROP_MALFORMED;
	if (c > w->top)
		return IOMT_XF_PASS;
	d = w->top - c;
	if (d >= IOMT_S2_DATA_WINDOW || ((w->bits >> d) & 1))
		return IOMT_XF_DROP_REPLAY;
	return IOMT_XF_PASS;
}

/* The bucket key of a source: IPv4-mapped addresses whole, IPv6 its /64. */
static XF_INLINE void xf_src_key(struct iomt_xf_src *k, const __u8 *addr16)
{
	int v4 = 1;

	for (int i = 0; i < 10; i++)
		v4 &= addr16[i] == 0;
	v4 &= addr16[10] == 0xff && addr16[11] == 0xff;
	for (int i = 0; i < 16; i++)
		k->addr[i] = (i >= 8 && !v4) ? 0 : addr16[i];
}

static XF_INLINE int xf_take_src(struct xf_env *e, const struct iomt_xf_conf *c, __u64 now,
				 const __u8 *addr16)
{
	struct iomt_xf_src k;
	struct iomt_xf_bucket *b;

	if (!c->rate_pps)
		return IOMT_XF_PASS;
	xf_src_key(&k, addr16);
	b = xf_env_bucket(e, &k);
	/* No room for a bucket: refuse rather than let the source through. */
	if (!b || !xf_bucket_take(b, c->rate_pps, c->burst, now))
		return IOMT_XF_DROP_RATE;
	return IOMT_XF_PASS;
}

/* A plain request: under load only the cookie-reply budget lets it through
 * (the daemon answers it with COOKIE_REPLY, no work); else the bucket. */
static XF_INLINE int xf_judge_request(struct xf_env *e, const struct iomt_xf_conf *c, __u64 now,
				      const __u8 *addr16)
{
	struct iomt_xf_bucket *b;

	if (c->under_load) {
		/* No budget configured: no plain request passes under load. */
		b = xf_env_cookie_bucket(e);
		if (!c->cookie_rate_pps || !b ||
		    !xf_bucket_take(b, c->cookie_rate_pps, c->cookie_burst, now))
			return IOMT_XF_DROP_NO_COOKIE;
	}
	return xf_take_src(e, c, now, addr16);
}

/* S2_DATA: q is the payload (handle || counter || ...). */
static XF_INLINE int xf_judge_data(struct xf_env *e, const __u8 *q, const __u8 *end)
{
	const struct iomt_xf_win *w;

	if (q + IOMT_S2_DATA_HDR_LEN > end)
		return IOMT_XF_DROP_MALFORMED;
	w = xf_env_session(e, xf_le64(q));
	if (!w)
		return IOMT_XF_DROP_NO_SESSION;
	return xf_win_check(w, xf_be64(q + 8));
}

/* COOKIE_WRAP: q is the payload, plen its length (>= 20, checked). */
static XF_INLINE int xf_judge_wrap(struct xf_env *e, const struct iomt_xf_conf *c, __u64 now,
				   const __u8 *addr16, __u16 port, const __u8 *q,
				   const __u8 *end, __u32 plen)
{
	const struct iomt_xf_keys *k;
	const __u8 *in = q + IOMT_XF_COOKIE_LEN;
	struct xf_type t;
	__u64 *st, *m;
	__u32 ilen;

	if (in + IOMT_WIRE_HDR_LEN > end)
		return IOMT_XF_DROP_MALFORMED;
	ilen = (__u32)in[2] << 8 | in[3];
	t = xf_type_of(in[1]);
	/* Only a request is worth a cookie, and it must be all the rest. */
	if (in[0] != IOMT_WIRE_VERSION || t.cls != XF_C_REQUEST ||
	    ilen != plen - IOMT_XF_COOKIE_LEN - IOMT_WIRE_HDR_LEN)
		return IOMT_XF_DROP_MALFORMED;
	if (ilen < t.min || ilen > t.max)
		return IOMT_XF_DROP_SIZE;
#ifdef XF_ENV_COOKIE_CHECK
	/* The includer's own check (the kfunc variant: kernel/iomt.ko holds
	 * the keys): 1 valid, 0 not (or no key), -1 not handled here. */
	{
		int r = xf_env_cookie_check(e, addr16, port, q);

		if (r == 0)
			return IOMT_XF_DROP_BAD_COOKIE;
		if (r > 0)
			return xf_take_src(e, c, now, addr16);
	}
#endif
	k = xf_env_keys(e);
	st = xf_env_scratch(e);
	if (!k || !st || !k->have_cur)
		return IOMT_XF_DROP_BAD_COOKIE;
	/* The cookie and the message lanes wait in the scratch words, not in
	 * registers across the permutation (the BPF stack is 512 bytes). */
	m = st + IOMT_XF_KECCAK_WORDS;
	m[3] = xf_le64(q);
	m[4] = xf_le64(q + 8);
	xf_cookie_msg(m, addr16, port);
	xf_cookie_state(st, k->cur, m);
	if (!xf_cookie_eq(st, m[3], m[4])) {
		if (!k->have_prev)
			return IOMT_XF_DROP_BAD_COOKIE;
		xf_cookie_state(st, k->prev, m);
		if (!xf_cookie_eq(st, m[3], m[4]))
			return IOMT_XF_DROP_BAD_COOKIE;
	}
	return xf_take_src(e, c, now, addr16);
}

/* One datagram's payload p[0..len) (len: the UDP length, already checked
 * against the packet) from addr16/port. */
static XF_INLINE int xf_judge_frame(struct xf_env *e, const struct iomt_xf_conf *c, __u64 now,
				    const __u8 *addr16, __u16 port, const __u8 *p,
				    const __u8 *end, __u32 len)
{
	struct xf_type t;
	__u32 plen;

	if (len < IOMT_WIRE_HDR_LEN || p + IOMT_WIRE_HDR_LEN > end)
		return IOMT_XF_DROP_MALFORMED;
	plen = (__u32)p[2] << 8 | p[3];
	/* The length field must say exactly what the datagram holds. */
	if (p[0] != IOMT_WIRE_VERSION || plen != len - IOMT_WIRE_HDR_LEN)
		return IOMT_XF_DROP_MALFORMED;
	t = xf_type_of(p[1]);
	if (t.cls == XF_C_UNKNOWN)
		return IOMT_XF_DROP_MALFORMED;
	if (plen < t.min || plen > t.max)
		return IOMT_XF_DROP_SIZE;
	/* S2_DATA holds whole samples (lib/s2_data.h iomt_s2_data_peek). */
	if (t.cls == XF_C_DATA && (plen - IOMT_S2_DATA_OVERHEAD) % IOMT_S2_DATA_SAMPLE_LEN)
		return IOMT_XF_DROP_SIZE;
	switch (t.cls) {
	case XF_C_REQUEST:
		return xf_judge_request(e, c, now, addr16);
	case XF_C_DATA:
		return xf_judge_data(e, p + IOMT_WIRE_HDR_LEN, end);
	case XF_C_WRAP:
		return xf_judge_wrap(e, c, now, addr16, port, p + IOMT_WIRE_HDR_LEN, end, plen);
	}
	return IOMT_XF_PASS;
}

static XF_INLINE int xf_is_service_port(const struct iomt_xf_conf *c, __u16 port)
{
	int hit = 0;

	for (int i = 0; i < IOMT_XF_MAX_PORTS; i++)
		hit |= c->ports[i] != 0 && c->ports[i] == port;
	return hit;
}

enum {
	XF_ETH_HLEN = 14, XF_ETH_P_IP = 0x0800, XF_ETH_P_IPV6 = 0x86dd,
	XF_IPPROTO_UDP = 17, XF_IP6_HLEN = 40, XF_UDP_HLEN = 8,
};

/* "+", not "|": the 6.1 verifier loses the bounds of an OR with a
 * non-constant (and then refuses ip + iplen); an ADD keeps them.
 * XF_OPAQUE (BPF: an empty asm) stops clang from turning the ADD of
 * disjoint bits back into an OR. */
#ifndef XF_OPAQUE
#define XF_OPAQUE(x) ((void)0)
#endif
static XF_INLINE __u32 xf_be16(const __u8 *p)
{
	__u32 lo = p[1];

	XF_OPAQUE(lo);
	return ((__u32)p[0] << 8) + lo;
}

/* A whole Ethernet frame data[0..end). IPv4 fragments and IPv6 extension
 * headers are not ours to judge: the stack reassembles or drops them and
 * the daemon checks what it receives with the same code. */
static XF_INLINE int xf_judge_packet(struct xf_env *e, const struct iomt_xf_conf *c, __u64 now,
				     const __u8 *data, const __u8 *end)
{
	const __u8 *ip = data + XF_ETH_HLEN, *udp;
	__u8 addr16[16];
	__u32 iplen, hlen, ulen;

	if (ip > end)
		return IOMT_XF_PASS_NOT_OURS;
	if (xf_be16(data + 12) == XF_ETH_P_IP) {
		if (ip + 20 > end || (ip[0] >> 4) != 4 || ip[9] != XF_IPPROTO_UDP)
			return IOMT_XF_PASS_NOT_OURS;
		if (xf_be16(ip + 6) & 0x3fff)
			return IOMT_XF_PASS_NOT_OURS;   /* a fragment */
		hlen = (__u32)(ip[0] & 0x0f) * 4;
		iplen = xf_be16(ip + 2);
		udp = ip + hlen;
		if (udp + XF_UDP_HLEN > end)
			return IOMT_XF_PASS_NOT_OURS;
		if (!xf_is_service_port(c, xf_be16(udp + 2)))
			return IOMT_XF_PASS_NOT_OURS;
		if (hlen < 20 || iplen < hlen + XF_UDP_HLEN || ip + iplen > end)
			return IOMT_XF_DROP_MALFORMED;
		iplen -= hlen;
		for (int i = 0; i < 10; i++)
			addr16[i] = 0;
		addr16[10] = addr16[11] = 0xff;
		for (int i = 0; i < 4; i++)
			addr16[12 + i] = ip[12 + i];
	} else if (xf_be16(data + 12) == XF_ETH_P_IPV6) {
		if (ip + XF_IP6_HLEN + XF_UDP_HLEN > end || (ip[0] >> 4) != 6 ||
		    ip[6] != XF_IPPROTO_UDP)
			return IOMT_XF_PASS_NOT_OURS;
		udp = ip + XF_IP6_HLEN;
		if (!xf_is_service_port(c, xf_be16(udp + 2)))
			return IOMT_XF_PASS_NOT_OURS;
		iplen = xf_be16(ip + 4);
		if (iplen < XF_UDP_HLEN || udp + iplen > end)
			return IOMT_XF_DROP_MALFORMED;
		for (int i = 0; i < 16; i++)
			addr16[i] = ip[8 + i];
	} else {
		return IOMT_XF_PASS_NOT_OURS;
	}
	ulen = xf_be16(udp + 4);
	/* UDP's length must be the IP payload's: no trailing bytes, no lies. */
	if (ulen != iplen)
		return IOMT_XF_DROP_MALFORMED;
	return xf_judge_frame(e, c, now, addr16, (__u16)xf_be16(udp), udp + XF_UDP_HLEN, end,
			      ulen - XF_UDP_HLEN);
}

#endif
