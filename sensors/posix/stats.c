/* SPDX-License-Identifier: MIT */
/* Run summary (see stats.h). */
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "wire.h"

int stats_init(struct run_stats *s, size_t devices, size_t agreements)
{
	memset(s, 0, sizeof(*s));
	s->devices = devices;
	s->fail = calloc(devices ? devices : 1, 1);
	s->code = calloc(devices ? devices : 1, 1);
	/* One slot per agreement asked for, capped: beyond, latencies are dropped. */
	s->cap = devices * agreements < (1u << 24) ? devices * agreements : (1u << 24);
	s->lat_us = calloc(s->cap ? s->cap : 1, sizeof(*s->lat_us));
	return s->fail && s->code && s->lat_us ? 0 : -1;
}

void stats_free(struct run_stats *s)
{
	free(s->fail);
	free(s->code);
	free(s->lat_us);
	memset(s, 0, sizeof(*s));
}

void stats_latency(struct run_stats *s, uint64_t us)
{
	if (s->nlat < s->cap)
		s->lat_us[s->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

void stats_fail(struct run_stats *s, size_t dev, enum sensor_fail why, uint8_t code)
{
	s->failed++;
	s->fail[dev] = (uint8_t)why;
	s->code[dev] = code;
}

size_t stats_devices_failed(const struct run_stats *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->devices; i++)
		n += s->fail[i] != FAIL_NONE;
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile, in milliseconds; 0 without samples. */
static double percentile_ms(const struct run_stats *s, unsigned pct)
{
	size_t rank;

	if (!s->nlat)
		return 0;
	rank = (s->nlat * pct + 99) / 100;
	return s->lat_us[rank ? rank - 1 : 0] / 1000.0;
}

static const char *fail_name(enum sensor_fail why, uint8_t code)
{
	static const char *const refused[] = {
		[IOMT_S2_ERR_UNKNOWN_DEVICE] = "unknown_device",
		[IOMT_S2_ERR_UNKNOWN_MEC] = "unknown_mec",
		[IOMT_S2_ERR_BAD_DEVICE] = "bad_device",
		[IOMT_S2_ERR_BAD_MEC] = "bad_mec",
		[IOMT_S2_ERR_MALFORMED] = "malformed",
		[IOMT_S2_ERR_DENIED] = "denied",
	};
	static const char *const names[] = {
		[FAIL_NONE] = "none", [FAIL_STATE_READ] = "state_read",
		[FAIL_STATE_WRITE] = "state_write", [FAIL_REFUSED] = "refused",
		[FAIL_NO_ANSWER] = "no_answer", [FAIL_SOCKET] = "socket",
		[FAIL_INTERNAL] = "internal", [FAIL_INTERRUPTED] = "interrupted",
	};

	if (why == FAIL_REFUSED && code < sizeof(refused) / sizeof(*refused) && refused[code])
		return refused[code];
	return (unsigned)why < sizeof(names) / sizeof(*names) ? names[why] : "?";
}

static void print_json(const struct run_stats *s, double p50, double p99, FILE *out)
{
	size_t i, n = 0;

	fprintf(out, "{\"agreements_ok\":%llu,\"agreements_failed\":%llu,\"retries\":%llu,"
		"\"ignored\":%llu,\"cookies\":%llu,\"devices\":%zu,\"devices_failed\":%zu,"
		"\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"elapsed_ms\":%.3f,\"failures\":[",
		(unsigned long long)s->ok, (unsigned long long)s->failed,
		(unsigned long long)s->retries, (unsigned long long)s->ignored,
		(unsigned long long)s->cookies, s->devices,
		stats_devices_failed(s), p50, p99, (s->end_us - s->start_us) / 1000.0);
	for (i = 0; i < s->devices; i++)
		if (s->fail[i])
			fprintf(out, "%s{\"device\":%zu,\"error\":\"%s\",\"code\":%u}", n++ ? "," : "",
				i, fail_name(s->fail[i], s->code[i]), s->code[i]);
	fprintf(out, "]}\n");
}

void stats_print(struct run_stats *s, int json, FILE *out)
{
	double p50, p99;

	qsort(s->lat_us, s->nlat, sizeof(*s->lat_us), cmp_u32);
	p50 = percentile_ms(s, 50);
	p99 = percentile_ms(s, 99);
	if (json)
		print_json(s, p50, p99, out);
	else
		fprintf(out, "agreements ok %llu, failed %llu, retries %llu, p50 %.1f ms, "
			"p99 %.1f ms\n", (unsigned long long)s->ok, (unsigned long long)s->failed,
			(unsigned long long)s->retries, p50, p99);
	fflush(out);
}
