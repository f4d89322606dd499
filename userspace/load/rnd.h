/* SPDX-License-Identifier: MIT */
/*
 * Fresh random bytes for a load generator's protocol nonces, from a pool
 * refilled by getrandom: one system call per ~3000 requests rather than
 * one each, so the client's cost does not limit the rate. Aborts if the
 * kernel has no randomness. Shared by iomt-load and tests/bench/kdc_load.
 */
#ifndef IOMT_LOAD_RND_H
#define IOMT_LOAD_RND_H

#include <stddef.h>

void load_random(void *p, size_t n);

#endif
