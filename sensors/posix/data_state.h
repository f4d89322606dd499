/* SPDX-License-Identifier: MIT */
/*
 * The sensor's data-key state, write-ahead: one rt_recfile record (mode
 * 0600, crash-safe A/B copies) holding
 *
 *   version 1 (1) || meta_Kdata (78) || epoch (4) || K_data_epoch (16)
 *   || leaf (8) || seq_hi (4)                                       111 bytes
 *
 * Every seq below seq_hi of that leaf may have been used. The sensor seals
 * a record only under a state already on disk: before the first record of
 * a leaf, before the seq counter reaches seq_hi (a block of
 * DATA_SEQ_BLOCK more is reserved), and before the first record of a new
 * epoch (the old K_data is wiped in memory, and overwritten on disk by the
 * same write). After a crash the sensor resumes at seq_hi: a (key id,
 * epoch, leaf, seq), hence a CCM nonce, is never used twice. A record whose
 * time falls in a leaf before the state's is refused (the clock went back).
 */
#ifndef IOMT_SENSOR_DATA_STATE_H
#define IOMT_SENSOR_DATA_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "keytree.h"
#include "lib/rt_recfile.h"
#include "record.h"

enum {
	DATA_STATE_VERSION = 1,
	DATA_STATE_LEN = 1 + IOMT_KEYTREE_META_LEN + 4 + IOMT_KEYTREE_KEY_LEN + 8 + 4, /* 111 */
	DATA_SEQ_BLOCK = 64,		/* seqs reserved per state write */
};

struct data_state {
	struct rt_recfile *f;
	const char *path;
	struct iomt_keytree_meta meta;
	struct iomt_keytree_sensor ks;	/* K_data of the current epoch */
	uint64_t leaf;			/* the leaf seq counts in */
	uint32_t seq, seq_hi;		/* next seq; reserved up to (excluded) */
	unsigned writes;		/* state writes so far (for the test hook) */
	int fail_after;			/* test: writes after this many fail; -1 never */
};

/* Opens or creates path (0600). 1: it holds a state, now loaded; 0: it is
 * new, or was created and never written (provision, then data_state_init);
 * -1 after logging why. */
int data_state_open(struct data_state *s, const char *path, int fail_after);

/* A new state from the PPD's answer, persisted before it returns 0 (then,
 * and only then, may the key be used); -1 after logging. */
int data_state_init(struct data_state *s, const struct iomt_keytree_meta *m,
		    const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN]);

/* The header and K_enc of the next record, taken at Unix time t (s): the
 * state moves forward (epoch, leaf, seq reservation) and is persisted
 * first when it must be. -1 after logging: no record may be sealed. */
int data_state_next(struct data_state *s, uint64_t t, struct iomt_record_hdr *h,
		    uint8_t k_enc[IOMT_KEYTREE_KEY_LEN]);

void data_state_close(struct data_state *s);

#endif
