/* SPDX-License-Identifier: MIT */
/* The daemon: configuration, logging, state, sockets, privileges, the loop. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "engine.h"
#include "gateway.h"
#include "hook.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_priv.h"
#include "mec.h"
#include "mecdata.h"
#include "metrics.h"
#include "pool.h"
#include "relay.h"
#include "sessions.h"
#include "users.h"

struct gwd {
	struct gwd_cfg cfg;
	struct gwd_pool pool;
	struct gwd_sessions sessions;
	struct gwd_engine engine;
	struct gwd_mec mec;
	struct gwd_mecdata mecdata;	/* phase 4, on with 'mec_key' */
	int mecdata_on;
	struct gwd_gateway gateway;
	struct gwd_relay relay;
	struct gwd_control control;
	int sigfd;
	int engine_open;	/* what teardown() must undo */
	int mec_on, gateway_on, relay_on, control_on;
	struct gwd_users users;		/* phases 5 and 6, on with 'users yes' */
	int users_on;
};

/* Phases 5 and 6 (users.h); phase 4's emergencies go to phase 6. */
static int setup_users(struct gwd *g, char *err, size_t errlen)
{
	g->users_on = 1;	/* teardown undoes a partial open */
	if (gwd_users_open(&g->users, &g->cfg, err, errlen))
		return -1;
	if (g->mecdata_on)
		gwd_mecdata_on_emergency(&g->mecdata, gwd_users_on_emergency, &g->users);
	return 0;
}

/* The control socket (control.h), opened before privileges go. */
static int setup_control(struct gwd *g, char *err, size_t errlen)
{
	const char *m = g->cfg.control_mode;
	mode_t mode = !strcmp(m, "0600") ? 0600 : !strcmp(m, "0660") ? 0660 : 0;

	if (!mode) {
		snprintf(err, errlen, "control_mode '%s': 0600 or 0660", m);
		return -1;
	}
	if (gwd_control_open(&g->control, g->cfg.control_socket, mode, err, errlen))
		return -1;
	g->control_on = 1;
	return 0;
}

/* Starts serving the control socket once every role is up. */
static int start_control(struct gwd *g)
{
	struct gwd_ctl_info in = {
		.mec = g->mec_on, .relay = g->relay_on,
		.spool = g->relay_on && g->cfg.spool_dir[0],
		.relay_pending_max = g->cfg.relay_pending_max,
		.workers = g->engine.nworkers,
		.started_ms = gwd_now_ms(),
		.sessions = g->mec_on ? &g->sessions : NULL,
		.filter = gwd_filter_describe, .filter_loaded = gwd_filter_loaded,
		.filter_ctx = &g->engine.filter,
	};
	int e;

	snprintf(in.roles, sizeof(in.roles), "%s%s%s", g->mec_on ? "mec " : "",
		 g->gateway_on ? "gateway " : "", g->relay_on ? "relay " : "");
	if (in.roles[0])
		in.roles[strlen(in.roles) - 1] = 0;
	rt_endpoint_str(&g->engine.udp.bound, in.listen, sizeof(in.listen));
	rt_endpoint_str(&g->engine.metrics_bound, in.metrics, sizeof(in.metrics));
	e = gwd_control_start(&g->control, &in);
	if (e)
		rt_err("control socket: cannot start its thread: %s", strerror(-e));
	else
		rt_info("control socket on %s (iomtctl -s %s status)", g->control.path,
			g->control.path);
	return e;
}

/* The MEC role: its identity pool, sessions and the engine's TTP link. */
static int setup_mec(struct gwd *g, char *err, size_t errlen)
{
	if (gwd_mec_init(&g->mec, &g->pool, &g->sessions, &g->engine.tx,
			 g->cfg.agreement_timeout_ms, (size_t)g->cfg.batch_max)) {
		snprintf(err, errlen, "out of memory for the MEC role");
		return -1;
	}
	g->mec_on = 1;
	return gwd_engine_add_role(&g->engine, &gwd_mec_ops, &g->mec);
}

/* Phase 4 beside the MEC role: its key, store and analyses. */
static int setup_mecdata(struct gwd *g, char *err, size_t errlen)
{
	if (gwd_mecdata_init(&g->mecdata, &g->cfg, &g->sessions, err, errlen))
		return -1;
	g->mecdata_on = 1;
	return gwd_engine_add_role(&g->engine, &gwd_mecdata_ops, &g->mecdata);
}

static int setup_gateway(struct gwd *g, char *err, size_t errlen)
{
	if (gwd_gateway_init(&g->gateway, &g->cfg, &g->engine.tx, err, errlen))
		return -1;
	g->gateway_on = 1;
	return gwd_engine_add_role(&g->engine, &gwd_gateway_ops, &g->gateway);
}

static int setup_relay(struct gwd *g, char *err, size_t errlen)
{
	g->relay_on = 1;	/* fini undoes a partial init */
	if (gwd_relay_init(&g->relay, &g->cfg, &g->engine, err, errlen))
		return -1;
	return gwd_engine_add_role(&g->engine, &gwd_relay_ops, &g->relay);
}

