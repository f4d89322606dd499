/* SPDX-License-Identifier: MIT */
/*
 * The TTP's seed-002 phase-3 engine: M2 frame payloads in, M3 or LINK_ERR
 * frame payloads out, with the rotation rule of docs/PROTOCOL.md §3.4
 * applied to the in-memory party table. No network, no database, no
 * runtime: the daemon and the benchmark drive it alike.
 *
 *   ttp_engine_process(e, n, req, res);     n M2s -> n replies, state rotated
 *   ... write ttp_engine_dirty() parties in one transaction ...
 *   ttp_engine_commit(e)   on success: forget the undo log
 *   ttp_engine_rollback(e) on failure: memory back to the last commit
 *
 * Requests are processed in order, with batched SHAKE128 (the lib's
 * iomt_s2_ttp_process_batch) over runs of requests that touch distinct
 * parties: a party met a second time closes the run, so every request sees
 * the rotations of those before it, exactly as one-by-one processing would.
 *
 * A refused request changes nothing. Refusal codes name the MEC's problem
 * before the device's (UNKNOWN_MEC before UNKNOWN_DEVICE, BAD_MEC before
 * BAD_DEVICE): a MEC that cannot vouch for itself cannot vouch for M1, and
 * the MEC relays codes about the device to the device.
 */
#ifndef IOMT_TTP_S2_ENGINE_H
#define IOMT_TTP_S2_ENGINE_H
#include <stddef.h>
#include <stdint.h>

#include "s2_table.h"
#include "wire.h"

struct ttp_engine_ops {
	/* Fills buf with len random bytes (the R3s): 0, or negative. Required. */
	int (*random)(void *buf, size_t len);
	/* Optional: did is in no party of the table. Fill *p with the party
	 * holding it (as current or previous identity) from elsewhere: 0;
	 * -ENOENT if there is none; another negative value for a failure (the
	 * request is then answered INTERNAL). */
	int (*miss)(void *arg, const uint8_t did[IOMT_S2_ID_LEN], struct ttp_party *p);
	void *arg;
};

/* An S2_M2 frame payload: req_id (4) || M2 (128). */
struct ttp_m2_req {
	const uint8_t *payload;
	size_t len;
};

struct ttp_m2_result {
	uint8_t type;                         /* IOMT_MSG_S2_M3 or IOMT_MSG_S2_LINK_ERR */
	uint8_t code;                         /* 0 with M3, else enum iomt_s2_code */
	uint16_t len;                         /* of payload: 92 or 5 */
	uint8_t payload[IOMT_WIRE_S2_M3_LEN]; /* req_id || M3 || ID_a box, or req_id || code */
	/* For the debug log (never keys): the parties found, 0 if none. */
	int64_t device, mec;
	uint8_t device_match, mec_match;      /* enum ttp_match, 0 if none */
};

struct ttp_engine;

/* 0, -EINVAL (no random callback) or -ENOMEM. The engine owns its table. */
int ttp_engine_new(const struct ttp_engine_ops *ops, struct ttp_engine **out);
/* Wipes every key (table, undo log, scratch) and frees. NULL is a no-op. */
void ttp_engine_free(struct ttp_engine *e);
struct ttp_table *ttp_engine_table(struct ttp_engine *e);

/*
 * n requests in order; res[i] answers req[i]. Returns 0, or -EINVAL for NULL
 * arrays, or -ENOMEM when no scratch memory could be had (then every res[i]
 * is LINK_ERR INTERNAL and nothing changed). Items that fail alone (random
 * source, table memory, the miss callback) are answered INTERNAL.
 */
int ttp_engine_process(struct ttp_engine *e, size_t n, const struct ttp_m2_req req[],
		       struct ttp_m2_result res[]);

/* Parties rotated since the last commit or rollback, each listed once. */
size_t ttp_engine_dirty(const struct ttp_engine *e, const uint32_t **idx);
/* The rotations are durable: forget (and wipe) the undo log. */
void ttp_engine_commit(struct ttp_engine *e);
/* Puts every party rotated since the last commit back as it was. 0, or
 * -EIO if a party could not be restored (then the table no longer matches
 * the last commit: reload it). */
int ttp_engine_rollback(struct ttp_engine *e);

#endif
