/* SPDX-License-Identifier: MIT */
/* The gateway role: AP_REQ batches -> rt_kservice -> AP_REP / KDC_ERR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct.h"
#include "gateway.h"
#include "lib/rt_kclient.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "secmem.h"
#include "udp.h"

enum {
	/* The authenticator box's nonce follows the ticket: its first 8 bytes
	 * name the request in a KDC_ERR. */
	AP_REF_OFF = IOMT_KDC_TICKET_LEN,
	PASS_MAX = 1024,
};

#define AP(r) RT_COUNTER("iomt_gwd_ap_requests_total", "result=\"" r "\"", \
			 "KDC AP_REQ handled by the gateway role, by result")

/* Index = enum iomt_kdc_code. */
static struct rt_metric ap_result[RT_KSERVICE_NCODES] = {
	AP("established"), AP("unknown_principal"), AP("revoked"), AP("policy"),
	AP("expired"), AP("skew"), AP("replay"), AP("bad_mac"), AP("malformed"),
	AP("wrong_principal"), AP("stale_key"), AP("busy"), AP("internal"), AP("state"),
};
static struct rt_metric replay_keys = RT_GAUGE("iomt_gwd_replay_keys", NULL,
					       "Authenticators held by the replay cache");
static struct rt_metric replay_compactions = RT_COUNTER(
	"iomt_gwd_replay_compactions_total", NULL, "Replay cache files compacted");

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_reply(struct gwd_gateway *g, const struct gwd_addr *to,
		       const struct rt_kservice_reply *rep)
{
	if (rep->len)
		g->tx->to_device(g->tx->ctx, to, rep->frame[1], rep->frame + IOMT_WIRE_HDR_LEN,
				 rep->len - IOMT_WIRE_HDR_LEN);
	rt_metric_inc(&ap_result[rep->code < RT_KSERVICE_NCODES ? rep->code
								 : IOMT_KDC_ERR_INTERNAL]);
}

static void log_peer(const struct gwd_frame *f, struct rt_kservice_peer *p)
{
	char a[80], c[17], pt[17], fp[RT_KCLIENT_FP_HEX];

	if (rt_log_enabled(RT_LOG_DEBUG)) {
		rt_kclient_fingerprint(p->session, fp);
		rt_dbg("ap client=%s kind=%s patient=%s from=%s fp=%s",
		       rt_kservice_name_str(p->cname, c, sizeof(c)), rt_kservice_kind_str(p->ckind),
		       rt_kservice_name_str(p->patient, pt, sizeof(pt)),
		       gwd_addr_str(f->from, a, sizeof(a)), fp);
	}
	iomt_wipe(p->session, sizeof(p->session));
}

/* Stopping: BUSY, naming each request. The engine checked the exact size. */
static void refuse_busy(struct gwd_gateway *g, const struct gwd_frame *f, size_t n,
			uint64_t now)
{
	struct rt_kservice_reply rep = { .code = IOMT_KDC_ERR_BUSY };

	for (size_t i = 0; i < n; i++) {
		iomt_wire_put_hdr(rep.frame, IOMT_MSG_KDC_ERR, IOMT_KDC_ERR_LEN);
		iomt_kdc_err_build(IOMT_KDC_ERR_BUSY, f[i].payload + AP_REF_OFF, now,
				   rep.frame + IOMT_WIRE_HDR_LEN);
		rep.len = IOMT_WIRE_HDR_LEN + IOMT_KDC_ERR_LEN;
		send_reply(g, f[i].from, &rep);
	}
}

static void one_batch(struct gwd_gateway *g, const struct gwd_frame *f, size_t n)
{
	uint64_t now = wall_ms();

	if (g->draining) {
		refuse_busy(g, f, n, now);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		g->req[i] = f[i].payload;
		g->len[i] = f[i].len;
	}
	rt_kservice_batch(g->svc, g->req, g->len, n, now, g->rep, g->peer);
	for (size_t i = 0; i < n; i++) {
		send_reply(g, f[i].from, &g->rep[i]);
		if (g->rep[i].code == IOMT_KDC_OK)
			log_peer(&f[i], &g->peer[i]);
	}
	if (rt_kservice_failed(g->svc))
		g->tx->fatal(g->tx->ctx, "the gateway's replay cache cannot be written");
}

/* ---- role operations ---- */

static int gw_claims(enum gwd_src src, uint8_t type)
{
	return src == GWD_SRC_DEVICE && type == IOMT_MSG_KDC_AP_REQ;
}

