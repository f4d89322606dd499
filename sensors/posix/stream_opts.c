/* SPDX-License-Identifier: MIT */
/* Options of `iomt-sensor stream` (see stream_opts.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "run_opts.h"
#include "stream_opts.h"

#define AT(m) RT_CONF_AT(struct stream_opts, m)

static const struct rt_conf_key stream_keys[] = {
	{ "state", RT_CONF_STRING, AT(state),
	  .help = "state file written by 'iomt-sensor provision' (required)" },
	{ "mec", RT_CONF_STRING, AT(mec), .help = "the MEC's UDP address, HOST:PORT (required)" },
	{ "device", RT_CONF_INT, AT(device), .min = 0, .max = 1 << 20, .def = "0",
	  .help = "which device of the state file streams (0: the first)" },
	{ "samples", RT_CONF_STRING, AT(samples),
	  .help = "measurements from FILE: lines 't_ms rr|spo2 value' (or --synthetic)" },
	{ "synthetic", RT_CONF_STRING, AT(synthetic),
	  .help = "generated measurements: " SYNTH_PROFILES },
	{ "seed", RT_CONF_STRING, AT(seed), .def = "1",
	  .help = "--synthetic: the generator's seed (same seed, same values)" },
	{ "duration", RT_CONF_DURATION, AT(duration_ms), .min = 1, .max = 366LL * 86400000,
	  .def = "2m", .help = "--synthetic: device time the samples cover" },
	{ "t0", RT_CONF_STRING, AT(t0),
	  .help = "--synthetic: the first sample's time, UNIX ms (default: now)" },
	{ "batch", RT_CONF_INT, AT(batch), .min = 1, .max = IOMT_S2_DATA_SAMPLES_MAX,
	  .def = "200", .help = "samples per S2_DATA frame, at most" },
	{ "span", RT_CONF_DURATION, AT(span_ms), .min = 0, .max = 86400000, .def = "10s",
	  .help = "device time one frame covers, at most (0: no limit)" },
	{ "rate", RT_CONF_STRING, AT(rate), .def = "500",
	  .help = "frames per second, R or R/s (0: as fast as possible)" },
	{ "rekey_frames", RT_CONF_INT, AT(rekey_frames), .min = 0, .max = 1 << 24, .def = "0",
	  .help = "a new agreement after N frames (0: at the core's limits, 2^24 frames or 50 min)" },
	{ "timeout", RT_CONF_DURATION, AT(timeout_ms), .min = 1, .max = 3600000,
	  .def = "500ms", .help = "how long to wait for M4 before retrying" },
	{ "retries", RT_CONF_INT, AT(retries), .min = 0, .max = 1000, .def = "5",
	  .help = "fresh runs after the first before an agreement gives up" },
	{ "progress", RT_CONF_DURATION, AT(progress_ms), .min = 0, .max = 3600000, .def = "1s",
	  .help = "a progress line on stderr this often (0: none)" },
	{ "json", RT_CONF_BOOL, AT(json), .def = "no", .help = "print the summary as one JSON object" },
	{ "log_level", RT_CONF_LOGLEVEL, AT(log_level), .def = "info",
	  .help = "error, warn, info, or debug (SK fingerprints, never keys)" },
	{ NULL },
};

static const struct rt_daemon_info stream_info = {
	.prog = "iomt-sensor stream",
	.version = "0.1.0",
	.summary = "One device agrees a key with the MEC (seed 002) and streams measurements "
		   "to it in S2_DATA frames (phase 4).",
	.keys = stream_keys,
};

static int parse_u64(const char *opt, const char *text, uint64_t *v)
{
	char *end;

	if (text[0] < '0' || text[0] > '9') {
		rt_err("--%s '%s': expected a decimal number", opt, text);
		return -1;
	}
	*v = strtoull(text, &end, 10);
	if (*end || *v > INT64_MAX) {
		rt_err("--%s '%s': expected a decimal number below 2^63", opt, text);
		return -1;
	}
	return 0;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int check_source(struct stream_opts *o)
{
	if (!o->samples[0] == !o->synthetic[0]) {
		rt_err("give exactly one of --samples FILE and --synthetic PROFILE (try --help)");
		return -1;
	}
	if (o->synthetic[0] && synth_profile_parse(o->synthetic, &o->profile)) {
		rt_err("--synthetic '%s': expected one of %s", o->synthetic, SYNTH_PROFILES);
		return -1;
	}
	if (parse_u64("seed", o->seed, &o->seed_v))
		return -1;
	if (!o->t0[0])
		o->t0_ms = unix_ms();
	else if (parse_u64("t0", o->t0, &o->t0_ms))
		return -1;
	return 0;
}

int stream_opts_parse(struct stream_opts *o, int argc, char *const argv[])
{
	int r;

	memset(o, 0, sizeof(*o));
	r = rt_daemon_args_log(&stream_info, o, argc, argv);
	if (r)
		return r;
	rt_log_set_level((enum rt_log_level)o->log_level);
	if (!o->state[0]) {
		rt_err("missing --state FILE (try --help)");
		return -1;
	}
	if (!o->mec[0]) {
		rt_err("missing --mec HOST:PORT (try --help)");
		return -1;
	}
	if (check_source(o) || run_opts_parse_rate(o->rate, "frames", &o->rate_per_s) ||
	    sensor_net_resolve(o->mec, &o->mec_addr))
		return -1;
	return 0;
}
