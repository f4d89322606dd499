/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include "rt_filter.h"
#include "rt_rng.h"
#include "keccak.h"
#include "wire.h"
#include "s2_data.h"
#include "cookie.h"

enum { PROBES = 8 };  /* a bucket is found within PROBES slots, or evicts one */

struct src_slot {
	struct iomt_xf_src key;
	struct iomt_xf_bucket b;
	uint8_t used;
};

struct sess_slot {
	uint64_t handle;
	struct iomt_xf_win w;
	uint8_t used;
};

struct rt_filter {
	struct iomt_xf_conf conf;
	struct iomt_xf_keys keys;
	struct iomt_xf_bucket cookie_bucket;
	struct src_slot *src;
	struct sess_slot *sess;
	size_t src_mask, sess_mask, n_sess, max_sess;
	uint64_t seed;
	__u64 scratch[IOMT_XF_SCRATCH_WORDS];
	uint64_t count[IOMT_XF_NVERDICTS];
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t h = seed, w;

	for (size_t i = 0; i < n; i += 8) {
		w = 0;
		memcpy(&w, p + i, n - i < 8 ? n - i : 8);
		h = mix(h ^ w);
	}
	return h;
}

/* ---- the environment bpf/xf_judge.h asks for ---- */

struct xf_env {
	struct rt_filter *f;
};

static struct iomt_xf_bucket *xf_env_bucket(struct xf_env *e, const struct iomt_xf_src *k)
{
	struct rt_filter *f = e->f;
	size_t i = hash_bytes(f->seed, k->addr, sizeof(k->addr)) & f->src_mask, victim = i;

	for (int n = 0; n < PROBES; n++, i = (i + 1) & f->src_mask) {
		struct src_slot *s = &f->src[i];

		if (s->used && !memcmp(&s->key, k, sizeof(*k)))
			return &s->b;
		if (!s->used) {
			victim = i;
			break;
		}
		/* The least recently used of the probed slots makes room. */
		if (s->b.last_ns < f->src[victim].b.last_ns)
			victim = i;
	}
	f->src[victim].used = 1;
	f->src[victim].key = *k;
	memset(&f->src[victim].b, 0, sizeof(f->src[victim].b));
	return &f->src[victim].b;
}

static struct iomt_xf_bucket *xf_env_cookie_bucket(struct xf_env *e)
{
	return &e->f->cookie_bucket;
}

static struct sess_slot *sess_find(struct rt_filter *f, uint64_t h)
{
	size_t i = mix(f->seed ^ h) & f->sess_mask;

	for (;; i = (i + 1) & f->sess_mask) {
		if (!f->sess[i].used)
			return NULL;
		if (f->sess[i].handle == h)
			return &f->sess[i];
	}
}

static const struct iomt_xf_win *xf_env_session(struct xf_env *e, __u64 h)
{
	struct sess_slot *s = sess_find(e->f, h);

	return s ? &s->w : NULL;
}

static const struct iomt_xf_keys *xf_env_keys(struct xf_env *e)
{
	return &e->f->keys;
}

static __u64 *xf_env_scratch(struct xf_env *e)
{
	return e->f->scratch;
}

#define XF_INLINE inline
#define XF_FIXED_LEN(type) ((__u64)iomt_wire_fixed_len(type))
#define XF_PERMUTE(st) iomt_keccak_f1600((uint64_t *)(st))  /* __u64 and uint64_t: same lanes */
#include "xf_cookie.h"
#include "xf_judge.h"

/* ---- the table ---- */

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct rt_filter *rt_filter_new(size_t max_sources, size_t max_sessions)
{
	struct rt_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	max_sources = max_sources ? max_sources : IOMT_XF_MAX_SOURCES;
	max_sessions = max_sessions ? max_sessions : IOMT_XF_MAX_SESSIONS;
	f->src_mask = pow2_at_least(max_sources) - 1;
	/* At most half full, so every probe sequence ends at an empty slot. */
	f->sess_mask = pow2_at_least(2 * max_sessions) - 1;
	f->max_sess = max_sessions;
	f->src = calloc(f->src_mask + 1, sizeof(*f->src));
	f->sess = calloc(f->sess_mask + 1, sizeof(*f->sess));
	if (!f->src || !f->sess || rt_random(&f->seed, sizeof(f->seed))) {
		rt_filter_free(f);
		return NULL;
	}
	return f;
}

