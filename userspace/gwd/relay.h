/* SPDX-License-Identifier: MIT */
/*
 * The relay role (first paper, §IV: gateways only relay encrypted records),
 * behind struct gwd_role_ops. Sensors send REC_PUT datagrams
 * (lib/recbatch.h); the relay checks each one's exact structure with
 * iomt_recbatch_decode (it holds no data key and opens nothing), puts its
 * own batch id in place of the sensor's and forwards the bytes unchanged
 * over one persistent TCP link to the cloud store (link.h, driven by the
 * engine like the TTP link: gwd_engine_add_link). When the
 * store's REC_ACK comes back, the sensor gets it under its own batch id.
 *
 * Nothing is dropped silently: a batch that does not parse is dropped and
 * counted (answering garbage would make us a reflector); every other batch
 * gets exactly one REC_ACK: the store's, or ours when the store cannot take
 * it: UNREACHABLE (link down, link lost, or no answer within relay_timeout)
 * or BUSY (pending table or link queue full, or stopping). The sensor
 * retries; the store counts a record it already holds as a duplicate, so a
 * retry is harmless.
 *
 * With spool_dir set, a batch the store cannot take now (link down, pending
 * table or link queue full), and every batch that arrives while older ones
 * wait in the spool (order), goes to the spool instead (spool.h): synced
 * once per receive pass, forwarded in order when the link is up (up to
 * relay_pending_max in flight, under ids with the top bit set), removed
 * when the store acknowledges it. The sensor still hears only the store's
 * REC_ACK ("ack only after the store stored it"): the spool makes delivery
 * independent of the sensor's patience and of gateway crashes; a sensor
 * that resends meanwhile gets its batch spooled twice and the store counts
 * the second copy as a duplicate. A full spool refuses explicitly
 * (UNREACHABLE while the link is down, else BUSY; reason "spool_full").
 */
#ifndef IOMT_GWD_RELAY_H
#define IOMT_GWD_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "link.h"
#include "recbatch.h"
#include "role.h"
#include "spool.h"

struct gwd_relay_entry {
	uint64_t id;			/* our batch id; 0: free */
	uint8_t sensor_id[8];		/* the sensor's batch id */
	uint16_t records;
	struct gwd_addr to;
	uint64_t deadline;
};

struct gwd_relay {
	const struct gwd_tx *tx;
	struct gwd_link *link;		/* to the store; the engine's */
	struct gwd_relay_entry *pend;
	uint32_t *free_slots;
	size_t cap, used;
	uint32_t seq;			/* high half of our batch ids */
	uint64_t timeout_ms, next_deadline;
	int draining;
	struct iomt_recbatch scratch;	/* decode result (pointers only) */
	int spool_on;
	struct gwd_spool spool;
	uint64_t spool_deadline;	/* in flight with no ack by then: resend */
	uint64_t spool_retry_at;	/* after a store BUSY: not before */
};

extern const struct gwd_role_ops gwd_relay_ops;

/* The pending table and the store link, added to the engine (whose tx the
 * relay sends with): 0, or -errno with a message in err. */
int gwd_relay_init(struct gwd_relay *r, const struct gwd_cfg *cfg, struct gwd_engine *e,
		   char *err, size_t errlen);
void gwd_relay_fini(struct gwd_relay *r);
/* "relay role up: store HOST:PORT, N pending max" for the start-up line. */
void gwd_relay_describe(const struct gwd_relay *r, char *buf, size_t len);

#endif
