/* SPDX-License-Identifier: MIT */
/* The bounded session table and the SK fingerprint. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "hex.h"
#include "kmac_batch.h"
#include "metrics.h"
#include "secmem.h"
#include "sessions.h"

static const char fp_custom[] = "iomt/s2/sk-fingerprint";
static const char ida_fp_custom[] = "iomt/s2/ida-fingerprint";

int gwd_sessions_init(struct gwd_sessions *t, size_t cap, uint64_t lifetime_ms)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ring = gwd_secmem_alloc(cap * sizeof(*t->ring));
	if (!t->ring || gwd_sessidx_init(&t->idx, cap))
		return -ENOMEM;
	/* Cannot fail: constant customisation strings. */
	iomt_s2_data_kdf_init(&t->kdf);
	t->cap = cap;
	t->lifetime_ms = lifetime_ms;
	return 0;
}

void gwd_sessions_free(struct gwd_sessions *t)
{
	if (t->ring)
		pthread_mutex_destroy(&t->lock);
	gwd_secmem_free(t->ring, t->cap * sizeof(*t->ring));
	gwd_sessidx_free(&t->idx);
	memset(t, 0, sizeof(*t));
	rt_metric_set(&gwd_stats.sessions, 0);
}

void gwd_sessions_watch(struct gwd_sessions *t,
			void (*on_set)(void *ctx, const uint8_t handle[8], uint64_t top,
				       uint64_t bits),
			void (*on_del)(void *ctx, const uint8_t handle[8]), void *ctx)
{
	t->on_set = on_set;
	t->on_del = on_del;
	t->hook_ctx = ctx;
}

void gwd_sessions_committed(struct gwd_sessions *t, const struct gwd_session *s)
{
	if (t->on_set)
		t->on_set(t->hook_ctx, s->rx.k.handle, s->rx.w.top, s->rx.w.bits);
}

/* Wipes the oldest session. */
static void drop_oldest(struct gwd_sessions *t)
{
	if (t->on_del)
		t->on_del(t->hook_ctx, t->ring[t->head].rx.k.handle);
	gwd_sessidx_del(&t->idx, t->ring, t->head);
	iomt_wipe(&t->ring[t->head], sizeof(t->ring[t->head]));
	t->head = (t->head + 1) % t->cap;
	t->count--;
}

/* Takes the next ring entry for a session whose keys are derived: its
 * handle; *evicted counts the sessions dropped for room. */
static uint64_t add_locked(struct gwd_sessions *t, const uint8_t id_a[IOMT_S2_IDA_LEN],
			   const uint8_t sk[IOMT_S2_KEY_LEN], const struct iomt_s2_data_keys *k,
			   uint64_t now_ms, size_t *evicted)
{
	struct gwd_session *s;

	if (t->count == t->cap) {
		drop_oldest(t);
		++*evicted;
	}
	s = &t->ring[(t->head + t->count) % t->cap];
	s->rx.k = *k;
	iomt_s2_replay_init(&s->rx.w);
	s->handle = iomt_load_be64(s->rx.k.handle);
	s->created_ms = now_ms;
	memcpy(s->id_a, id_a, IOMT_S2_IDA_LEN);
	memcpy(s->sk, sk, IOMT_S2_KEY_LEN);
	gwd_sessidx_put(&t->idx, t->ring, (size_t)(s - t->ring));
	t->count++;
	if (t->on_set)
		t->on_set(t->hook_ctx, s->rx.k.handle, s->rx.w.top, s->rx.w.bits);
	return s->handle;
}

enum { ADD_CHUNK = 16 };	/* keys derived per lib call, on the stack */

