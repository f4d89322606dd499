/* SPDX-License-Identifier: MIT */
/* iomt-gwd's metrics: definitions, registration, the /metrics listener. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/rt_log.h"
#include "metrics.h"

#define C(n, l, h) RT_COUNTER("iomt_gwd_" n, l, h)
#define G(n, l, h) RT_GAUGE("iomt_gwd_" n, l, h)
#define DROP(r) C("dropped_total", "reason=\"" r "\"", "Frames dropped, by reason")
#define FAIL(r) C("agreements_failed_total", "reason=\"" r "\"", \
		  "Agreements ended without M4, by reason")
#define RACK(s) C("rec_acks_total", "status=\"" s "\"", \
		  "REC_ACK from the store relayed to sensors, by status")
#define RREF(r) C("rec_refused_total", "reason=\"" r "\"", \
		  "REC_PUT answered by the relay itself (UNREACHABLE or BUSY), by reason")
#define RDROP(r) C("rec_dropped_total", "reason=\"" r "\"", \
		   "Relay frames dropped without an answer, by reason")
/* A link's metrics (link.h): p names them; peer, Peer name its peer in the help. */
#define LINK(p, peer, Peer) {								\
	.up = G(p "_link_up", NULL, "1 while the TCP link to the " peer " is up"),	\
	.connects = C(p "_connects_total", NULL, "TCP connections made to the " peer),	\
	.stream_errors = C(p "_stream_errors_total", NULL,				\
			   Peer " links closed for a corrupt stream") }
#define TTPERR(c) C("ttp_errors_total", "code=\"" c "\"", "S2_LINK_ERR received, by code")

struct gwd_stats gwd_stats = {
	.m1_received = C("m1_received_total", NULL, "S2_M1 frames accepted from devices"),
	.m2_sent = C("m2_sent_total", NULL, "S2_M2 frames queued to the TTP"),
	.m3_ok = C("m3_ok_total", NULL, "S2_M3 frames that verified (d3 and ID_a box)"),
	.m4_sent = C("m4_sent_total", NULL, "S2_M4 frames sent to devices"),
	.busy = C("busy_total", NULL, "S2_DEV_ERR BUSY sent (no slot, TTP down, stopping)"),
	.drop = { DROP("size"), DROP("malformed"), DROP("oversized"), DROP("type"),
		  DROP("unknown_request"), DROP("duplicate") },
	.fail = { FAIL("timeout"), FAIL("link_down"), FAIL("d3"), FAIL("ida_box"),
		  FAIL("ttp_error"), FAIL("persist") },
	.ttp_error = { TTPERR("other"), TTPERR("unknown_device"), TTPERR("unknown_mec"),
		       TTPERR("bad_device"), TTPERR("bad_mec"), TTPERR("malformed"),
		       TTPERR("busy"), TTPERR("internal"), TTPERR("denied") },
	.slots_free = G("slots", "state=\"free\"", "Identity-pool slots, by state"),
	.slots_busy = G("slots", "state=\"await_m3\"", "Identity-pool slots, by state"),
	.ttp_link = LINK("ttp", "TTP", "TTP"),
	.sessions = G("sessions", NULL, "Established sessions held"),
	.sessions_expired = C("sessions_ended_total", "reason=\"expired\"",
			      "Sessions wiped, by reason"),
	.sessions_evicted = C("sessions_ended_total", "reason=\"evicted\"",
			      "Sessions wiped, by reason"),
	.udp_send_errors = C("udp_send_errors_total", NULL, "Datagrams the kernel refused"),
	.udp_kernel_drops = C("udp_kernel_drops_total", NULL,
			      "Datagrams the kernel dropped: the receive buffer was full"),
	.rec_forwarded = C("rec_batches_forwarded_total", NULL,
			   "REC_PUT batches forwarded to the store"),
	.rec_records_forwarded = C("rec_records_forwarded_total", NULL,
				   "Sealed records in the forwarded batches"),
	.rec_pending = G("rec_pending", NULL, "Batches forwarded and not yet acknowledged"),
	.rec_acked = { RACK("ok"), RACK("malformed"), RACK("busy"), RACK("internal"),
		       RACK("unreachable") },
	.rec_refused = { RREF("unreachable"), RREF("timeout"), RREF("busy"), RREF("stopping"),
			 RREF("spool_full") },
	.rec_dropped = { RDROP("malformed"), RDROP("unknown_ack"), RDROP("store_frame") },
	.store_link = LINK("store", "store", "Store"),
	.rec_spooled = C("rec_spooled_total", NULL,
			 "REC_PUT batches written to the spool (store link down or full)"),
	.rec_spool_forwarded = C("rec_spool_forwarded_total", NULL,
				 "Spooled batches the store acknowledged"),
	.rec_spool_resent = C("rec_spool_resent_total", NULL,
			      "Spooled batches sent again (link lost, store BUSY, timeout)"),
	.rec_spool_batches = G("rec_spool_batches", NULL, "Spooled batches not yet acknowledged"),
	.rec_spool_bytes = G("rec_spool_bytes", NULL, "Size of the spool file"),
};

const char *const gwd_drop_name[GWD_DROP_N] = {
	"size", "malformed", "oversized", "type", "unknown_request", "duplicate",
};

const char *const gwd_fail_name[GWD_FAIL_N] = {
	"timeout", "link_down", "d3", "ida_box", "ttp_error", "persist",
};

const char *const gwd_rec_refusal_name[GWD_REC_REFUSED_N] = {
	"unreachable", "timeout", "busy", "stopping", "spool_full",
};

const char *gwd_code_name(unsigned code)
{
	static const char *const names[] = {
		"other", "unknown_device", "unknown_mec", "bad_device", "bad_mec",
		"malformed", "busy", "internal", "denied",
	};

	return code < sizeof(names) / sizeof(names[0]) ? names[code] : names[0];
}

/* gwd_stats is a run of struct rt_metric and nothing else. */
_Static_assert(sizeof(struct gwd_stats) % sizeof(struct rt_metric) == 0, "gwd_stats layout");

int gwd_metrics_register(void)
{
	struct rt_metric *all = (struct rt_metric *)&gwd_stats;
	size_t n = sizeof(gwd_stats) / sizeof(struct rt_metric);
	int r;

	for (size_t i = 0; i < n; i++) {
		r = rt_metrics_register(&all[i]);
		if (r && r != -EALREADY)
			return r;
	}
	return 0;
}

int gwd_metrics_listen(const struct rt_endpoint *ep, struct rt_endpoint *bound)
{
	int one = 1, fd = socket(ep->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	*bound = *ep;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ep->addr, ep->len) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&bound->addr, &bound->len)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

void gwd_metrics_accept(int lfd)
{
	int fd;

	/* rt_metrics_serve() bounds each exchange to RT_METRICS_TIMEOUT_MS. */
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		int r = rt_metrics_serve(fd);

		if (r < 0)
			rt_dbg("metrics request: %s", strerror(-r));
		close(fd);
	}
}
