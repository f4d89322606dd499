/* SPDX-License-Identifier: MIT */
/*
 * iomt-load's BLE transport (run.h): one L2CAP LE credit-based channel per
 * sensor, from adapter SRC to the gateway's adapter DST on its PSM
 * (iomt-gwd's ble_psm), as the real sensors connect; each frame is one SDU
 * and each answer comes back on the channel that carried the request. The
 * channels are opened one after the other (blocking connect,
 * rt_ble_channel_open) before the set-up phase; a channel the gateway closes
 * stops its sensor (counted: closed=).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/rt_ble.h"
#include "run.h"

static struct {
	bdaddr_t src, dst;
	unsigned psm;
} ble;

/* SRC,DST,PSM: two LE public addresses, a PSM 1..255 (decimal or 0x..). */
static int ble_parse(const char *spec)
{
	char a[18], b[18], *end;
	const char *c1 = strchr(spec, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	unsigned long psm;

	if (!c1 || !c2 || c1 - spec != 17 || c2 - c1 - 1 != 17)
		return -1;
	memcpy(a, spec, 17);
	memcpy(b, c1 + 1, 17);
	a[17] = b[17] = 0;
	errno = 0;
	psm = strtoul(c2 + 1, &end, 0);
	if (rt_ble_addr_parse(a, &ble.src) || rt_ble_addr_parse(b, &ble.dst) || !c2[1] ||
	    *end || errno || psm < 1 || psm > RT_BLE_PSM_MAX)
		return -1;
	ble.psm = (unsigned)psm;
	return 0;
}

static int ble_prepare(struct load_run *r)
{
	int fd;

	if (!r->o->ble || ble_parse(r->o->ble)) {
		fprintf(stderr, "iomt-load: --ble %s: expected SRC,DST,PSM (SRC and DST "
			"AA:BB:CC:DD:EE:FF, PSM 1..255)\n", r->o->ble ? r->o->ble : "(none)");
		return -2;
	}
	fd = socket(AF_BLUETOOTH, SOCK_SEQPACKET | SOCK_CLOEXEC, BTPROTO_L2CAP);
	if (fd < 0) {
		fprintf(stderr, "iomt-load: BLE not available on this host: %s (no Bluetooth "
			"L2CAP sockets in this kernel)\n", strerror(errno));
		return -2;
	}
	close(fd);
	return 0;
}

static int ble_open(struct load_run *r, struct load_slot *s)
{
	const char *step = "";
	char sa[18], da[18];
	int fd = rt_ble_channel_open(&ble.src, &ble.dst, ble.psm, &step);

	(void)r;
	if (fd < 0)
		fprintf(stderr, "iomt-load: BLE channel %u from %s to %s PSM 0x%02x: %s: %s\n",
			s->idx, rt_ble_addr_str(&ble.src, sa), rt_ble_addr_str(&ble.dst, da),
			ble.psm, step, strerror(-fd));
	return fd < 0 ? -1 : fd;
}

static ssize_t ble_send(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t n,
			const struct sockaddr_storage *to, socklen_t tolen)
{
	(void)r, (void)to, (void)tolen;
	/* EAGAIN: no credits from the gateway now (counted: send_errors). */
	return send(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

const struct load_transport load_ble = {
	.name = "ble", .connected = 1, .prepare = ble_prepare, .open = ble_open,
	.send = ble_send,
};
