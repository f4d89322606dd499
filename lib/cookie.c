/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "cookie.h"
#include "ct.h"
#include "iomt_err.h"
#include "keccak_impl.h"
#include "sp800_185.h"
#include "wire.h"

static const char custom[] = "iomt/cookie";

int iomt_cookie_make(const uint8_t key[IOMT_COOKIE_KEY_LEN],
		     const uint8_t addr16[IOMT_COOKIE_ADDR_LEN], uint16_t port,
		     uint8_t cookie[IOMT_COOKIE_LEN])
{
	uint8_t msg[IOMT_COOKIE_ADDR_LEN + 2];

	if (!key || !addr16 || !cookie)
		return IOMT_EINVAL;
	memcpy(msg, addr16, IOMT_COOKIE_ADDR_LEN);
	msg[IOMT_COOKIE_ADDR_LEN] = (uint8_t)(port >> 8);
	msg[IOMT_COOKIE_ADDR_LEN + 1] = (uint8_t)port;
	return iomt_kmac128(key, IOMT_COOKIE_KEY_LEN, custom, sizeof(custom) - 1,
			    msg, sizeof(msg), cookie, IOMT_COOKIE_LEN);
}

int iomt_cookie_prestate(const uint8_t key[IOMT_COOKIE_KEY_LEN],
			 uint64_t st[IOMT_COOKIE_STATE_WORDS])
{
	struct iomt_shake128 s;
	int err;

	if (!key || !st)
		return IOMT_EINVAL;
	/* Two whole blocks (bytepad'ed): the sponge has just permuted. */
	err = iomt_kmac128_init(&s, key, IOMT_COOKIE_KEY_LEN, custom, sizeof(custom) - 1);
	for (int i = 0; i < IOMT_COOKIE_STATE_WORDS; i++) {
#ifdef IOMT_KECCAK_32
		st[i] = iomt_keccak_deilv(s.st[i]);
#else
		st[i] = s.st[i];
#endif
	}
	iomt_shake128_wipe(&s);
	return err;
}

int iomt_cookie_reply(const uint8_t key[IOMT_COOKIE_KEY_LEN],
		      const uint8_t addr16[IOMT_COOKIE_ADDR_LEN], uint16_t port,
		      uint8_t out[IOMT_COOKIE_REPLY_FRAME_LEN])
{
	if (!out)
		return IOMT_EINVAL;
	iomt_wire_put_hdr(out, IOMT_MSG_COOKIE_REPLY, IOMT_COOKIE_LEN);
	return iomt_cookie_make(key, addr16, port, out + IOMT_WIRE_HDR_LEN);
}

int iomt_cookie_reply_parse(const uint8_t *frame, size_t len, uint8_t cookie[IOMT_COOKIE_LEN])
{
	const uint8_t *p;
	uint8_t type;
	size_t plen;
	int err;

	if (!frame || !cookie)
		return IOMT_EINVAL;
	err = iomt_wire_parse(frame, len, &type, &p, &plen);
	if (err)
		return err;
	if (type != IOMT_MSG_COOKIE_REPLY)
		return IOMT_EMALFORMED;
	memcpy(cookie, p, IOMT_COOKIE_LEN);
	return IOMT_OK;
}

int iomt_cookie_wrap(const uint8_t cookie[IOMT_COOKIE_LEN], const uint8_t *req, size_t reqlen,
		     uint8_t *out, size_t cap, size_t *outlen)
{
	size_t plen = IOMT_COOKIE_LEN + reqlen;

	if (!cookie || !req || !out || !outlen)
		return IOMT_EINVAL;
	if (plen > IOMT_WIRE_MAX_PAYLOAD || cap < IOMT_WIRE_HDR_LEN + plen)
		return IOMT_ESIZE;
	iomt_wire_put_hdr(out, IOMT_MSG_COOKIE_WRAP, plen);
	memcpy(out + IOMT_WIRE_HDR_LEN, cookie, IOMT_COOKIE_LEN);
	memmove(out + IOMT_WIRE_HDR_LEN + IOMT_COOKIE_LEN, req, reqlen);
	*outlen = IOMT_WIRE_HDR_LEN + plen;
	return IOMT_OK;
}

int iomt_cookie_unwrap(const uint8_t *p, size_t plen, uint8_t cookie[IOMT_COOKIE_LEN],
		       const uint8_t **req, size_t *reqlen)
{
	const uint8_t *ip;
	uint8_t type;
	size_t ilen;
	int err;

	if (!p || !cookie || !req || !reqlen)
		return IOMT_EINVAL;
	if (plen < IOMT_COOKIE_LEN + IOMT_WIRE_HDR_LEN)
		return IOMT_ESIZE;
	/* The inner frame is a whole frame of its own: header, exact size. */
	err = iomt_wire_parse(p + IOMT_COOKIE_LEN, plen - IOMT_COOKIE_LEN, &type, &ip, &ilen);
	if (err)
		return err;
	if (type == IOMT_MSG_COOKIE_WRAP)
		return IOMT_EMALFORMED;   /* no nesting */
	memcpy(cookie, p, IOMT_COOKIE_LEN);
	*req = p + IOMT_COOKIE_LEN;
	*reqlen = plen - IOMT_COOKIE_LEN;
	return IOMT_OK;
}

void iomt_cookie_addr_v4(uint8_t addr16[IOMT_COOKIE_ADDR_LEN], const uint8_t v4[4])
{
	memset(addr16, 0, 10);
	addr16[10] = 0xff;
	addr16[11] = 0xff;
	memcpy(addr16 + 12, v4, 4);
}
