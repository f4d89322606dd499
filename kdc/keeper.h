/* SPDX-License-Identifier: MIT */
/*
 * The keeper: the privileged half of iomt-kdc (kdc/README.md). It holds
 * K_KDC in a locked, undumpable page, the registration table, the database
 * and the audit log, and touches no network socket. Its one input is the
 * socketpair to the network process: a batch in, a batch of replies out.
 *
 *   batch:  check the message -> table fresh? (PRAGMA data_version, at most
 *           every reload_interval) -> one getrandom for the batch -> each
 *           request decided (issue.c) and its audit record buffered -> one
 *           audit flush (write + fdatasync) -> replies (every one INTERNAL
 *           if the flush failed) -> one message back.
 */
#ifndef IOMT_KDC_KEEPER_H
#define IOMT_KDC_KEEPER_H
#include <sys/types.h>

#include "config.h"

/* Everything the keeper opens, before it drops privileges: 0 or -errno,
 * logged. */
struct kdc_keeper;
int kdc_keeper_new(const struct kdc_cfg *cfg, int sock, int sfd, pid_t net,
		   struct kdc_keeper **out);
/* Serves until the network process closes its end: 0 when that was a
 * graceful stop, 1 otherwise. */
int kdc_keeper_run(struct kdc_keeper *k);
void kdc_keeper_free(struct kdc_keeper *k);

#endif
