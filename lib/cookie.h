/* SPDX-License-Identifier: MIT */
/*
 * Under-load cookies (docs/PROTOCOL.md § "Cookies and the ingress filter"):
 * when the gateway is saturated it answers a request with COOKIE_REPLY
 * instead of doing the work, and admits a request only inside COOKIE_WRAP
 * with a cookie bound to the requester's address and port:
 *
 *   cookie = KMAC128(K_epoch, addr16 || port (2, BE), 128, "iomt/cookie")
 *
 * addr16 is the IPv6 source address, or ::ffff:a.b.c.d for IPv4. K_epoch
 * (16 random bytes) changes every epoch; the current and the previous key
 * are accepted, so a cookie lives one to two epochs. The XDP filter holds
 * not K but the KMAC state after absorbing it (iomt_cookie_prestate) and
 * finishes the MAC with one permutation (bpf/xf_cookie.h).
 */
#ifndef IOMT_COOKIE_H
#define IOMT_COOKIE_H
#include <stddef.h>
#include <stdint.h>

enum {
	IOMT_COOKIE_LEN = 16,
	IOMT_COOKIE_KEY_LEN = 16,
	IOMT_COOKIE_ADDR_LEN = 16,
	IOMT_COOKIE_STATE_WORDS = 25,
	IOMT_COOKIE_REPLY_FRAME_LEN = 4 + 16,
};

/* The cookie of (addr16, port) under key. */
int iomt_cookie_make(const uint8_t key[IOMT_COOKIE_KEY_LEN],
		     const uint8_t addr16[IOMT_COOKIE_ADDR_LEN], uint16_t port,
		     uint8_t cookie[IOMT_COOKIE_LEN]);

/* The KMAC128 state (FIPS 202 lanes, st[x + 5y]) once the function name,
 * the customisation string and the key are absorbed: secret like the key. */
int iomt_cookie_prestate(const uint8_t key[IOMT_COOKIE_KEY_LEN],
			 uint64_t st[IOMT_COOKIE_STATE_WORDS]);

/* The COOKIE_REPLY frame (header + cookie, IOMT_COOKIE_REPLY_FRAME_LEN
 * bytes) the gateway sends to (addr16, port) under load. */
int iomt_cookie_reply(const uint8_t key[IOMT_COOKIE_KEY_LEN],
		      const uint8_t addr16[IOMT_COOKIE_ADDR_LEN], uint16_t port,
		      uint8_t out[IOMT_COOKIE_REPLY_FRAME_LEN]);
/* The cookie carried by a COOKIE_REPLY frame of len bytes: IOMT_ESIZE or
 * IOMT_EMALFORMED if it is not one. */
int iomt_cookie_reply_parse(const uint8_t *frame, size_t len, uint8_t cookie[IOMT_COOKIE_LEN]);
/* COOKIE_WRAP(cookie, request frame req[0..reqlen)) into out (cap bytes):
 * its length in *outlen. IOMT_ESIZE if cap is too small or the result too
 * long for a frame. */
int iomt_cookie_wrap(const uint8_t cookie[IOMT_COOKIE_LEN], const uint8_t *req, size_t reqlen,
		     uint8_t *out, size_t cap, size_t *outlen);
/* The inner request of a COOKIE_WRAP payload p[0..plen): cookie and the
 * inner frame (checked by iomt_wire_parse). */
int iomt_cookie_unwrap(const uint8_t *p, size_t plen, uint8_t cookie[IOMT_COOKIE_LEN],
		       const uint8_t **req, size_t *reqlen);

/* addr16 of an IPv4 address (4 bytes, network order): ::ffff:a.b.c.d. */
void iomt_cookie_addr_v4(uint8_t addr16[IOMT_COOKIE_ADDR_LEN], const uint8_t v4[4]);

#endif
