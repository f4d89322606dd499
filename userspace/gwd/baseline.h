/* SPDX-License-Identifier: MIT */
/*
 * --baseline (the benchmark's reference, never for production): the MEC's
 * batched SHAKE128 (lib/seed002's *_batch functions) hashes one message per
 * OpenSSL EVP call instead of across Keccak lanes. Together with the
 * recvmmsg ingress (udp.h) it is "plain recvmmsg + per-call OpenSSL", the
 * figure tests/bench/bench_gwd.sh compares the io_uring engine against. The
 * protocol code is the same in both modes: only lib/shake's batch backend
 * is swapped (iomt_shake128_batch_override).
 */
#ifndef IOMT_GWD_BASELINE_H
#define IOMT_GWD_BASELINE_H

/* Installs the per-call OpenSSL SHAKE128 backend, process-wide. */
void gwd_baseline_hash(void);

#endif
