/* SPDX-License-Identifier: MIT */
/* The sockets of 'iomt-ppd serve': TCP and UDP on one port, the metrics
 * listener; bound before anything secret is read. */
#ifndef IOMT_PPD_SOCKETS_H
#define IOMT_PPD_SOCKETS_H

#include "config.h"

struct ppd_sockets {
	int tcp, udp, metrics;		/* -1 when absent */
	char at[96], metrics_at[96];	/* the bound addresses, for logs and port_file */
};

/* 0 or -errno (logged). */
int ppd_sockets_open(const struct ppd_cfg *cfg, struct ppd_sockets *s);
void ppd_sockets_close(struct ppd_sockets *s);
/* port_file: "listen ADDR\nmetrics_listen ADDR\n" (written, then renamed). */
int ppd_sockets_write_ports(const struct ppd_cfg *cfg, const struct ppd_sockets *s);

#endif
