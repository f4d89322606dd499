/* SPDX-License-Identifier: MIT */
/* The bounded session table and the SK fingerprint. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "hex.h"
#include "metrics.h"
#include "secmem.h"
#include "sessions.h"
#include "sp800_185.h"

static const char fp_custom[] = "iomt/s2/sk-fingerprint";

int gwd_sessions_init(struct gwd_sessions *t, size_t cap, uint64_t lifetime_ms)
{
	memset(t, 0, sizeof(*t));
	t->ring = gwd_secmem_alloc(cap * sizeof(*t->ring));
	if (!t->ring)
		return -ENOMEM;
	t->cap = cap;
	t->lifetime_ms = lifetime_ms;
	t->next_handle = 1;
	return 0;
}

void gwd_sessions_free(struct gwd_sessions *t)
{
	gwd_secmem_free(t->ring, t->cap * sizeof(*t->ring));
	memset(t, 0, sizeof(*t));
	rt_metric_set(&gwd_stats.sessions, 0);
}

/* Wipes the oldest session. */
static void drop_oldest(struct gwd_sessions *t)
{
	iomt_wipe(&t->ring[t->head], sizeof(t->ring[t->head]));
	t->head = (t->head + 1) % t->cap;
	t->count--;
}

uint64_t gwd_sessions_add(struct gwd_sessions *t, const uint8_t id_a[IOMT_S2_IDA_LEN],
			  const uint8_t sk[IOMT_S2_KEY_LEN], uint64_t now_ms)
{
	struct gwd_session *s;

	if (t->count == t->cap) {
		drop_oldest(t);
		rt_metric_inc(&gwd_stats.sessions_evicted);
	}
	s = &t->ring[(t->head + t->count) % t->cap];
	s->handle = t->next_handle++;
	s->created_ms = now_ms;
	memcpy(s->id_a, id_a, IOMT_S2_IDA_LEN);
	memcpy(s->sk, sk, IOMT_S2_KEY_LEN);
	t->count++;
	rt_metric_set(&gwd_stats.sessions, t->count);
	return s->handle;
}

/* Creation order is expiry order: every session lives equally long. */
uint64_t gwd_sessions_expire(struct gwd_sessions *t, uint64_t now_ms)
{
	size_t before = t->count;

	while (t->count && t->ring[t->head].created_ms + t->lifetime_ms <= now_ms)
		drop_oldest(t);
	if (before != t->count) {
		rt_metric_add(&gwd_stats.sessions_expired, before - t->count);
		rt_metric_set(&gwd_stats.sessions, t->count);
	}
	return t->count ? t->ring[t->head].created_ms + t->lifetime_ms : UINT64_MAX;
}

void gwd_sk_fingerprint(const uint8_t sk[IOMT_S2_KEY_LEN], char hex[GWD_FP_HEX_LEN])
{
	uint8_t fp[GWD_FP_LEN];

	iomt_kmac128(sk, IOMT_S2_KEY_LEN, fp_custom, sizeof(fp_custom) - 1, "", 0, fp, sizeof(fp));
	iomt_hex_encode(fp, GWD_FP_LEN, hex);
	iomt_wipe(fp, sizeof(fp));
}