void rt_filter_free(struct rt_filter *f)
{
	if (!f)
		return;
	free(f->src);
	free(f->sess);
	explicit_bzero(f, sizeof(*f));  /* the cookie prestates are secret */
	free(f);
}

void rt_filter_set_conf(struct rt_filter *f, const struct iomt_xf_conf *c)
{
	f->conf = *c;
}

void rt_filter_get_conf(const struct rt_filter *f, struct iomt_xf_conf *c)
{
	*c = f->conf;
}

int rt_filter_keys_make(const uint8_t *cur, const uint8_t *prev, struct iomt_xf_keys *k)
{
	int err = 0;

	memset(k, 0, sizeof(*k));
	if (cur) {
		err = iomt_cookie_prestate(cur, (uint64_t *)k->cur);
		k->have_cur = 1;
	}
	if (!err && prev) {
		err = iomt_cookie_prestate(prev, (uint64_t *)k->prev);
		k->have_prev = 1;
	}
	return err;
}

void rt_filter_set_keys(struct rt_filter *f, const struct iomt_xf_keys *k)
{
	f->keys = *k;
}

int rt_filter_session_set(struct rt_filter *f, const uint8_t handle[8],
			  const struct iomt_xf_win *w)
{
	uint64_t h;
	struct sess_slot *s;
	size_t i;

	memcpy(&h, handle, 8);
	s = sess_find(f, h);
	if (s) {
		s->w = *w;
		return 0;
	}
	if (f->n_sess >= f->max_sess)
		return -ENOSPC;
	for (i = mix(f->seed ^ h) & f->sess_mask; f->sess[i].used; i = (i + 1) & f->sess_mask)
		;
	f->sess[i].used = 1;
	f->sess[i].handle = h;
	f->sess[i].w = *w;
	f->n_sess++;
	return 0;
}

int rt_filter_session_del(struct rt_filter *f, const uint8_t handle[8])
{
	uint64_t h;
	struct sess_slot *s;
	size_t i, j, home;

	memcpy(&h, handle, 8);
	s = sess_find(f, h);
	if (!s)
		return -ENOENT;
	/* Backward-shift deletion: later members of the run move up. */
	i = (size_t)(s - f->sess);
	for (j = (i + 1) & f->sess_mask; f->sess[j].used; j = (j + 1) & f->sess_mask) {
		home = mix(f->seed ^ f->sess[j].handle) & f->sess_mask;
		if (((j - home) & f->sess_mask) >= ((j - i) & f->sess_mask)) {
			f->sess[i] = f->sess[j];
			i = j;
		}
	}
	memset(&f->sess[i], 0, sizeof(f->sess[i]));
	f->n_sess--;
	return 0;
}

static uint64_t now_ns(const struct rt_filter *f)
{
	struct timespec ts;

	if (f->conf.now_ns)
		return f->conf.now_ns;
	/* bpf_ktime_get_ns is CLOCK_MONOTONIC too. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int counted(struct rt_filter *f, int v)
{
	f->count[v]++;
	return v;
}

int rt_filter_packet(struct rt_filter *f, const uint8_t *pkt, size_t len)
{
	struct xf_env e = { f };

	return counted(f, xf_judge_packet(&e, &f->conf, now_ns(f), pkt, pkt + len));
}

int rt_filter_datagram(struct rt_filter *f, const struct sockaddr *src,
		       const uint8_t *p, size_t len)
{
	struct xf_env e = { f };
	uint8_t addr16[16];
	uint16_t port;

	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)src;

		memset(addr16, 0, 10);
		addr16[10] = addr16[11] = 0xff;
		memcpy(addr16 + 12, &s4->sin_addr, 4);
		port = ntohs(s4->sin_port);
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)src;

		memcpy(addr16, &s6->sin6_addr, 16);
		port = ntohs(s6->sin6_port);
	} else {
		return counted(f, IOMT_XF_DROP_MALFORMED);
	}
	if (len > IOMT_WIRE_HDR_LEN + IOMT_WIRE_MAX_PAYLOAD)
		return counted(f, IOMT_XF_DROP_MALFORMED);
	return counted(f, xf_judge_frame(&e, &f->conf, now_ns(f), addr16, port, p, p + len,
					 (uint32_t)len));
}

void rt_filter_counters(const struct rt_filter *f, uint64_t out[IOMT_XF_NVERDICTS])
{
	memcpy(out, f->count, sizeof(f->count));
}
