/* SPDX-License-Identifier: MIT */
/*
 * The first data key (first paper, §IV): AS -> TGS (a ticket for the
 * patient's PPD) -> KCHAN PROVISION, the answer checked (our schedule, our
 * name) and persisted through sc_data_provision BEFORE the key is used.
 * All KDC and channel computation is lib/kdc.h and lib/kchan.h's; this is
 * the sensor's sequencing, timeouts and retries around it. Nothing of it is
 * persisted: a reboot mid-way starts again from the AS exchange, and the
 * sensor has a data key only once the write that stores it has returned.
 */
#ifndef SENSOR_CORE_SC_PROV_H
#define SENSOR_CORE_SC_PROV_H
#include "kdc.h"
#include "sc.h"

enum sc_prov_step {
	SC_PROV_IDLE = 0,
	SC_PROV_AS,         /* AS_REQ sent to the KDC */
	SC_PROV_TGS,        /* TGS_REQ (target: the PPD) sent to the KDC */
	SC_PROV_PPD,        /* KCHAN_REQ PROVISION sent to the PPD */
	SC_PROV_DONE,
};

enum sc_prov_dest { SC_TO_KDC = 1, SC_TO_PPD = 2 };

struct sc_prov {
	struct iomt_kdc_client kc;
	uint8_t ppd[IOMT_KDC_NAME_LEN];
	struct iomt_keytree_conf want;
	uint8_t session[IOMT_KDC_KEY_LEN];  /* the KCHAN request in flight */
	uint8_t step;                       /* enum sc_prov_step */
	uint8_t dest;                       /* enum sc_prov_dest of the last SC_SEND */
	uint8_t code;                       /* KDC code or KCHAN status behind SC_EREFUSED */
	uint8_t backoff;                    /* waiting before a resend */
	unsigned attempt;
	uint64_t deadline_ms;
};

/* Our KDC name (also I_sensor), key and version; the PPD's name; the
 * schedule asked for. Then the AS_REQ frame (SC_SEND, to the KDC). */
int sc_prov_start(struct sc *c, struct sc_prov *p, const uint8_t cname[IOMT_KDC_NAME_LEN],
		  uint32_t kvno, const uint8_t key[IOMT_KDC_KEY_LEN],
		  const uint8_t ppd[IOMT_KDC_NAME_LEN], const struct iomt_keytree_conf *want,
		  uint64_t unix_ms, uint8_t *out, size_t cap, size_t *out_len);
/* A reply: SC_SEND (the next request, to p->dest), SC_DONE (the data key is
 * stored: seal away), SC_IGNORED, SC_OK (BUSY: backing off) or an error
 * (SC_EREFUSED with p->code, SC_ESTORE, IOMT_EMALFORMED for a reply that is
 * not what was asked for). unix_ms: the wall clock the KDC checks. */
int sc_prov_input(struct sc *c, struct sc_prov *p, uint64_t unix_ms, const uint8_t *frame,
		  size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* On the timer: SC_SEND (a resend), SC_OK, or SC_ENOANSWER. */
int sc_prov_poll(struct sc *c, struct sc_prov *p, uint64_t unix_ms, uint8_t *out, size_t cap,
		 size_t *out_len);
void sc_prov_wipe(struct sc_prov *p);

#endif