static void gw_handle(void *role, enum gwd_src src, const struct gwd_frame *f, size_t n,
		      uint64_t now_ms)
{
	struct gwd_gateway *g = role;
	struct rt_replay_stats st;

	(void)src;
	(void)now_ms;	/* monotonic: tickets need the wall clock */
	for (size_t i = 0; i < n; i += g->batch_max)
		one_batch(g, f + i, n - i < g->batch_max ? n - i : g->batch_max);
	rt_kservice_replay_stats(g->svc, &st);
	rt_metric_set(&replay_keys, st.live);
	rt_metric_set(&replay_compactions, st.compactions);
}

static void gw_link(void *role, int up, uint64_t now_ms)
{
	(void)role;
	(void)up;
	(void)now_ms;
}

static uint64_t gw_tick(void *role, uint64_t now_ms)
{
	(void)role;
	(void)now_ms;
	return UINT64_MAX;
}

static void gw_drain(void *role)
{
	struct gwd_gateway *g = role;

	g->draining = 1;
}

static size_t gw_outstanding(void *role)
{
	(void)role;
	return 0;	/* every request is answered in the batch that brought it */
}

const struct gwd_role_ops gwd_gateway_ops = {
	.name = "gateway",
	.claims = gw_claims,
	.handle = gw_handle,
	.link = gw_link,
	.tick = gw_tick,
	.drain = gw_drain,
	.outstanding = gw_outstanding,
};

/* ---- set-up ---- */

static int read_passcode(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f) {
		snprintf(err, errlen, "gateway_passcode_file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0])
		return 0;
	snprintf(err, errlen, "gateway_passcode_file %s: the first line is empty", path);
	return -EINVAL;
}

static int register_metrics(void)
{
	int r = 0;

	for (size_t i = 0; !r && i < RT_KSERVICE_NCODES; i++)
		r = rt_metrics_register(&ap_result[i]);
	if (!r || r == -EALREADY)
		r = rt_metrics_register(&replay_keys);
	if (!r || r == -EALREADY)
		r = rt_metrics_register(&replay_compactions);
	return r == -EALREADY ? 0 : r;
}

static int alloc_batch(struct gwd_gateway *g)
{
	g->req = calloc(g->batch_max, sizeof(*g->req));
	g->len = calloc(g->batch_max, sizeof(*g->len));
	g->rep = calloc(g->batch_max, sizeof(*g->rep));
	g->peer = gwd_secmem_alloc(g->batch_max * sizeof(*g->peer));
	return g->req && g->len && g->rep && g->peer ? 0 : -ENOMEM;
}

int gwd_gateway_init(struct gwd_gateway *g, const struct gwd_cfg *cfg, const struct gwd_tx *tx,
		     char *err, size_t errlen)
{
	struct rt_kservice_opts o = {
		.key_path = cfg->gateway_key, .replay_path = cfg->replay_cache,
		.replay_capacity = (size_t)cfg->replay_capacity,
		.max_skew_ms = (uint32_t)cfg->max_skew_ms, .batch_max = (size_t)cfg->batch_max,
	};
	char pass[PASS_MAX];
	int r = 0;

	memset(g, 0, sizeof(*g));
	g->tx = tx;
	g->batch_max = (size_t)cfg->batch_max;
	if (cfg->gateway_passcode_file[0]) {
		r = read_passcode(cfg->gateway_passcode_file, pass, sizeof(pass), err, errlen);
		o.passcode = pass;
	}
	if (!r)
		r = rt_kservice_open(&o, wall_ms(), &g->svc, err, errlen);
	iomt_wipe(pass, sizeof(pass));
	if (!r && (r = alloc_batch(g)))
		snprintf(err, errlen, "out of memory for the gateway role");
	if (!r && (r = register_metrics()))
		snprintf(err, errlen, "gateway metrics registration failed (internal error)");
	if (r)
		gwd_gateway_fini(g);
	return r;
}

void gwd_gateway_fini(struct gwd_gateway *g)
{
	rt_kservice_close(g->svc);
	free(g->req);
	free(g->len);
	free(g->rep);
	gwd_secmem_free(g->peer, g->batch_max * sizeof(*g->peer));
	memset(g, 0, sizeof(*g));
}

void gwd_gateway_describe(const struct gwd_gateway *g, char *buf, size_t len)
{
	struct rt_replay_stats st;
	char name[17];

	rt_kservice_replay_stats(g->svc, &st);
	snprintf(buf, len, "gateway role up as %s (replay cache: %zu live keys, capacity %zu)",
		 rt_kservice_name_str(rt_kservice_name(g->svc), name, sizeof(name)), st.live,
		 st.capacity);
}
