/* SPDX-License-Identifier: MIT */
/* The keeper of 'iomt-ppd serve': K_master, the KDC key, the evidence log,
 * the caches, the patient's decision; no network socket. */
#ifndef IOMT_PPD_KEEPER_H
#define IOMT_PPD_KEEPER_H

#include "config.h"
#include "sockets.h"

/* Set-up, privilege drop, then requests from ipc until SIGTERM or the
 * network process ends: the exit status. s: for the port file only. */
int ppd_keeper_run(const struct ppd_cfg *cfg, const struct ppd_sockets *s, int ipc, int sfd);

#endif
