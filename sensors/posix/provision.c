/* SPDX-License-Identifier: MIT */
/* `iomt-sensor provision` (see provision.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "iomt_err.h"
#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "prov.h"
#include "provision.h"
#include "run_opts.h"
#include "store.h"

struct provision_opts {
	char prov[RUN_OPTS_PATH_MAX];
	char state[RUN_OPTS_PATH_MAX];
	int log_level;
};

static const struct rt_conf_key provision_keys[] = {
	{ "prov", RT_CONF_STRING, RT_CONF_AT(struct provision_opts, prov),
	  .help = "device provisioning file from iomt-user: lines 'did=HEX dk=HEX' (required)" },
	{ "state", RT_CONF_STRING, RT_CONF_AT(struct provision_opts, state),
	  .help = "state file to create; an existing one is refused (required)" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct provision_opts, log_level),
	  .def = "info", .help = "error, warn, info or debug" },
	{ NULL },
};

static const struct rt_daemon_info provision_info = {
	.prog = "iomt-sensor provision",
	.version = "0.1.0",
	.summary = "Imports a device provisioning file into a new crash-safe state file.",
	.keys = provision_keys,
};

/* Every device through the core's own factory provisioning (sc_provision_s2)
 * into a temporary file, synced once, then linked into place: all or nothing. */
static int fill(struct sensor_store *s, const struct sensor_prov *devs, size_t n)
{
	static const struct sc_conf conf = { 500, 0 };
	struct sensor_dev d;
	struct sc c;
	int r = 0;

	for (size_t i = 0; !r && i < n; i++) {
		int k = sensor_store_load(s, &d, i, &c, &conf);

		/* A fresh file holds nothing; a DID or DK lib/ refuses is a bug. */
		if (k == SC_ENOSTATE)
			k = sc_provision_s2(&c, devs[i].did, devs[i].dk);
		else
			k = IOMT_ESTATE;
		r = k == SC_OK ? 0 : k == SC_ESTORE ? -d.err : -EINVAL;
		sc_wipe(&c);
	}
	return r;
}

static int state_create(const char *path, const struct sensor_prov *devs, size_t n)
{
	struct sensor_store s;
	char tmp[PATH_MAX];
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.provisioning", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0) {
		rt_err("%s: state file exists: refusing to overwrite device identities "
		       "(remove it to provision again)", path);
		return -EEXIST;
	}
	r = sensor_store_create_tmp(&s, tmp, n);
	if (!r)
		r = fill(&s, devs, n);
	if (!r)
		r = sensor_store_commit(&s, tmp, path);
	sensor_store_close(&s);
	if (r == -EEXIST)
		rt_err("%s: state file appeared meanwhile: not overwritten", path);
	else if (r)
		rt_err("%s: cannot create the state file: %s", path, strerror(-r));
	unlink(tmp);
	return r;
}

static int parse(struct provision_opts *o, int argc, char *const argv[])
{
	char err[512];
	int r = rt_daemon_args(&provision_info, o, argc, argv, err, sizeof(err));

	if (r < 0) {
		rt_err("%s", err);
		return -1;
	}
	if (r == RT_DAEMON_EXIT)
		return 1;
	rt_log_set_level((enum rt_log_level)o->log_level);
	if (!o->prov[0] || !o->state[0]) {
		rt_err("missing --%s (try --help)", !o->prov[0] ? "prov FILE" : "state FILE");
		return -1;
	}
	return 0;
}

int sensor_provision_main(int argc, char *const argv[])
{
	static struct provision_opts o;
	struct sensor_prov *devs;
	size_t n;
	int r = parse(&o, argc, argv);

	if (r)
		return r > 0 ? 0 : 2;
	if (sensor_prov_read(o.prov, &devs, &n))
		return 1;
	r = state_create(o.state, devs, n);
	sensor_prov_free(devs, n);
	if (r)
		return 1;
	printf("provisioned %zu devices into %s\n", n, o.state);
	return 0;
}
