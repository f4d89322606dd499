/* SPDX-License-Identifier: MIT */
/* iomt-kclient serve: a UDP AP service (rt_kservice) until SIGTERM. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "kclient.h"
#include "lib/rt_conf.h"
#include "lib/rt_daemon.h"
#include "lib/rt_kservice.h"
#include "lib/rt_log.h"

static const char usage[] =
	"Usage: iomt-kclient serve --key FILE --listen HOST:PORT --replay-cache FILE [options]\n"
	"Runs an AP service for the principal of the key file (a PPD, the cloud store,\n"
	"a sensor as B, ...): it answers AP_REQ datagrams with AP_REP or KDC_ERR and\n"
	"logs each established peer (client, kind, patient, session fingerprint).\n"
	"Authenticators are remembered in the replay cache file, durably, before any\n"
	"answer leaves, so a replay is refused even after a restart.\n"
	"SIGTERM or SIGINT: stop gracefully (exit 0), after logging the counts.\n\n"
	"  --key FILE             the service's key file\n"
	"  --passcode-file FILE   its passcode, first line (passcode-wrapped key files)\n"
	"  --listen ADDR:PORT     numeric UDP address (port 0: any; see --port-file)\n"
	"  --replay-cache FILE    the replay cache (created if absent)\n"
	"  --replay-capacity N    live authenticators held (default 65536); when full,\n"
	"                         new clients get BUSY, never an unrecorded accept\n"
	"  --max-skew S           clock-skew window in seconds (default 120)\n"
	"  --batch N              requests verified together (default 64, at most 1024)\n"
	"  --port-file FILE       write 'listen ADDR' with the bound address here\n"
	"  --log-level LEVEL      error, warn, info (default) or debug\n"
	"  --clock-offset MS      add MS to our clock (testing expiry and skew only)\n\n"
	"Exit status: 0 after SIGTERM, 2 usage, 3 key file, 5 other failure (socket,\n"
	"replay cache).\n";

enum { RX_MAX = 256, BATCH_MAX = RT_KSERVICE_BATCH_MAX };

struct serve {
	int fd, sfd;
	size_t batch;
	struct rt_kservice *svc;
	uint64_t dropped;
	int64_t clock_offset_ms;
	/* One batch. */
	uint8_t (*rx)[RX_MAX];
	struct sockaddr_storage *from;
	socklen_t *fromlen;
	const uint8_t **req;
	size_t *len, *idx;
	struct rt_kservice_reply *rep;
	struct rt_kservice_peer *peer;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *addr_str(const struct sockaddr_storage *ss, socklen_t len, char *buf,
			    size_t cap)
{
	struct rt_endpoint ep = { .addr = *ss, .len = len };

	return rt_endpoint_str(&ep, buf, cap);
}

/* Datagram i as an AP_REQ payload, or dropped (counted, logged). */
static int take(struct serve *sv, size_t i, ssize_t n, size_t k)
{
	const uint8_t *p;
	uint8_t type;
	size_t plen;
	char a[80];
	int r = n > RX_MAX ? -1 : iomt_wire_parse(sv->rx[i], (size_t)n, &type, &p, &plen);

	if (r || type != IOMT_MSG_KDC_AP_REQ) {
		/* Truncated, padded, oversized or another type: no work, no answer. */
		sv->dropped++;
		rt_dbg("dropped a %zd-byte datagram from %s: %s", n,
		       addr_str(&sv->from[i], sv->fromlen[i], a, sizeof(a)),
		       n > RX_MAX ? "oversized" : r ? "not a valid frame" : "not an AP_REQ");
		return 0;
	}
	sv->req[k] = p;
	sv->len[k] = plen;
	sv->idx[k] = i;
	return 1;
}

static void report(struct serve *sv, size_t j)
{
	const struct rt_kservice_reply *rep = &sv->rep[j];
	struct rt_kservice_peer *p = &sv->peer[j];
	size_t i = sv->idx[j];
	char a[80], c[17], pt[17], fp[RT_KCLIENT_FP_HEX];

	addr_str(&sv->from[i], sv->fromlen[i], a, sizeof(a));
	if (rep->code) {
		rt_info("refused from=%s code=%d (%s)", a, rep->code, iomt_kdc_strcode(rep->code));
		return;
	}
	rt_kclient_fingerprint(p->session, fp);
	rt_info("established client=%s kind=%s patient=%s from=%s fp=%s ticket_end_ms=%llu",
		rt_kservice_name_str(p->cname, c, sizeof(c)), rt_kservice_kind_str(p->ckind),
		rt_kservice_name_str(p->patient, pt, sizeof(pt)), a, fp,
		(unsigned long long)p->ticket_end_ms);
	iomt_wipe(p->session, sizeof(p->session));
}

