/* SPDX-License-Identifier: MIT */
/* `iomt-sensor state` (see inspect.h). */
#include <inttypes.h>
#include <stdio.h>

#include "hex.h"
#include "inspect.h"
#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "run_opts.h"
#include "store.h"

struct state_opts {
	char state[RUN_OPTS_PATH_MAX];
	int dids;
	int log_level;
};

static const struct rt_conf_key state_keys[] = {
	{ "state", RT_CONF_STRING, RT_CONF_AT(struct state_opts, state),
	  .help = "the state file to show (required)" },
	{ "dids", RT_CONF_BOOL, RT_CONF_AT(struct state_opts, dids), .def = "no",
	  .help = "also print each device's current DID (tests)" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct state_opts, log_level),
	  .def = "info", .help = "error, warn, info or debug" },
	{ NULL },
};

static const struct rt_daemon_info state_info = {
	.prog = "iomt-sensor state",
	.version = "0.1.0",
	.summary = "Shows what a state file holds, device by device (never a key).",
	.keys = state_keys,
};

static int show(const struct state_opts *o, struct sensor_store *s, size_t i)
{
	static const struct sc_conf conf = { 500, 0 };
	char hex[2 * IOMT_KEYTREE_ID_LEN + 1];
	struct sensor_dev d;
	struct sc c;
	int r = sensor_store_load(s, &d, i, &c, &conf);

	if (r) {
		printf("%zu no good slot\n", i);
		sc_wipe(&c);
		return -1;
	}
	printf("%zu gen=%" PRIu32, i, c.gen);
	if (o->dids) {
		if (c.has_id)
			iomt_hex_encode(c.id.did, IOMT_S2_ID_LEN, hex);
		printf(" did=%s", c.has_id ? hex : "-");
	}
	if (c.has_data) {
		iomt_hex_encode(c.meta.key_id, IOMT_KEYTREE_ID_LEN, hex);
		printf(" data=%s epoch=%" PRIu32 " leaf=%" PRIu64 " seq_hi=%" PRIu32 "\n", hex,
		       c.ks.epoch, c.leaf, c.seq_hi);
	} else {
		printf(" data=-\n");
	}
	sc_wipe(&c);
	return 0;
}

int sensor_state_main(int argc, char *const argv[])
{
	static struct state_opts o;
	struct sensor_store s;
	int r = rt_daemon_args_log(&state_info, &o, argc, argv), bad = 0;

	if (r)
		return r > 0 ? 0 : 2;
	rt_log_set_level((enum rt_log_level)o.log_level);
	if (!o.state[0]) {
		rt_err("missing --state FILE (try --help)");
		return 2;
	}
	if (sensor_store_open(&s, o.state))
		return 1;
	for (size_t i = 0; i < s.ndev; i++)
		bad |= show(&o, &s, i);
	sensor_store_close(&s);
	return bad ? 1 : 0;
}
