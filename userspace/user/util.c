// SPDX-License-Identifier: MIT
/* Messages, hex, time and numbers for iomt-user. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "user.h"

static const char *current_cmd;

void user_set_cmd(const char *cmd)
{
	current_cmd = cmd;
}

int user_fail(const char *fmt, ...)
{
	int saved = errno;	/* for %m */
	va_list ap;

	fprintf(stderr, "iomt-user: ");
	if (current_cmd)
		fprintf(stderr, "%s: ", current_cmd);
	errno = saved;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return USER_EXIT_FAIL;
}

void time_format(char out[32], uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* Beyond what gmtime can show (year > 2^31): print the number. */
	if ((uint64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "@%llu", (unsigned long long)t);
}

uint64_t user_now(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	/* strtoul takes "-1" and " 7"; a count is digits only. */
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

void id_format(char *out, const uint8_t id[ECQV_ID_LEN])
{
	size_t len = ECQV_ID_LEN, i;

	while (len && !id[len - 1])
		len--;
	for (i = 0; i < len; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			break;
	if (len && i == len) {
		memcpy(out, id, len);
		out[len] = '\0';
	} else {
		iomt_hex_encode(id, ECQV_ID_LEN, out);
	}
}

const char *role_name(uint8_t role)
{
	switch (role) {
	case ECQV_ROLE_PATIENT: return "patient";
	case ECQV_ROLE_DOCTOR: return "doctor";
	case ECQV_ROLE_MEC: return "MEC";
	case ECQV_ROLE_DEVICE: return "device";
	case ECQV_ROLE_OTHER: return "other";
	}
	return "unknown";
}
