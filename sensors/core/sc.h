/* SPDX-License-Identifier: MIT */
/*
 * sensors/core: the sensor application logic, portable and allocation-free,
 * shared by the Contiki-NG firmware and the POSIX tool. It performs no I/O of
 * its own: it builds the frames to send, takes the frames received, and
 * reaches the hardware only through a driver struct (RNG, persistent storage,
 * monotonic clock) chosen at build time as Contiki-NG does with
 * AES_128_CONF: define SENSOR_CORE_CONF_DRIVER to the driver's name.
 *
 * All protocol computation is lib/'s (seed002, keytree, record, recbatch,
 * wire); this file set holds only the device's rules around it:
 *
 *   - one persisted state (sc_store.c): two slots written alternately, each
 *     versioned, numbered and checked, so a torn write keeps the other one;
 *   - write-ahead: a rotated seed-002 identity, a new data key, a new epoch
 *     and every block of record sequence numbers are persisted BEFORE SK is
 *     returned or a record sealed; a failed write wipes what it would have
 *     released and stops the core (SC_ESTORE, then SC_EFAILED) until the
 *     next sc_init, which resumes from the last good state;
 *   - the agreement (sc_agree.c): M1 out, M4 or DEV_ERR in, timeouts retried
 *     with a fresh R1 after an exponential back-off with equal jitter; a
 *     gateway under load answering COOKIE_REPLY gets the same M1 again inside
 *     COOKIE_WRAP (PROTOCOL.md §10.6), at most SC_COOKIE_ROUNDS per run. Only
 *     idle identities are stored: a run pending at power loss restarts from
 *     the stored identity, which the TTP still holds as current or previous
 *     (PROTOCOL.md §3.4), so no reboot desynchronises the device;
 *   - the data path (sc_data.c): K_data of the current epoch only, records
 *     sealed under K_enc with (epoch, leaf, seq) never reused: after a reboot
 *     the sequence resumes at the reserved high mark.
 */
#ifndef SENSOR_CORE_SC_H
#define SENSOR_CORE_SC_H
#include <stddef.h>
#include <stdint.h>
#include "cookie.h"
#include "keytree.h"
#include "record.h"
#include "seed002.h"
#include "wire.h"

/* Return values: >= 0 outcomes, < 0 errors (lib/iomt_err.h values pass through). */
enum sc_result {
	SC_OK = 0,
	SC_SEND = 1,        /* a frame to send is in out */
	SC_DONE = 2,        /* the agreement finished: SK in sk, already persisted */
	SC_IGNORED = 3,     /* not for the run in flight (stale, forged, other R1) */
	SC_ESTORE = -100,   /* persistent storage write failed: nothing released */
	SC_EFAILED = -101,  /* stopped after SC_ESTORE: sc_init again (reboot) */
	SC_ERNG = -102,     /* the RNG failed */
	SC_EREFUSED = -103, /* DEV_ERR that no retry cures: code in sc->s2_code */
	SC_ENOANSWER = -104,/* retries exhausted */
	SC_ENOSTATE = -105, /* nothing stored / nothing provisioned yet */
	SC_ECLOCK = -106,   /* record time before the stored leaf: the clock went back */
	SC_EBUSY = -107,    /* an agreement is already in flight */
};

struct sc_driver {
	int (*rng)(void *ctx, uint8_t *out, size_t n);                 /* 0 = ok */
	/* Slot 0 or 1; read fills len bytes (0 = ok, anything else = empty). */
	int (*store_read)(void *ctx, unsigned slot, uint8_t *buf, size_t len);
	/* 0 only once the bytes are durable. */
	int (*store_write)(void *ctx, unsigned slot, const uint8_t *buf, size_t len);
	uint64_t (*now_ms)(void *ctx);                                 /* monotonic */
};

#ifdef SENSOR_CORE_CONF_DRIVER
extern const struct sc_driver SENSOR_CORE_CONF_DRIVER;
#define SENSOR_CORE_DRIVER (&SENSOR_CORE_CONF_DRIVER)
#endif

