/* SPDX-License-Identifier: MIT */
/* Evidence log entries of the PPD (docs/EVLOG.md has the file). */
#include <string.h>
#include <time.h>

#include "lib/rt_log.h"
#include "ppd.h"

uint64_t ppd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ppd_name(const uint8_t name[IOMT_KDC_NAME_LEN], char out[IOMT_KDC_NAME_LEN + 1])
{
	size_t n = 0;

	while (n < IOMT_KDC_NAME_LEN && name[n])
		n++;
	memcpy(out, name, n);
	out[n] = '\0';
}

int ppd_evidence(struct ppd *p, uint8_t type, const char *json)
{
	size_t len = strlen(json);
	uint64_t seq;
	int r;

	/* rt_json ends its records in a newline: the entry is the object. */
	while (len && json[len - 1] == '\n')
		len--;
	r = rt_evlog_append(p->log, type, json, len, &seq);

	if (r)
		rt_err("evidence log: cannot append a %s entry: %s: nothing is released",
		       rt_evlog_type_name(type), strerror(-r));
	else
		rt_dbg("evidence %llu: %s %s", (unsigned long long)seq, rt_evlog_type_name(type),
		       json);
	return r;
}
