/* SPDX-License-Identifier: MIT */
/* The in-memory registration table (see table.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "lib/rt_rng.h"
#include "table.h"

enum { TABLE_MIN_SLOTS = 64 };

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

/* A keyed mix of the two name words (SipHash-style rounds, shortened):
 * enough to keep chosen names from predicting slots. */
static size_t hash(const struct kdc_table *t, const uint8_t name[IOMT_KDC_NAME_LEN])
{
	uint64_t a = iomt_load_le64(name) ^ t->k0, b = iomt_load_le64(name + 8) ^ t->k1;

	for (int i = 0; i < 3; i++) {
		a += b;
		b = rotl(b, 13) ^ a;
		a = rotl(a, 32);
		b *= 0x9e3779b97f4a7c15ULL;
		a ^= b >> 29;
	}
	return (size_t)(a ^ b);
}

int kdc_table_init(struct kdc_table *t, size_t n)
{
	size_t slots = TABLE_MIN_SLOTS;
	uint64_t key[2];

	while (slots < 2 * n)
		slots *= 2;
	memset(t, 0, sizeof(*t));
	if (rt_random(key, sizeof(key)))
		return -EIO;
	t->slot = calloc(slots, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	t->mask = slots - 1;
	t->k0 = key[0];
	t->k1 = key[1];
	return 0;
}

int kdc_table_add(struct kdc_table *t, const struct kdc_principal *p)
{
	size_t i = hash(t, p->name) & t->mask;

	if (2 * (t->count + 1) > t->mask + 1)
		return -ENOSPC;
	for (; t->slot[i].name[0]; i = (i + 1) & t->mask)
		if (!memcmp(t->slot[i].name, p->name, IOMT_KDC_NAME_LEN))
			return -EEXIST;
	t->slot[i] = *p;
	t->count++;
	t->revoked += p->revoked;
	return 0;
}

const struct kdc_principal *kdc_table_find(const struct kdc_table *t,
					   const uint8_t name[IOMT_KDC_NAME_LEN])
{
	size_t i;

	if (!t->slot || !name[0])
		return NULL;
	for (i = hash(t, name) & t->mask; t->slot[i].name[0]; i = (i + 1) & t->mask)
		if (!memcmp(t->slot[i].name, name, IOMT_KDC_NAME_LEN))
			return &t->slot[i];
	return NULL;
}

void kdc_table_free(struct kdc_table *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* Rows are counted first so the table is sized once. */
static int count_row(void *arg, const struct kdc_principal *p)
{
	(void)p;
	++*(size_t *)arg;
	return 0;
}

static int add_row(void *arg, const struct kdc_principal *p)
{
	return kdc_table_add(arg, p);
}

int kdc_table_load(struct kdc_table *t, struct kdc_db *db)
{
	struct kdc_table fresh;
	size_t n = 0;
	int r = kdc_db_load(db, count_row, &n);

	if (r)
		return r;
	/* Head room for rows committed between the two passes. */
	r = kdc_table_init(&fresh, n + n / 4 + 64);
	if (!r)
		r = kdc_db_load(db, add_row, &fresh);
	if (r) {
		kdc_table_free(&fresh);
		return r;
	}
	kdc_table_free(t);
	*t = fresh;
	return 0;
}
