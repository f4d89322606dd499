/* SPDX-License-Identifier: MIT */
/*
 * Randomness for keys, salts, nonces and identities: getrandom(2) only.
 * Blocks until the kernel pool is initialised (early boot on a gateway),
 * never falls back to /dev/urandom or anything weaker: when the kernel
 * cannot deliver, the caller gets the error and must not go on.
 */
#ifndef IOMT_RT_RNG_H
#define IOMT_RT_RNG_H

#include <stddef.h>

/* Fills buf with len random bytes: 0, or -errno (whatever was filled is wiped). */
int rt_random(void *buf, size_t len);

#endif
