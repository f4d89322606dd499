/* SPDX-License-Identifier: MIT */
/*
 * The ap mode: every sensor gets a ticket for the gateway from iomt-kdc
 * (set-up: AS then TGS, with the key file KEYDIR/PREFIXi.key of principal
 * i = sensor % --clients), then runs AP exchanges against the gateway role
 * (--target): AP_REQ -> AP_REP, verified by the client state machine
 * (lib/kdc.h iomt_kdc_client_*), a fresh authenticator each time.
 * KDC_ERR BUSY is a refusal; any other error, or a reply that does not
 * verify, is an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kdc.h"
#include "lib/rt_keyfile.h"
#include "modes.h"
#include "rnd.h"
#include "wire.h"

struct ap_state {
	struct sockaddr_storage kdc;
	socklen_t kdc_len;
	uint8_t service[IOMT_KDC_NAME_LEN];
	int ready;
};

static struct ap_state as_;

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int ap_setup(const struct load_args *a)
{
	if (!a->kdc || !a->keydir || !a->service) {
		fprintf(stderr, "iomt-load: ap needs --kdc, --keydir and --service\n");
		return -1;
	}
	if (load_resolve(a->kdc, &as_.kdc, &as_.kdc_len)) {
		fprintf(stderr, "iomt-load: --kdc %s: not HOST:PORT\n", a->kdc);
		return -1;
	}
	if (iomt_kdc_name_from_text(as_.service, a->service)) {
		fprintf(stderr, "iomt-load: --service %s: not a principal name\n", a->service);
		return -1;
	}
	as_.ready = 1;
	return 0;
}

static int ap_init(struct load_run *r, struct load_slot *s)
{
	const struct load_args *a = r->mctx;
	struct iomt_kdc_client *c;
	struct rt_keyfile kf;
	char path[4096], err[256];
	int e;

	if (!as_.ready && ap_setup(a))
		return -1;
	snprintf(path, sizeof(path), "%s/%s%u.key", a->keydir, a->prefix,
		 s->idx % (a->clients ? a->clients : 1));
	e = rt_keyfile_read(path, NULL, &kf, err, sizeof(err));
	if (e) {
		fprintf(stderr, "iomt-load: %s: %s\n", path, err[0] ? err : strerror(-e));
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c || iomt_kdc_client_init(c, kf.name, kf.kvno, kf.key)) {
		rt_keyfile_wipe(&kf);
		free(c);
		return -1;
	}
	rt_keyfile_wipe(&kf);
	s->m = c;
	return 0;
}

static long ap_next(struct load_run *r, struct load_slot *s, uint8_t *buf, size_t cap,
		    const struct sockaddr_storage **to, socklen_t *tolen)
{
	struct iomt_kdc_client *c = s->m;
	uint8_t rnd[IOMT_KDC_TGS_REQ_RAND > IOMT_KDC_AS_REQ_RAND ? IOMT_KDC_TGS_REQ_RAND
								 : IOMT_KDC_AS_REQ_RAND];
	uint8_t *out = buf + IOMT_WIRE_HDR_LEN;
	uint8_t type;
	size_t len;
	int rc;

	if (cap < IOMT_WIRE_HDR_LEN + IOMT_KDC_TGS_REQ_LEN)
		return -1;
	load_random(rnd, sizeof(rnd));
	if (c->state == IOMT_KDC_C_IDLE || c->state == IOMT_KDC_C_AS_SENT) {
		rc = iomt_kdc_client_as_req(c, wall_ms(), rnd, out);
		type = IOMT_MSG_KDC_AS_REQ, len = IOMT_KDC_AS_REQ_LEN;
	} else if (c->state == IOMT_KDC_C_HAVE_TGT || c->state == IOMT_KDC_C_TGS_SENT) {
		rc = iomt_kdc_client_tgs_req(c, as_.service, wall_ms(), rnd, out);
		type = IOMT_MSG_KDC_TGS_REQ, len = IOMT_KDC_TGS_REQ_LEN;
	} else {
		rc = iomt_kdc_client_ap_req(c, wall_ms(), rnd, out);
		type = IOMT_MSG_KDC_AP_REQ, len = IOMT_KDC_AP_REQ_LEN;
	}
	if (rc) {
		load_note(r, "ap: building a request: %s", iomt_kdc_strcode(rc));
		return -1;
	}
	if (type != IOMT_MSG_KDC_AP_REQ) {
		*to = &as_.kdc;
		*tolen = as_.kdc_len;
	}
	iomt_wire_put_hdr(buf, type, len);
	return (long)(IOMT_WIRE_HDR_LEN + len);
}

static enum load_verdict ap_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf,
				  size_t len)
{
	struct iomt_kdc_client *c = s->m;
	const uint8_t *p;
	size_t plen;
	uint8_t type;
	int rc;

	if (iomt_wire_parse(buf, len, &type, &p, &plen))
		return LOAD_IGNORE;
	rc = iomt_kdc_client_recv(c, type, p, plen);
	if (rc == IOMT_KDC_ERR_BUSY)
		return LOAD_REFUSED;
	if (rc) {
		load_note(r, "ap: sensor %u: %s", s->idx, iomt_kdc_strcode(rc));
		return LOAD_FAIL;
	}
	switch (c->state) {
	case IOMT_KDC_C_HAVE_TGT:
		return LOAD_MORE;
	case IOMT_KDC_C_HAVE_TICKET:
		return LOAD_READY;
	case IOMT_KDC_C_ESTABLISHED:
		return LOAD_DONE;
	default:
		return LOAD_FAIL;
	}
}

const struct load_mode load_mode_ap = {
	.name = "ap", .init = ap_init, .next = ap_next, .reply = ap_reply,
};
