/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor run` (see run_opts.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "run_opts.h"

static const struct rt_conf_key run_keys[] = {
	{ "state", RT_CONF_STRING, RT_CONF_AT(struct run_opts, state),
	  .help = "state file written by 'iomt-sensor provision' (required)" },
	{ "mec", RT_CONF_STRING, RT_CONF_AT(struct run_opts, mec),
	  .help = "the MEC's UDP address, HOST:PORT (required)" },
	{ "devices", RT_CONF_INT, RT_CONF_AT(struct run_opts, devices), .min = 0,
	  .max = 1 << 20, .def = "0", .help = "simulate the first N devices (0: all)" },
	{ "agreements", RT_CONF_INT, RT_CONF_AT(struct run_opts, agreements), .min = 1,
	  .max = 1000000, .def = "1", .help = "key agreements per device" },
	{ "concurrency", RT_CONF_INT, RT_CONF_AT(struct run_opts, concurrency), .min = 1,
	  .max = 65536, .def = "256", .help = "devices in flight at once (one UDP socket each)" },
	{ "timeout", RT_CONF_DURATION, RT_CONF_AT(struct run_opts, timeout_ms), .min = 1,
	  .max = 3600000, .def = "500ms", .help = "how long to wait for M4 before retrying" },
	{ "retries", RT_CONF_INT, RT_CONF_AT(struct run_opts, retries), .min = 0,
	  .max = 1000, .def = "5", .help = "fresh runs after the first before a device gives up" },
	{ "rate", RT_CONF_STRING, RT_CONF_AT(struct run_opts, rate), .def = "0",
	  .help = "new agreements per second over all devices, R or R/s (0: no limit)" },
	{ "drop_m4", RT_CONF_STRING, RT_CONF_AT(struct run_opts, drop_m4), .def = "0",
	  .help = "test: ignore an incoming M4 with this probability (a lost M4)" },
	{ "corrupt_m1", RT_CONF_BOOL, RT_CONF_AT(struct run_opts, corrupt_m1), .def = "no",
	  .help = "test: flip a bit of c1 in every M1 (the TTP answers BAD_DEVICE)" },
	{ "json", RT_CONF_BOOL, RT_CONF_AT(struct run_opts, json), .def = "no",
	  .help = "print the summary as one JSON object" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct run_opts, log_level), .def = "info",
	  .help = "error, warn, info, or debug (one line per agreement, SK fingerprint only)" },
	{ NULL },
};

static const struct rt_daemon_info run_info = {
	.prog = "iomt-sensor run",
	.version = "0.1.0",
	.summary = "Simulates the devices of a state file: seed-002 key agreements with a MEC.",
	.keys = run_keys,
};

int run_opts_parse_rate(const char *text, const char *what, double *out)
{
	char *end;
	double v = strtod(text, &end);

	if (end == text || (*end && strcmp(end, "/s")) || !(v >= 0 && v <= 1e7)) {
		rt_err("--rate '%s': expected %s per second, like 200 or 200/s", text, what);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_probability(const char *text, uint32_t *ppm)
{
	char *end;
	double p = strtod(text, &end);

	if (end == text || *end || !(p >= 0 && p <= 1)) {
		rt_err("--drop-m4 '%s': expected a probability from 0 to 1", text);
		return -1;
	}
	*ppm = (uint32_t)(p * 1e6 + 0.5);
	return 0;
}

static int check_required(const struct run_opts *o)
{
	if (!o->state[0]) {
		rt_err("missing --state FILE (try --help)");
		return -1;
	}
	if (!o->mec[0]) {
		rt_err("missing --mec HOST:PORT (try --help)");
		return -1;
	}
	return 0;
}

int run_opts_parse(struct run_opts *o, int argc, char *const argv[])
{
	int r;

	memset(o, 0, sizeof(*o));
	r = rt_daemon_args_log(&run_info, o, argc, argv);
	if (r)
		return r;       /* -1 after an error, 1 after a query */
	rt_log_set_level((enum rt_log_level)o->log_level);
	if (check_required(o) || run_opts_parse_rate(o->rate, "agreements", &o->rate_per_s) ||
	    parse_probability(o->drop_m4, &o->drop_m4_ppm) ||
	    sensor_net_resolve(o->mec, &o->mec_addr))
		return -1;
	return 0;
}
