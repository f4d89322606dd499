/* SPDX-License-Identifier: MIT */
/* iomt-load's modes (run.h) and what they are given on the command line. */
#ifndef IOMT_LOAD_MODES_H
#define IOMT_LOAD_MODES_H

#include <stdint.h>

#include "run.h"
#include "seed002.h"

struct load_args {
	/* data */
	unsigned records;		/* per REC_PUT batch */
	/* ap */
	const char *kdc, *keydir, *prefix, *service;
	unsigned clients;		/* principals PREFIX0..; sensors share them */
	/* agree, s2data */
	const char *prov, *prov_out;
	/* s2data */
	unsigned samples;		/* per S2_DATA frame */
	/* flood */
	uint8_t flood_type;
	/* the global state each mode keeps (set by its init) */
	void *state;
};

extern const struct load_mode load_mode_junk, load_mode_flood, load_mode_data, load_mode_ap,
	load_mode_agree, load_mode_s2data;

/* agree: writes the devices' rotated identities to path: 0 or -1. */
int load_agree_save(struct load_run *r, const char *path);
/* agree's steps, for s2data: the device of --prov into s->m (0 or -1); its
 * M1 (a fresh run) into buf: the length or -1; a reply: LOAD_DONE with SK
 * in sk (the caller wipes it), or the verdict (sk wiped). */
int load_agree_init(struct load_run *r, struct load_slot *s);
long load_agree_m1(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap);
enum load_verdict load_agree_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				   size_t len, uint8_t sk[IOMT_S2_KEY_LEN]);

/* Fast non-cryptographic bytes for junk (xorshift, seeded once from rt_random). */
void load_junk_bytes(void *p, size_t n);

#endif