/* Everything that needs root or the files, before privileges go. */
static int setup(struct gwd *g)
{
	char err[512];
	/* The link's queue holds at most two M2 frames per slot; no MEC role,
	 * no link. */
	size_t tx_cap = 0;

	if (!g->cfg.mec && !g->cfg.gateway_key[0] && !g->cfg.relay && !g->cfg.users) {
		snprintf(err, sizeof(err), "no role configured: set 'mec yes' (with 'state' and "
			 "'ttp'), 'gateway_key' or 'relay yes'");
		goto fail;
	}
	if (g->cfg.mec && gwd_pool_open(&g->pool, g->cfg.state, err, sizeof(err)))
		goto fail;
	if (g->cfg.mec)
		tx_cap = 2 * g->pool.n * (IOMT_WIRE_HDR_LEN + IOMT_WIRE_S2_M2_LEN);
	if (gwd_sessions_init(&g->sessions, (size_t)g->cfg.sessions_max,
			      g->cfg.session_lifetime_ms)) {
		snprintf(err, sizeof(err), "out of memory for %d sessions", g->cfg.sessions_max);
		goto fail;
	}
	if (gwd_metrics_register()) {
		snprintf(err, sizeof(err), "metrics registration failed (internal error)");
		goto fail;
	}
	g->engine_open = 1;
	if (gwd_engine_open(&g->engine, &g->cfg, g->sigfd, tx_cap, err, sizeof(err)))
		goto fail;
	/* S2_DATA passes the ingress filter only for sessions held. */
	gwd_sessions_watch(&g->sessions, gwd_filter_session_set, gwd_filter_session_del,
			   &g->engine.filter);
	if (g->cfg.mec && setup_mec(g, err, sizeof(err)))
		goto fail;
	if (g->cfg.mec && g->cfg.mec_key[0] && setup_mecdata(g, err, sizeof(err)))
		goto fail;
	if (g->cfg.gateway_key[0] && setup_gateway(g, err, sizeof(err)))
		goto fail;
	if (g->cfg.relay && setup_relay(g, err, sizeof(err)))
		goto fail;
	if (g->cfg.control_socket[0] && setup_control(g, err, sizeof(err)))
		goto fail;
	if (g->cfg.users && setup_users(g, err, sizeof(err)))
		goto fail;
	if (gwd_engine_ready(&g->engine, err, sizeof(err)))
		goto fail;
	return 0;
fail:
	rt_err("%s", err);
	return -1;
}

static int drop_privileges(const struct gwd_cfg *cfg)
{
	int r;

	if (cfg->pidfile[0] && rt_pidfile_write(cfg->pidfile))
		return -1;
	if (!cfg->user[0]) {
		if (geteuid() == 0)
			rt_warn("running as root: set 'user' (e.g. iomt) to drop privileges");
		return 0;
	}
	r = rt_priv_drop(cfg->user);
	if (r)
		rt_err("cannot drop privileges to '%s': %s", cfg->user, strerror(-r));
	return r;
}

static void started(const struct gwd *g)
{
	char udp[80], ttp[80], met[80], gw[160], rl[160];

	if (g->mec_on)
		rt_info("MEC role up: %zu slots, devices on %s (UDP), TTP %s, metrics %s",
			g->pool.n, rt_endpoint_str(&g->engine.udp.bound, udp, sizeof(udp)),
			rt_endpoint_str(&g->cfg.ttp, ttp, sizeof(ttp)),
			rt_endpoint_str(&g->engine.metrics_bound, met, sizeof(met)));
	if (g->mecdata_on) {
		char md[200];

		gwd_mecdata_describe(&g->mecdata, md, sizeof(md));
		rt_info("%s", md);
	}
	if (g->gateway_on) {
		gwd_gateway_describe(&g->gateway, gw, sizeof(gw));
		rt_info("%s: devices on %s (UDP), metrics %s", gw,
			rt_endpoint_str(&g->engine.udp.bound, udp, sizeof(udp)),
			rt_endpoint_str(&g->engine.metrics_bound, met, sizeof(met)));
	}
	if (g->users_on) {
		char us[200];

		gwd_users_describe(&g->users, us, sizeof(us));
		rt_info("%s", us);
	}
	if (g->relay_on) {
		gwd_relay_describe(&g->relay, rl, sizeof(rl));
		rt_info("%s; devices on %s (UDP), metrics %s", rl,
			rt_endpoint_str(&g->engine.udp.bound, udp, sizeof(udp)),
			rt_endpoint_str(&g->engine.metrics_bound, met, sizeof(met)));
	}
}

static void teardown(struct gwd *g)
{
	if (g->users_on && g->mecdata_on)
		gwd_mecdata_on_emergency(&g->mecdata, NULL, NULL);
	if (g->users_on)
		gwd_users_close(&g->users);
	if (g->control_on)
		gwd_control_close(&g->control);
	if (g->mecdata_on)
		gwd_mecdata_fini(&g->mecdata);
	if (g->mec_on)
		gwd_mec_fini(&g->mec);
	if (g->gateway_on)
		gwd_gateway_fini(&g->gateway);
	if (g->relay_on)
		gwd_relay_fini(&g->relay);
	if (g->engine_open)
		gwd_engine_close(&g->engine);
	gwd_sessions_free(&g->sessions);
	gwd_pool_close(&g->pool);
	if (g->cfg.pidfile[0])
		rt_pidfile_remove();
	close(g->sigfd);
}

int gwd_daemon_main(int argc, char *const argv[])
{
	static struct gwd g;
	char err[512];
	int r;

	r = gwd_config_load(&g.cfg, argc, argv, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "iomt-gwd: %s\n", err);
	if (r)
		return r < 0 ? 2 : 0;
	if (rt_log_setup(g.cfg.log_level, g.cfg.log_json, g.cfg.log_file) || gwd_hook_init())
		return 1;
	g.sigfd = rt_daemon_signals();
	if (g.sigfd < 0)
		return 1;
	r = setup(&g);
	if (!r)
		r = drop_privileges(&g.cfg);
	if (!r && g.control_on)
		r = start_control(&g);
	if (!r && g.users_on && (r = gwd_users_start(&g.users)))
		rt_err("users: cannot start its thread: %s", strerror(-r));
	if (!r) {
		started(&g);
		r = gwd_engine_run(&g.engine);
	}
	teardown(&g);
	if (!r)
		rt_info("stopped");
	return r ? 1 : 0;
}
