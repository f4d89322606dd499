/* SPDX-License-Identifier: MIT */
#include "hex.h"
#include "iomt_err.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int iomt_hex_decode(const char *s, size_t len, uint8_t *out, size_t outlen, size_t *bad)
{
	if (len / 2 != outlen || len % 2)
		return IOMT_ESIZE;
	/* Check every digit before writing anything. */
	for (size_t i = 0; i < len; i++)
		if (hex_digit(s[i]) < 0) {
			if (bad)
				*bad = i + 1;
			return IOMT_EMALFORMED;
		}
	for (size_t i = 0; i < outlen; i++)
		out[i] = (uint8_t)(hex_digit(s[2 * i]) << 4 | hex_digit(s[2 * i + 1]));
	return IOMT_OK;
}

void iomt_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