/* Everything waiting (up to a batch): 0, or -1 when the cache failed. */
static int serve_batch(struct serve *sv)
{
	size_t n = 0, k = 0;

	while (n < sv->batch) {
		ssize_t r;

		sv->fromlen[n] = sizeof(sv->from[n]);
		r = recvfrom(sv->fd, sv->rx[n], RX_MAX, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&sv->from[n], &sv->fromlen[n]);
		if (r < 0)
			break;
		k += (size_t)take(sv, n, r, k);
		n++;
	}
	rt_kservice_batch(sv->svc, sv->req, sv->len, k,
			  wall_ms() + (uint64_t)sv->clock_offset_ms, sv->rep, sv->peer);
	for (size_t j = 0; j < k; j++) {
		size_t i = sv->idx[j];

		if (sv->rep[j].len &&
		    sendto(sv->fd, sv->rep[j].frame, sv->rep[j].len, 0,
			   (struct sockaddr *)&sv->from[i], sv->fromlen[i]) < 0)
			rt_warn("reply not sent: %s", strerror(errno));
		report(sv, j);
	}
	if (rt_kservice_failed(sv->svc)) {
		rt_err("the replay cache cannot be written: stopping (a restart reopens it)");
		return -1;
	}
	return 0;
}

static int serve_alloc(struct serve *sv)
{
	size_t n = sv->batch;

	sv->rx = calloc(n, sizeof(*sv->rx));
	sv->from = calloc(n, sizeof(*sv->from));
	sv->fromlen = calloc(n, sizeof(*sv->fromlen));
	sv->req = calloc(n, sizeof(*sv->req));
	sv->len = calloc(n, sizeof(*sv->len));
	sv->idx = calloc(n, sizeof(*sv->idx));
	sv->rep = calloc(n, sizeof(*sv->rep));
	sv->peer = calloc(n, sizeof(*sv->peer));
	return sv->rx && sv->from && sv->fromlen && sv->req && sv->len && sv->idx && sv->rep &&
			       sv->peer ? 0 : -ENOMEM;
}

static void serve_free(struct serve *sv)
{
	rt_kservice_close(sv->svc);
	if (sv->fd >= 0)
		close(sv->fd);
	if (sv->sfd >= 0)
		close(sv->sfd);
	if (sv->peer)
		iomt_wipe(sv->peer, sv->batch * sizeof(*sv->peer));
	free(sv->rx);
	free(sv->from);
	free(sv->fromlen);
	free(sv->req);
	free(sv->len);
	free(sv->idx);
	free(sv->rep);
	free(sv->peer);
}

static int bind_udp(struct serve *sv, const char *listen_at, const char *port_file)
{
	struct rt_endpoint ep;
	char a[80];
	FILE *f;

	if (rt_endpoint_parse(listen_at, &ep))
		return kc_fail(KC_EXIT_USAGE, "--listen: '%s' is not a numeric ADDR:PORT",
			       listen_at);
	sv->fd = socket(ep.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sv->fd < 0 || bind(sv->fd, (struct sockaddr *)&ep.addr, ep.len) ||
	    getsockname(sv->fd, (struct sockaddr *)&ep.addr, &ep.len))
		return kc_fail(KC_EXIT_FAIL, "--listen %s: %s", listen_at, strerror(errno));
	rt_endpoint_str(&ep, a, sizeof(a));
	if (port_file) {
		f = fopen(port_file, "we");
		if (!f || fprintf(f, "listen %s\n", a) < 0 || fclose(f))
			return kc_fail(KC_EXIT_FAIL, "--port-file %s: %s", port_file,
				       strerror(errno));
	}
	return 0;
}

