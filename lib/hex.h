/* SPDX-License-Identifier: MIT */
/* Hex text to and from bytes: provisioning files, operator input, logs. */
#ifndef IOMT_HEX_H
#define IOMT_HEX_H
#include <stddef.h>
#include <stdint.h>

/* Decodes exactly 2 * outlen hex digits (either case) from s[0..len).
 * IOMT_ESIZE if len != 2 * outlen; IOMT_EMALFORMED if a character is not a
 * hex digit, with *bad set to its 1-based position. out is written only on
 * success, so a secret half-decoded from bad input is never left behind. */
int iomt_hex_decode(const char *s, size_t len, uint8_t *out, size_t outlen, size_t *bad);

/* Writes in[0..n) as 2 * n lowercase hex digits and a NUL to out (2 * n + 1
 * bytes). Constant time; out holding a secret is the caller's to wipe. */
void iomt_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