enum {
	SC_STATE_VERSION = 1,
	SC_CHECK_LEN = 16,
	/* version 1 || gen 4 || s2 blob 98 || has_data 1 || meta 78 || epoch 4 ||
	 * K_data 16 || leaf 8 || seq_hi 4 || check 16 */
	SC_STATE_LEN = 1 + 4 + IOMT_S2_DEVICE_BLOB_LEN + 1 + IOMT_KEYTREE_META_LEN + 4 +
		       IOMT_KEYTREE_KEY_LEN + 8 + 4 + SC_CHECK_LEN,
	SC_SEQ_BLOCK = 64,              /* seqs reserved per persisted write */
	SC_BACKOFF_MAX_MS = 5000,
	SC_M1_FRAME_LEN = IOMT_WIRE_HDR_LEN + IOMT_S2_M1_LEN,
	/* COOKIE_WRAP(cookie, M1 frame): what sc_s2_poll needs in out then */
	SC_WRAP_FRAME_LEN = IOMT_WIRE_HDR_LEN + IOMT_COOKIE_LEN + SC_M1_FRAME_LEN,
	SC_COOKIE_ROUNDS = 2,           /* COOKIE_REPLYs taken per run (per R1) */
};

enum sc_s2_phase {
	SC_S2_IDLE = 0,     /* no agreement under way */
	SC_S2_AWAIT_M4,     /* M1 sent, deadline = M4 timeout */
	SC_S2_BACKOFF,      /* deadline = next M1; a late M4 still completes */
	SC_S2_COOKIE,       /* COOKIE_REPLY taken: deadline = now, the M1 goes
			     * again wrapped in COOKIE_WRAP (sc_s2_poll) */
};

struct sc_conf {
	uint32_t timeout_ms;            /* wait for M4 */
	unsigned retries;               /* fresh runs after the first */
};

struct sc {
	const struct sc_driver *drv;
	void *ctx;
	struct sc_conf conf;
	uint32_t gen;                   /* generation of the last good slot */
	uint8_t failed;                 /* a write failed: refuse until sc_init */
	/* seed 002: the identity, with the run in flight (AWAIT_M4) if any;
	 * the state is stored with that run dropped (idle) */
	struct iomt_s2_device id;
	uint8_t has_id;
	uint8_t phase;                  /* enum sc_s2_phase */
	unsigned attempt;
	uint64_t deadline_ms;
	uint8_t s2_code;                /* the DEV_ERR code behind SC_EREFUSED */
	uint8_t cookies;                /* COOKIE_REPLYs taken by this run */
	/* SC_S2_COOKIE only (wiped once wrapped, or when the run ends): the
	 * gateway's cookie for the resend, never kept for another request */
	uint8_t cookie[IOMT_COOKIE_LEN];
	/* data path */
	uint8_t has_data;
	struct iomt_keytree_meta meta;
	struct iomt_keytree_sensor ks;
	uint64_t leaf;
	uint32_t seq, seq_hi;           /* seq < seq_hi: reserved on storage */
};

/* ---- sc_store.c ---- */
/* Loads the newest good slot (none: an empty core, SC_ENOSTATE). */
int sc_init(struct sc *c, const struct sc_driver *drv, void *ctx, const struct sc_conf *conf);
/* Factory provisioning of (DID, DK): persisted before it returns. */
int sc_provision_s2(struct sc *c, const uint8_t did[IOMT_S2_ID_LEN],
		    const uint8_t dk[IOMT_S2_KEY_LEN]);
/* The persisted image of the current state (what sc_persist writes). */
int sc_state_encode(const struct sc *c, uint32_t gen, uint8_t out[SC_STATE_LEN]);
/* Internal: writes the state to the older slot. On failure the core stops
 * (every key wiped, SC_EFAILED until sc_init) and SC_ESTORE is returned. */
int sc_persist(struct sc *c);
void sc_wipe(struct sc *c);

/* ---- sc_agree.c ---- */
/* Starts an agreement: M1 frame in out (SC_SEND). */
int sc_s2_start(struct sc *c, uint8_t *out, size_t cap, size_t *out_len);
/* A received datagram: SC_DONE (sk written), SC_IGNORED, SC_OK (a BUSY or
 * INTERNAL answer: backing off; or, phase SC_S2_COOKIE, a COOKIE_REPLY
 * taken: sc_s2_poll is due at once and sends the wrapped M1), or an error
 * that ends the agreement. A COOKIE_REPLY is taken only while the run's M1
 * awaits M4 (not in a back-off), exactly 16 bytes of payload, at most
 * SC_COOKIE_ROUNDS times per run: else SC_IGNORED, and the timeout decides. */
