/* SPDX-License-Identifier: MIT */
/*
 * One batch per loop pass: gather every complete S2_M2 of every MEC link
 * (up to batch_max, a fair share per link first), run the engine, write
 * every rotated party in one transaction, commit, and only then queue the
 * replies and write each link once. A failed commit rolls the engine back
 * and answers the whole batch LINK_ERR INTERNAL.
 */
#ifndef IOMT_TTP_BATCH_H
#define IOMT_TTP_BATCH_H
#include <stddef.h>

#include "daemon.h"

/* Scratch for batch_max requests, and the engine's database miss path. */
int ttp_batch_init(struct ttp_daemon *d);
void ttp_batch_fini(struct ttp_daemon *d);

/* Runs one batch if any M2 is waiting; sets d->more when frames remain. */
void ttp_batch_run(struct ttp_daemon *d);

/* Answers every complete M2 still buffered LINK_ERR BUSY (shutting down). */
void ttp_batch_refuse_rest(struct ttp_daemon *d);

/* The engine's miss callback: a DID not in memory, looked up once in the
 * database (and remembered when absent). */
int ttp_batch_miss(void *arg, const uint8_t did[IOMT_S2_ID_LEN], struct ttp_party *p);

#endif
