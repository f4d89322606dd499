/* SPDX-License-Identifier: MIT */
/*
 * Under-load cookies (lib/cookie.h, docs/PROTOCOL.md §10) on the sensors'
 * side: a gateway under load answers a request with COOKIE_REPLY; the
 * sensor sends the same request again inside COOKIE_WRAP with that cookie,
 * and the exchange goes on (its latency includes the extra round trip).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "run.h"
#include "wire.h"

enum {
	WRAPS_MAX = 2,		/* cookie round trips per exchange */
	REQ_MAX = 2048,		/* run.c's datagrams (RX_MAX) */
	WRAP_MAX = IOMT_WIRE_HDR_LEN + IOMT_COOKIE_LEN + REQ_MAX,
};

void load_cookie_keep(struct load_slot *s, const uint8_t *buf, size_t n,
		      const struct sockaddr_storage *to, socklen_t tolen)
{
	s->req_len = 0;
	s->wraps = 0;
	if (!s->req && !(s->req = malloc(REQ_MAX)))
		return;
	if (n > REQ_MAX)
		return;
	memcpy(s->req, buf, n);
	s->req_len = n;
	s->req_to = to;
	s->req_tolen = tolen;
}

int load_cookie_reply(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t len,
		      struct load_counts *c)
{
	uint8_t cookie[IOMT_COOKIE_LEN], out[WRAP_MAX];
	size_t n;
	ssize_t w;

	if (iomt_cookie_reply_parse(buf, len, cookie))
		return 0;
	if (!s->req_len || s->wraps >= WRAPS_MAX ||
	    iomt_cookie_wrap(cookie, s->req, s->req_len, out, sizeof(out), &n)) {
		load_note(r, "sensor %u: COOKIE_REPLY not taken (%u already, or no request)",
			  s->idx, s->wraps);
		return 0;	/* the mode ignores it: the exchange times out */
	}
	s->wraps++;
	do
		w = r->o->tr->send(r, s, out, n, s->req_to, s->req_tolen);
	while (w < 0 && errno == EINTR);
	c->cookies++;
	if (w != (ssize_t)n)
		c->send_errors++;
	return 1;
}
