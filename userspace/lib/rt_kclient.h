/* SPDX-License-Identifier: MIT */
/*
 * The POSIX client of the KDC protocol (lib/kdc.h): the lib's client state
 * machine driven over UDP (or TCP) with getrandom, the wall clock, timeouts
 * and retries. Used by iomt-kclient, the tests and the gateway daemon.
 *
 *   struct rt_kclient k;
 *   struct rt_kclient_opts o = { .kdc = "10.0.0.5:7480" };
 *   rt_kclient_init(&k, &keyfile, &o);            (copies the key: wipe kf)
 *   r = rt_kclient_ticket(&k, "ppd-alice");       (AS if needed, then TGS)
 *   r = rt_kclient_ap(&k, "10.0.0.9:7490");       (AP_REQ -> AP_REP)
 *   r == 0: k.c.session is the session key; rt_kclient_session() the facts
 *   r  > 0: refused with that enum iomt_kdc_code; rt_kclient_error(&k) says
 *           who refused and why ("KDC: 3 (pairing not allowed ...)")
 *   r  < 0: -errno: -ETIMEDOUT (no answer after the retries),
 *           -EPROTO (answers came but none verified), -EINVAL, ...
 *   rt_kclient_wipe(&k);
 *
 * Each exchange sends over UDP up to 1 + retries times, waiting timeout_ms,
 * then twice as long, ... (back-off, doubling up to RT_KCLIENT_WAIT_MAX_MS);
 * each attempt is a fresh request (a new
 * nonce / authenticator), so a service's replay cache never refuses a retry
 * and a late answer to an earlier attempt is simply ignored. With transport
 * AUTO a KDC that never answered over UDP is tried once over TCP; TCP
 * makes every exchange use TCP. The AP exchange is UDP only (services
 * listen on UDP). A reply that does not verify (wrong nonce, bad MAC) is
 * ignored, as an attacker could have sent it; an ERR naming our request is
 * the peer's answer (unauthenticated: a hint, as in Kerberos).
 */
#ifndef IOMT_RT_KCLIENT_H
#define IOMT_RT_KCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kdc.h"
#include "rt_keyfile.h"

enum rt_kclient_transport {
	RT_KCLIENT_AUTO = 0,	/* UDP, then TCP if UDP got no answer */
	RT_KCLIENT_UDP,
	RT_KCLIENT_TCP,
};

enum {
	RT_KCLIENT_TIMEOUT_MS = 500,	/* first attempt's wait */
	RT_KCLIENT_RETRIES = 3,
	RT_KCLIENT_WAIT_MAX_MS = 8000,	/* back-off stops doubling here */
	RT_KCLIENT_ERR_LEN = 256,
	RT_KCLIENT_FP_LEN = 8,
	RT_KCLIENT_FP_HEX = 2 * RT_KCLIENT_FP_LEN + 1,
};

struct rt_kclient_opts {
	const char *kdc;		/* "host:port", "[v6]:port" */
	enum rt_kclient_transport transport;
	unsigned timeout_ms;		/* 0 = RT_KCLIENT_TIMEOUT_MS */
	int retries;			/* < 0 = RT_KCLIENT_RETRIES */
	int64_t clock_offset_ms;	/* added to our clock (tests: simulated skew) */
};

/* What an established session is (never the key itself). */
struct rt_kclient_session {
	uint8_t peer[IOMT_KDC_NAME_LEN];
	uint64_t ticket_issue_ms;
	uint32_t ticket_lifetime_s;
	uint64_t auth_ms;
	char fp[RT_KCLIENT_FP_HEX];	/* rt_kclient_fingerprint of the session key */
};

struct rt_kclient {
	struct iomt_kdc_client c;
	uint8_t patient[IOMT_KDC_NAME_LEN];
	uint8_t kind;
	struct sockaddr_storage kdc;
	socklen_t kdc_len;
	enum rt_kclient_transport transport;
	unsigned timeout_ms;
	int retries;
	int64_t clock_offset_ms;
	int last_code;			/* the peer's code of the last refusal, else 0 */
	uint64_t peer_time_ms;		/* the server time of the last ERR */
	char err[RT_KCLIENT_ERR_LEN];
};

/* Copies what it needs of kf (wipe yours); resolves opts->kdc (may be NULL
 * for a client that only does AP with a ticket it already has). 0 or
 * -EINVAL (bad key file fields or address, message in k->err). */
int rt_kclient_init(struct rt_kclient *k, const struct rt_keyfile *kf,
		    const struct rt_kclient_opts *o);
/* A TGT (AS exchange) unless a valid one is held, then a ticket for the
 * target (TGS exchange): 0, a code > 0, or -errno. */
int rt_kclient_ticket(struct rt_kclient *k, const char *target);
/* The AP exchange with the service the last ticket is for, at "host:port". */
int rt_kclient_ap(struct rt_kclient *k, const char *service);
/* After an AP: the facts of the established session. */
void rt_kclient_session(const struct rt_kclient *k, struct rt_kclient_session *s);
const char *rt_kclient_error(const struct rt_kclient *k);
void rt_kclient_wipe(struct rt_kclient *k);

/* Our clock (Unix ms, with the test offset). */
uint64_t rt_kclient_now(const struct rt_kclient *k);

/* First 8 bytes of KMAC128(key, "", 64, "iomt/kdc/session-fp") in hex:
 * both ends can compare session keys without showing them. */
void rt_kclient_fingerprint(const uint8_t key[IOMT_KDC_KEY_LEN], char hex[RT_KCLIENT_FP_HEX]);

#endif
