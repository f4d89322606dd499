/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor data` (see data_opts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iomt_err.h"
#include "kdc.h"
#include "recbatch.h"
#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "data_opts.h"

#define AT(m) RT_CONF_AT(struct data_opts, m)

static const struct rt_conf_key data_keys[] = {
	{ "state", RT_CONF_STRING, AT(state),
	  .help = "the sensor's data-key state file, created on the first run (required)" },
	{ "gateway", RT_CONF_STRING, AT(gateway),
	  .help = "the gateway's UDP address, HOST:PORT, for REC_PUT (required)" },
	{ "key", RT_CONF_STRING, AT(key),
	  .help = "first run: the sensor's KDC key file (from 'iomt-kdc admin export-key')" },
	{ "kdc", RT_CONF_STRING, AT(kdc), .help = "first run: the KDC, HOST:PORT" },
	{ "ppd", RT_CONF_STRING, AT(ppd),
	  .help = "first run: the patient's PPD, NAME=HOST:PORT (NAME: its KDC principal)" },
	{ "data_key", RT_CONF_STRING, AT(data_key),
	  .help = "first run without a PPD: a file of meta_Kdata || K_data_0 (94 bytes, 0600)" },
	{ "conf", RT_CONF_STRING, AT(conf), .def = "leaf=60s,arity=16x365x24x60,refresh=1d",
	  .help = "first run: the key-tree schedule asked of the PPD: leaf=DURATION,"
		  "arity=AxBx..,refresh=DURATION|never[,start=UNIX_S] (start: the first "
		  "record's UTC day)" },
	{ "records", RT_CONF_INT, AT(records), .min = 0, .max = 100000000, .def = "10",
	  .help = "measurements to take, seal and send (0: none, only provision)" },
	{ "interval", RT_CONF_DURATION, AT(interval_ms), .min = 1, .max = 86400000,
	  .def = "1s", .help = "time between measurements" },
	{ "batch", RT_CONF_INT, AT(batch), .min = 1, .max = IOMT_RECBATCH_MAX, .def = "16",
	  .help = "records per REC_PUT at most (fewer when the datagram would pass --mtu)" },
	{ "mtu", RT_CONF_INT, AT(mtu), .min = 256, .max = 65507, .def = "1472",
	  .help = "largest datagram sent (the gateway takes 1472 bytes)" },
	{ "clock_start", RT_CONF_STRING, AT(clock_start_s),
	  .help = "simulated clock: record i is taken at UNIX_S + i * interval, without "
		  "waiting (tests); default: the wall clock, in real time" },
	{ "timeout", RT_CONF_DURATION, AT(timeout_ms), .min = 1, .max = 600000, .def = "300ms",
	  .help = "first wait for a REC_ACK; doubles on each retry, up to 4 s" },
	{ "retries", RT_CONF_INT, AT(retries), .min = 0, .max = 1000, .def = "10",
	  .help = "resends of a batch (no answer, BUSY, UNREACHABLE) before giving up" },
	{ "ppd_timeout", RT_CONF_DURATION, AT(ppd_timeout_ms), .min = 100, .max = 600000,
	  .def = "10s", .help = "first run: the wait for the KDC's and the PPD's answers (each "
				 "request waits a quarter of it, resent up to 3 times)" },
	{ "fail_persist_after", RT_CONF_INT, AT(fail_persist_after), .min = -1, .max = 1 << 30,
	  .def = "-1", .help = "test: every state write after this many fails (-1: never)" },
	{ "log_level", RT_CONF_LOGLEVEL, AT(log_level), .def = "info",
	  .help = "error, warn, info or debug (one line per batch)" },
	{ NULL },
};

static const struct rt_daemon_info data_info = {
	.prog = "iomt-sensor data",
	.version = "0.1.0",
	.summary = "Seals measurements under the data-key tree and sends them in REC_PUT\n"
		   "batches to a gateway. The first run gets the data key K_data_0 from the\n"
		   "patient's PPD (a KDC ticket, then PROVISION; or --data-key) and persists it\n"
		   "in --state before any use; later runs continue from the state file.",
	.keys = data_keys,
};

/* "60", "60s", "5m", "2h", "1d" -> seconds; 0 on error. */
static uint64_t parse_secs(const char *s, size_t len)
{
	char buf[32], *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtoull(buf, &end, 10);
	if (end == buf)
		return 0;
	if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end && *end != 's')
		return 0;
	if (*end && end[1])
		return 0;
	return v > UINT32_MAX / mul ? 0 : v * mul;
}

static int parse_arity(struct iomt_keytree_conf *c, const char *s, size_t len)
{
	size_t i = 0;

	c->depth = 0;
	while (i < len) {
		char *end;
		unsigned long v = strtoul(s + i, &end, 10);

		if (end == s + i || c->depth == IOMT_KEYTREE_MAX_DEPTH || v < 2 || v > 65535)
			return -1;
		c->arity[c->depth++] = (uint16_t)v;
		i = (size_t)(end - s);
		if (i < len && s[i] != 'x')
			return -1;
		if (i < len)
			i++;
	}
	return c->depth ? 0 : -1;
}

/* One "name=value" of --conf. */
static int conf_item(struct data_opts *o, const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	size_t nl, vl;
	const char *v;

	if (!eq)
		return -1;
	nl = (size_t)(eq - item);
	v = eq + 1;
	vl = len - nl - 1;
	if (nl == 4 && !memcmp(item, "leaf", 4))
		return (o->want.leaf_period_s = (uint32_t)parse_secs(v, vl)) ? 0 : -1;
	if (nl == 5 && !memcmp(item, "arity", 5))
		return parse_arity(&o->want, v, vl);
	if (nl == 7 && !memcmp(item, "refresh", 7)) {
		if (vl == 5 && !memcmp(v, "never", 5)) {
			o->want.refresh_period_s = 0;
			return 0;
		}
		return (o->want.refresh_period_s = (uint32_t)parse_secs(v, vl)) ? 0 : -1;
	}
	if (nl == 5 && !memcmp(item, "start", 5)) {
		o->want.epoch_start = parse_secs(v, vl);
		o->want_start_set = 1;
		return 0;
	}
	return -1;
}

static int parse_conf(struct data_opts *o)
{
	struct iomt_keytree_shape sh;
	const char *s = o->conf;

	memset(&o->want, 0, sizeof(o->want));
	o->want.version = IOMT_KEYTREE_CONF_VERSION;
	while (*s) {
		size_t len = strcspn(s, ",");

		if (conf_item(o, s, len)) {
			rt_err("--conf: cannot read '%.*s' (expected leaf=60s, arity=24x60, "
			       "refresh=1d|never or start=UNIX_S)", (int)len, s);
			return -1;
		}
		s += len + (s[len] == ',');
	}
	if (!o->want.leaf_period_s || !o->want.depth) {
		rt_err("--conf '%s': leaf and arity are required", o->conf);
		return -1;
	}
	if (iomt_keytree_shape(&o->want, &sh)) {
		rt_err("--conf '%s': not a valid key tree (at most 2^40 leaves and 2^32 epochs; "
		       "refresh must be the span of one tree level: docs/PROTOCOL.md 6.1)",
		       o->conf);
		return -1;
	}
	return 0;
}

void data_opts_default_start(struct data_opts *o, uint64_t first_t)
{
	if (!o->want_start_set)
		o->want.epoch_start = first_t - first_t % 86400;
}

static int parse_ppd(struct data_opts *o)
{
	const char *eq = strchr(o->ppd, '=');

	if (!o->ppd[0])
		return 0;
	if (!eq || eq == o->ppd || (size_t)(eq - o->ppd) > IOMT_KDC_NAME_LEN || !eq[1]) {
		rt_err("--ppd '%s': expected NAME=HOST:PORT (NAME at most %d bytes)", o->ppd,
		       IOMT_KDC_NAME_LEN);
		return -1;
	}
	snprintf(o->ppd_name, sizeof(o->ppd_name), "%.*s", (int)(eq - o->ppd), o->ppd);
	snprintf(o->ppd_addr, sizeof(o->ppd_addr), "%s", eq + 1);
	return 0;
}

static int parse_clock(struct data_opts *o)
{
	char *end;

	o->clock_start = 0;
	if (!o->clock_start_s[0])
		return 0;
	o->clock_start = strtoull(o->clock_start_s, &end, 10);
	if (end == o->clock_start_s || *end || !o->clock_start ||
	    o->clock_start > (UINT64_C(1) << 40)) {
		rt_err("--clock-start '%s': expected Unix seconds", o->clock_start_s);
		return -1;
	}
	return 0;
}

static int check_required(const struct data_opts *o)
{
	if (!o->state[0] || !o->gateway[0]) {
		rt_err("missing --%s (try --help)",
		       !o->state[0] ? "state FILE" : "gateway HOST:PORT");
		return -1;
	}
	if (o->data_key[0] && (o->ppd[0] || o->key[0])) {
		rt_err("--data-key replaces --key/--kdc/--ppd: give one or the other");
		return -1;
	}
	return 0;
}

int data_opts_parse(struct data_opts *o, int argc, char *const argv[])
{
	int r;

	memset(o, 0, sizeof(*o));
	r = rt_daemon_args_log(&data_info, o, argc, argv);
	if (r)
		return r;       /* -1 after an error, 1 after a query */
	rt_log_set_level((enum rt_log_level)o->log_level);
	if (check_required(o) || parse_conf(o) || parse_ppd(o) || parse_clock(o))
		return -1;
	return sensor_net_resolve(o->gateway, &o->gw_addr) ? -1 : 0;
}
