/* SPDX-License-Identifier: MIT */
/*
 * sensors/core driver hooks for TARGET=native: RNG from /dev/urandom, the two
 * state slots in two files of the working directory (written, fsync'ed, then
 * reported durable), the clock from Contiki-NG's clock_time().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "contiki.h"
#include "net/ipv6/uiplib.h"
#include "net/tun6-net.h"
#include "ct.h"
#include "hex.h"
#include "sc.h"

static const char *const slot_path[2] = { "iomt-state.0", "iomt-state.1" };

static int rng(void *ctx, uint8_t *out, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t k;

	(void)ctx;
	if (fd < 0)
		return -1;
	while (n) {
		k = read(fd, out, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		out += k;
		n -= (size_t)k;
	}
	close(fd);
	return n ? -1 : 0;
}

static int store_read(void *ctx, unsigned slot, uint8_t *buf, size_t len)
{
	int fd;
	ssize_t k;

	(void)ctx;
	if (slot > 1 || (fd = open(slot_path[slot], O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	k = read(fd, buf, len);
	close(fd);
	return k == (ssize_t)len ? 0 : -1;
}

static int store_write(void *ctx, unsigned slot, const uint8_t *buf, size_t len)
{
	int fd, ok;

	(void)ctx;
	if (slot > 1)
		return -1;
	fd = open(slot_path[slot], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return (uint64_t)clock_time() * 1000 / CLOCK_SECOND;
}

const struct sc_driver sc_driver_native = { rng, store_read, store_write, now_ms };

/* Native only: sc_provision_s2 from iomt-factory.prov; 0 = provisioned. */
int sc_native_factory(struct sc *c)
{
	uint8_t did[IOMT_S2_ID_LEN], dk[IOMT_S2_KEY_LEN];
	char h_did[33], h_dk[33];
	size_t bad;
	FILE *f = fopen("iomt-factory.prov", "r");
	int r = -1;

	if (!f)
		return -1;
	if (fscanf(f, "did=%32s dk=%32s", h_did, h_dk) == 2 &&
	    !iomt_hex_decode(h_did, strlen(h_did), did, sizeof(did), &bad) &&
	    !iomt_hex_decode(h_dk, strlen(h_dk), dk, sizeof(dk), &bad))
		r = sc_provision_s2(c, did, dk);
	fclose(f);
	iomt_wipe(dk, sizeof(dk));
	iomt_wipe(h_dk, sizeof(h_dk));
	if (!r && (f = fopen("iomt-data.key", "rb")) != NULL) {
		uint8_t k[IOMT_KEYTREE_META_LEN + IOMT_KEYTREE_KEY_LEN];
		struct iomt_keytree_meta m;

		if (fread(k, 1, sizeof(k), f) == sizeof(k) &&
		    !iomt_keytree_meta_decode(&m, k, IOMT_KEYTREE_META_LEN))
			r = sc_data_provision(c, &m, k + IOMT_KEYTREE_META_LEN);
		fclose(f);
		iomt_wipe(k, sizeof(k));
	}
	return r;
}

/* Native only: the gateway is the host end of tun0 (tun6-net's prefix). */
int sc_native_gateway(uip_ipaddr_t *gw)
{
	char a[UIPLIB_IPV6_MAX_STR_LEN];
	const char *p = tun6_net_get_prefix();
	size_t n = strcspn(p, "/");

	if (n >= sizeof(a))
		return -1;
	memcpy(a, p, n);
	a[n] = 0;
	return uiplib_ipaddrconv(a, gw) ? 0 : -1;
}