static int serve_loop(struct serve *sv)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = sv->sfd, .events = POLLIN },
				       { .fd = sv->fd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return kc_fail(KC_EXIT_FAIL, "poll: %s", strerror(errno));
		if ((p[0].revents & POLLIN) && (rt_daemon_signal_read(sv->sfd) & RT_SIG_STOP))
			return KC_EXIT_OK;
		if ((p[1].revents & POLLIN) && serve_batch(sv))
			return KC_EXIT_FAIL;
	}
}

static void summary(const struct serve *sv)
{
	char line[512];
	size_t off = 0;

	for (int c = 0; c < RT_KSERVICE_NCODES && off < sizeof(line); c++) {
		uint64_t n = rt_kservice_count(sv->svc, c);

		if (n)
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
						c ? iomt_kdc_strcode(c) : "established",
						(unsigned long long)n);
	}
	rt_info("stopping: dropped=%llu%s", (unsigned long long)sv->dropped, off ? line : "");
}

static int serve_open(struct serve *sv, const char *const *v)
{
	struct rt_kservice_opts o = { .key_path = v[0], .replay_path = v[3] };
	char pass[KC_PASSCODE_MAX], err[512], c[17];
	unsigned long skew, cap, batch;
	int r;

	if (kc_opt_uint("max-skew", v[4], RT_KSERVICE_SKEW_MS / 1000, 86400, &skew) ||
	    kc_opt_uint("replay-capacity", v[5], RT_KSERVICE_REPLAY_CAPACITY,
			RT_REPLAY_CAPACITY_MAX, &cap) ||
	    kc_opt_uint("batch", v[6], RT_KSERVICE_BATCH, BATCH_MAX, &batch))
		return KC_EXIT_USAGE;
	sv->batch = batch ? batch : 1;
	o.max_skew_ms = skew ? (uint32_t)skew * 1000 : 1;
	o.replay_capacity = cap ? cap : 1;
	o.batch_max = sv->batch;
	if (v[1] && (r = kc_passcode_read(v[1], pass, sizeof(pass))))
		return r;
	o.passcode = v[1] ? pass : NULL;
	r = rt_kservice_open(&o, wall_ms(), &sv->svc, err, sizeof(err));
	iomt_wipe(pass, sizeof(pass));
	if (r)
		return kc_fail(!strncmp(err, "key file", 8) ? KC_EXIT_KEYFILE : KC_EXIT_FAIL, "%s",
			       err);
	if (serve_alloc(sv))
		return kc_fail(KC_EXIT_FAIL, "out of memory");
	if ((r = bind_udp(sv, v[2], v[7])))
		return r;
	rt_info("serving %s on %s: replay cache %s, max skew %lu s, batch %zu",
		rt_kservice_name_str(rt_kservice_name(sv->svc), c, sizeof(c)), v[2], v[3], skew,
		sv->batch);
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	/* key, passcode-file, listen, replay-cache, max-skew, capacity, batch, port-file, log,
	 * clock-offset */
	const char *v[10] = { NULL };
	const struct kc_opt opts[] = {
		{ "key", &v[0], 1 }, { "passcode-file", &v[1], 0 }, { "listen", &v[2], 1 },
		{ "replay-cache", &v[3], 1 }, { "max-skew", &v[4], 0 },
		{ "replay-capacity", &v[5], 0 }, { "batch", &v[6], 0 }, { "port-file", &v[7], 0 },
		{ "log-level", &v[8], 0 }, { "clock-offset", &v[9], 0 }, { NULL },
	};
	struct serve sv = { .fd = -1, .sfd = -1 };
	enum rt_log_level lvl = RT_LOG_INFO;
	int rc = kc_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	if (v[8] && rt_log_level_parse(v[8], &lvl))
		return kc_fail(KC_EXIT_USAGE, "--log-level: '%s' is not error, warn, info or debug",
			       v[8]);
	rt_log_set_level(lvl);
	if (v[9] && kc_parse_offset(v[9], &sv.clock_offset_ms))
		return KC_EXIT_USAGE;
	sv.sfd = rt_daemon_signals();
	if (sv.sfd < 0)
		return kc_fail(KC_EXIT_FAIL, "signals: %s", strerror(-sv.sfd));
	rc = serve_open(&sv, v);
	if (!rc) {
		rc = serve_loop(&sv);
		summary(&sv);
	}
	serve_free(&sv);
	return rc;
}
