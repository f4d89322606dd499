/* SPDX-License-Identifier: MIT */
/*
 * --baseline (the benchmark's reference, never for production): every hash
 * the gateway computes goes through OpenSSL, one call sequence per hash, as
 * a straightforward server would:
 *
 *   SHAKE128  one EVP_MD_CTX per message (EVP_shake128): lib/shake's batch
 *             API (iomt_shake128_batch_override), which carries the MEC's
 *             H1/d3 (lib/seed002 *_batch), the ID_a box keys (lib/s2_ida)
 *             and rt_recfile's check values;
 *   KMAC128   EVP_MAC "KMAC-128" fetched once, one EVP_MAC_CTX per call:
 *             lib/kmac_batch's API (iomt_kmac128_batch_override), which
 *             carries the session handle and data key derivations
 *             (lib/s2_data) and the SK / ID_a fingerprints (sessions.c).
 *
 * Together with the recvmmsg ingress (udp.h) it is "plain recvmmsg +
 * per-call OpenSSL", the figure tests/bench/bench_gwd.sh compares the
 * io_uring engine against. The protocol code is the same in both modes:
 * only lib's batch backends are swapped (function pointers in lib; lib
 * itself stays freestanding). Without --baseline those APIs run lib's
 * batched Keccak lanes.
 */
#ifndef IOMT_GWD_BASELINE_H
#define IOMT_GWD_BASELINE_H

/* Installs the per-call OpenSSL SHAKE128 and KMAC128 backends,
 * process-wide; call it before any thread hashes. */
void gwd_baseline_hash(void);

#endif
