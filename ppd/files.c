/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "files.h"
#include "lib/rt_file.h"
#include "shake.h"
#include "sp800_185.h"

void ppd_check(const char *custom, const uint8_t *p, size_t len, uint8_t out[PPD_CHECK_LEN])
{
	struct iomt_shake128 s;

	iomt_cshake128_init(&s, NULL, 0, custom, strlen(custom));
	iomt_shake128_absorb(&s, p, len);
	iomt_shake128_squeeze(&s, out, PPD_CHECK_LEN);
	iomt_shake128_wipe(&s);
}

int ppd_write_new(const char *path, const void *buf, size_t len)
{
	return rt_file_publish(path, buf, len, 0600, RT_FILE_NO_REPLACE);
}

long ppd_read_private(const char *path, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
	long n = rt_file_read(path, buf, cap, RT_FILE_PRIVATE, err, errlen);

	return n == -EFBIG ? rt_file_err(err, errlen, -EFBIG, "%s: too long", path) : n;
}

int ppd_passphrase_read(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	long n = ppd_read_private(path, (uint8_t *)buf, cap - 1, err, errlen);
	char *nl;

	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	nl = memchr(buf, '\n', (size_t)n);
	if (nl)
		*nl = '\0';
	if (nl && nl > buf && nl[-1] == '\r')
		nl[-1] = '\0';
	if (!buf[0] || strlen(buf) != strcspn(buf, "\n")) {
		iomt_wipe(buf, cap);
		snprintf(err, errlen, "%s: the passphrase is empty", path);
		return -EINVAL;
	}
	return 0;
}
