/* SPDX-License-Identifier: MIT */
/* The network process of 'iomt-ppd serve': sockets only, no secret. */
#ifndef IOMT_PPD_NET_H
#define IOMT_PPD_NET_H

#include "config.h"
#include "sockets.h"

/* Runs until the keeper goes away (its end of ipc closes): the exit status. */
int ppd_net_run(const struct ppd_cfg *cfg, struct ppd_sockets *s, int ipc);

#endif
