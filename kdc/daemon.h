/* SPDX-License-Identifier: MIT */
/*
 * iomt-kdc as a daemon: binds the sockets, splits into the keeper (parent,
 * privileged state) and the network process (child, sockets only), drops
 * privileges in both, and supervises: either half ending ends the other.
 */
#ifndef IOMT_KDC_DAEMON_H
#define IOMT_KDC_DAEMON_H

#include "config.h"

/* Exit status: 0 after a graceful stop, 1 on failure. */
int kdc_daemon_main(const struct kdc_cfg *cfg);

#endif