int sc_s2_input(struct sc *c, const uint8_t *frame, size_t len, uint8_t sk[IOMT_S2_KEY_LEN]);
/* On the timer: SC_SEND (a retry's M1 in out, or after a COOKIE_REPLY the
 * same M1 in COOKIE_WRAP: SC_WRAP_FRAME_LEN bytes of cap needed), SC_OK, or
 * SC_ENOANSWER. */
int sc_s2_poll(struct sc *c, uint8_t *out, size_t cap, size_t *out_len);
/* When sc_s2_poll next has work (0 when idle). */
uint64_t sc_s2_deadline(const struct sc *c);
uint32_t sc_backoff_ms(uint32_t timeout_ms, unsigned attempt, uint32_t rnd);
/* Internal (sc_agree.c, sc_prov.c): after failed run number attempt, the
 * deadline of the next (now + sc_backoff_ms with a random jitter) into
 * *deadline; SC_ENOANSWER past conf.retries, SC_ERNG (*deadline unchanged). */
int sc_retry_at(struct sc *c, unsigned attempt, uint64_t *deadline);

/* ---- sc_data.c ---- */
/* The first data key (from the PPD over the KDC channel, or a file): meta
 * and K_data_0 are persisted before the key is used. */
int sc_data_provision(struct sc *c, const struct iomt_keytree_meta *m,
		      const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN]);
/* Internal (sc_prov.c): sc_data_provision without the write; the caller
 * calls sc_persist before the key is used (its own frame then off the
 * stack under the write, issue 8). */
int sc_data_set(struct sc *c, const struct iomt_keytree_meta *m,
		const uint8_t k_data0[IOMT_KEYTREE_KEY_LEN]);
/* The refresh timer: moves to t's epoch, wiping older keys, persisted. */
int sc_data_tick(struct sc *c, uint64_t t);
/* Seals data taken at Unix time t into out (len + IOMT_RECORD_OVERHEAD). */
int sc_data_seal(struct sc *c, uint64_t t, const uint8_t *data, size_t len, uint8_t *out,
		 size_t cap, size_t *out_len, struct iomt_record_hdr *h);
/* A REC_PUT frame: wire header and batch header with a random id; records
 * are then added with iomt_recbatch_add(out + IOMT_WIRE_HDR_LEN, ...), and
 * sc_batch_close writes the frame length. */
int sc_batch_open(struct sc *c, uint8_t *out, size_t cap, uint8_t batch_id[8], size_t *used);
int sc_batch_close(uint8_t *out, size_t used);

/* ---- sc_s2data.c: seed 002 phase 4, samples to the MEC (PROTOCOL.md §8) ----
 * The data session of one SK lives in RAM only: after a reboot, or when
 * sc_s2data_seal says SC_EREKEY (IOMT_S2_DATA_COUNTER_MAX frames or
 * IOMT_S2_DATA_REKEY_AFTER_MS on the driver's clock), the device runs a new
 * agreement (sc_s2_start ... SC_DONE) and calls sc_s2data_start with the
 * new SK: fresh handle, counter from 1, so no (key, nonce) ever repeats. */
#include "s2_data.h"

enum {
	SC_EREKEY = -120,   /* the data session is over: agree a new SK first */
	SC_S2DATA_FRAME_MAX = IOMT_WIRE_HDR_LEN + IOMT_S2_DATA_MAX_LEN,
};

struct sc_s2data {
	struct iomt_s2_data_tx tx;      /* secret */
};

/* A data session under sk (from SC_DONE); sk may be wiped afterwards. */
int sc_s2data_start(struct sc_s2data *d, const struct sc *c, const uint8_t sk[IOMT_S2_KEY_LEN]);
/* Samples s[0..n) (1..IOMT_S2_DATA_SAMPLES_MAX, same rules as
 * iomt_s2_data_seal) into one S2_DATA frame in out: SC_SEND; SC_EREKEY
 * (nothing sealed, the session wiped) when a limit is reached or none was
 * started; lib/ errors otherwise (IOMT_EINVAL, IOMT_ESIZE). */
int sc_s2data_seal(struct sc_s2data *d, const struct sc *c, const struct iomt_s2_sample *s,
		   size_t n, uint8_t *out, size_t cap, size_t *out_len);
/* Ends the session: its keys are wiped. */
void sc_s2data_end(struct sc_s2data *d);

#endif
