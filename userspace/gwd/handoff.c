/* SPDX-License-Identifier: MIT */
/* The workers' hand-off ring: single producer, single consumer, lock-free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"

int gwd_handoff_init(struct gwd_handoff *q, unsigned cap)
{
	unsigned p = 1;

	while (p < cap)
		p <<= 1;
	memset(q, 0, sizeof(*q));
	q->slot = calloc(p, sizeof(*q->slot));
	if (!q->slot)
		return -ENOMEM;
	q->cap = p;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

void gwd_handoff_fini(struct gwd_handoff *q)
{
	free(q->slot);
	q->slot = NULL;
	q->cap = 0;
}

struct gwd_handoff_slot *gwd_handoff_reserve(struct gwd_handoff *q)
{
	unsigned tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (q->phead - tail >= q->cap)
		return NULL;
	return &q->slot[q->phead++ & (q->cap - 1)];
}

unsigned gwd_handoff_publish(struct gwd_handoff *q, int *wake)
{
	unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);

	*wake = 0;
	if (head == q->phead)
		return 0;
	atomic_store_explicit(&q->head, q->phead, memory_order_seq_cst);
	*wake = atomic_load_explicit(&q->tail, memory_order_seq_cst) == head;
	return q->phead - head;
}

unsigned gwd_handoff_peek(struct gwd_handoff *q, unsigned max, unsigned *first)
{
	unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	unsigned n = atomic_load_explicit(&q->head, memory_order_seq_cst) - tail;

	*first = tail;
	return n < max ? n : max;
}

const struct gwd_handoff_slot *gwd_handoff_at(const struct gwd_handoff *q, unsigned i)
{
	return &q->slot[i & (q->cap - 1)];
}

void gwd_handoff_release(struct gwd_handoff *q, unsigned n)
{
	atomic_fetch_add_explicit(&q->tail, n, memory_order_seq_cst);
}

unsigned gwd_handoff_pending(struct gwd_handoff *q)
{
	return atomic_load_explicit(&q->head, memory_order_acquire) -
	       atomic_load_explicit(&q->tail, memory_order_acquire);
}