void gwd_sessions_add_batch(struct gwd_sessions *t, size_t n, const uint8_t *const id_a[],
			    const uint8_t *const sk[], uint64_t now_ms, uint64_t handle[])
{
	struct iomt_s2_data_keys k[ADD_CHUNK];

	for (size_t i = 0; i < n; i += ADD_CHUNK) {
		size_t c = n - i < ADD_CHUNK ? n - i : ADD_CHUNK, evicted = 0;

		/* Cannot fail: every pointer is set. Derived outside the lock:
		 * the control thread's snapshot does not wait for the hashing. */
		iomt_s2_data_keys_init_batch(&t->kdf, c, sk + i, k);
		pthread_mutex_lock(&t->lock);
		for (size_t j = 0; j < c; j++)
			handle[i + j] = add_locked(t, id_a[i + j], sk[i + j], &k[j], now_ms,
						   &evicted);
		/* Counters once per chunk: each is an atomic add. */
		if (evicted)
			rt_metric_add(&gwd_stats.sessions_evicted, evicted);
		rt_metric_set(&gwd_stats.sessions, t->count);
		pthread_mutex_unlock(&t->lock);
	}
	iomt_wipe(k, sizeof(k));
}

uint64_t gwd_sessions_add(struct gwd_sessions *t, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t now_ms)
{
	uint64_t h;

	gwd_sessions_add_batch(t, 1, &id_a, &sk, now_ms, &h);
	return h;
}

struct gwd_session *gwd_sessions_find(struct gwd_sessions *t, uint64_t handle)
{
	long pos = t->ring ? gwd_sessidx_get(&t->idx, t->ring, handle) : -1;

	return pos < 0 ? NULL : &t->ring[pos];
}

/* Creation order is expiry order: every session lives equally long. */
uint64_t gwd_sessions_expire(struct gwd_sessions *t, uint64_t now_ms)
{
	size_t before;
	uint64_t next;

	pthread_mutex_lock(&t->lock);
	before = t->count;
	while (t->count && t->ring[t->head].created_ms + t->lifetime_ms <= now_ms)
		drop_oldest(t);
	if (before != t->count) {
		rt_metric_add(&gwd_stats.sessions_expired, before - t->count);
		rt_metric_set(&gwd_stats.sessions, t->count);
	}
	next = t->count ? t->ring[t->head].created_ms + t->lifetime_ms : UINT64_MAX;
	pthread_mutex_unlock(&t->lock);
	return next;
}

/* KMAC128(key, "", 64, custom) through the batch API, so that --baseline
 * (baseline.h) computes it with OpenSSL like every other hash. */
static void fingerprint(const char *custom, const uint8_t *key, size_t keylen,
			uint8_t fp[GWD_FP_LEN])
{
	static const uint8_t none[1];
	const uint8_t *msg = none;
	size_t mlen = 0;
	struct iomt_kmac128_pre pre;

	/* Cannot fail: constant customisation, every pointer set. */
	iomt_kmac128_pre_init(&pre, custom, strlen(custom));
	iomt_kmac128_batch(&pre, 1, &key, &keylen, &msg, &mlen, &fp, GWD_FP_LEN);
}

size_t gwd_sessions_snapshot(struct gwd_sessions *t, struct gwd_session_info *out, size_t max,
			     uint64_t now_ms, size_t *count)
{
	size_t n;
	uint8_t fp[GWD_FP_LEN];

	pthread_mutex_lock(&t->lock);
	*count = t->count;
	n = t->count < max ? t->count : max;
	for (size_t i = 0; i < n; i++) {
		const struct gwd_session *s = &t->ring[(t->head + i) % t->cap];

		out[i].handle = s->handle;
		out[i].age_ms = now_ms > s->created_ms ? now_ms - s->created_ms : 0;
		fingerprint(ida_fp_custom, s->id_a, IOMT_S2_IDA_LEN, fp);
		iomt_hex_encode(fp, GWD_FP_LEN, out[i].ida_fp);
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

void gwd_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[GWD_FP_HEX_LEN])
{
	uint8_t fp[GWD_FP_LEN];

	fingerprint(fp_custom, sk, IOMT_S2_KEY_LEN, fp);
	iomt_hex_encode(fp, GWD_FP_LEN, hex);
	iomt_wipe(fp, sizeof(fp));
}
