/* SPDX-License-Identifier: MIT */
/* Phase 4 on the device: samples sealed to the MEC under SK (see sc.h). */
#include <string.h>
#include "ct.h"
#include "iomt_err.h"
#include "sc.h"

static uint64_t now_ms(const struct sc *c)
{
	return c->drv->now_ms(c->ctx);
}

int sc_s2data_start(struct sc_s2data *d, const struct sc *c, const uint8_t sk[IOMT_S2_KEY_LEN])
{
	if (!d || !c || !sk)
		return IOMT_EINVAL;
	return iomt_s2_data_tx_init(&d->tx, sk, now_ms(c));
}

int sc_s2data_seal(struct sc_s2data *d, const struct sc *c, const struct iomt_s2_sample *s,
		   size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	int r;

	if (!d || !c)
		return IOMT_EINVAL;
	r = iomt_s2_data_seal(&d->tx, now_ms(c), s, n, out, cap, out_len);
	if (r == IOMT_ESTATE) {
		/* a limit reached (or no session): never seal again under this SK */
		sc_s2data_end(d);
		return SC_EREKEY;
	}
	return r ? r : SC_SEND;
}

void sc_s2data_end(struct sc_s2data *d)
{
	if (d)
		iomt_s2_data_tx_wipe(&d->tx);
}
