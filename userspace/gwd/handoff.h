/* SPDX-License-Identifier: MIT */
/*
 * The hand-off from an ingress worker thread to worker 0 (engine.h): a
 * bounded single-producer single-consumer ring of fixed slots, one per
 * extra worker, lock-free (the producer publishes head, the consumer tail,
 * each with release/acquire ordering). A slot holds one checked device
 * frame (type and payload after the header, at most GWD_UDP_RX_BUF bytes)
 * and its sender's address; frames are ciphertext or public, no secret
 * crosses. A full ring refuses the frame (the worker counts and logs the
 * drop). Worker 0 is woken through one eventfd all workers share.
 */
#ifndef IOMT_GWD_HANDOFF_H
#define IOMT_GWD_HANDOFF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "role.h"
#include "udp.h"

struct gwd_handoff_slot {
	struct gwd_addr from;
	uint16_t len;
	uint8_t type;
	uint8_t payload[GWD_UDP_RX_BUF];
};

struct gwd_handoff {
	struct gwd_handoff_slot *slot;
	unsigned cap;			/* a power of two */
	unsigned phead;			/* the producer's own, not yet published */
	_Alignas(64) atomic_uint head;	/* written by the producer */
	_Alignas(64) atomic_uint tail;	/* written by the consumer */
};

/* cap slots (rounded up to a power of two): 0 or -ENOMEM. */
int gwd_handoff_init(struct gwd_handoff *q, unsigned cap);
void gwd_handoff_fini(struct gwd_handoff *q);

/* Producer: the next free slot to fill, or NULL when the ring is full;
 * filled slots become visible at gwd_handoff_publish. */
struct gwd_handoff_slot *gwd_handoff_reserve(struct gwd_handoff *q);
/* Producer: makes the reserved slots visible: the number published; *wake
 * is 1 when the consumer had taken everything before them (it may be idle:
 * wake it), 0 when it still holds earlier slots (it looks again after
 * releasing them, and then sees these: seq_cst head store / tail load
 * here, tail store / head load there). */
unsigned gwd_handoff_publish(struct gwd_handoff *q, int *wake);

/* Consumer: up to max slots ready, from *first (their index for
 * gwd_handoff_at); they stay the consumer's until gwd_handoff_release. */
unsigned gwd_handoff_peek(struct gwd_handoff *q, unsigned max, unsigned *first);
const struct gwd_handoff_slot *gwd_handoff_at(const struct gwd_handoff *q, unsigned i);
void gwd_handoff_release(struct gwd_handoff *q, unsigned n);
/* Slots published and not yet released (any thread; a snapshot). */
unsigned gwd_handoff_pending(struct gwd_handoff *q);

#endif
