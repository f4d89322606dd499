/* SPDX-License-Identifier: MIT */
/* BLE sensors' channels on the engine's loop (ble.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ble.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"

enum send_err { SE_CLOSED, SE_CREDITS, SE_OTHER, SE_N };

static struct rt_metric m_accepted = RT_COUNTER("iomt_gwd_ble_channels_total", NULL,
	"BLE L2CAP LE channels accepted");
static struct rt_metric m_open = RT_GAUGE("iomt_gwd_ble_channels_open", NULL,
	"BLE channels open now");
static struct rt_metric m_refused = RT_COUNTER("iomt_gwd_ble_channels_refused_total", NULL,
	"BLE channels closed at once: ble_channels were open, or the filter did not attach");
static struct rt_metric m_in = RT_COUNTER("iomt_gwd_ble_frames_in_total", NULL,
	"SDUs read from BLE channels (after the socket filter)");
static struct rt_metric m_out = RT_COUNTER("iomt_gwd_ble_frames_out_total", NULL,
	"frames sent to BLE sensors");
static struct rt_metric m_send_err[SE_N] = {
	RT_COUNTER("iomt_gwd_ble_send_errors_total", "reason=\"closed\"",
		   "answers not sent to a BLE sensor, by reason"),
	RT_COUNTER("iomt_gwd_ble_send_errors_total", "reason=\"credits\"",
		   "answers not sent to a BLE sensor, by reason"),
	RT_COUNTER("iomt_gwd_ble_send_errors_total", "reason=\"error\"",
		   "answers not sent to a BLE sensor, by reason"),
};
#define FILTER_HELP "SDUs judged by the BLE channels' filter, by verdict: where=\"kernel\" " \
	"the socket filter, where=\"daemon\" the same checks in iomt-gwd"
#define VERDICTS(w) {								\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"pass\",where=\"" w "\"",	\
		   FILTER_HELP),						\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"short\",where=\"" w "\"",	\
		   FILTER_HELP),						\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"version\",where=\"" w "\"", \
		   FILTER_HELP),						\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"length\",where=\"" w "\"",	\
		   FILTER_HELP),						\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"type\",where=\"" w "\"",	\
		   FILTER_HELP),						\
	RT_COUNTER("iomt_gwd_ble_filter_frames_total", "verdict=\"size\",where=\"" w "\"",	\
		   FILTER_HELP),						\
}
static struct rt_metric m_filter[RT_BLE_NVERDICTS] = VERDICTS("kernel");
static struct rt_metric m_judged[RT_BLE_NVERDICTS] = VERDICTS("daemon");
static struct rt_metric m_kernel = RT_GAUGE("iomt_gwd_ble_filter_in_kernel", NULL,
	"1 once the kernel's socket filter has judged an SDU: this kernel runs it on LE channels");

static int register_metrics(void)
{
	struct rt_metric *single[] = { &m_accepted, &m_open, &m_refused, &m_in, &m_out,
				       &m_kernel };
	int r = rt_metrics_register_list(single, RT_METRICS_LEN(single));

	if (!r)
		r = rt_metrics_register_array(m_send_err, SE_N);
	if (!r)
		r = rt_metrics_register_array(m_filter, RT_BLE_NVERDICTS);
	if (!r)
		r = rt_metrics_register_array(m_judged, RT_BLE_NVERDICTS);
	return r == -EALREADY ? 0 : r;
}

static int watch(struct gwd_ble *b, int fd, uint64_t id)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = GWD_BLE_TAG | id };

	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int gwd_ble_open(struct gwd_ble *b, const struct gwd_cfg *cfg, int epfd, size_t batch,
		 char *err, size_t errlen)
{
	unsigned cap = cfg->ble_channels > 0 ? (unsigned)cfg->ble_channels
					     : GWD_BLE_CHANNELS_DEFAULT;
	int r;

	memset(b, 0, sizeof(*b));
	b->srv.lfd = -1;
	b->epfd = epfd;
	if (!cfg->ble_psm)
		return 0;
	if ((r = register_metrics())) {
		snprintf(err, errlen, "BLE metrics: %s", strerror(-r));
		return r;
	}
	b->batch = batch;
	b->rx = malloc(batch * (RT_BLE_MTU + 1));
	b->rx_len = calloc(batch, sizeof(*b->rx_len));
	b->rx_cut = calloc(batch, 1);
	b->peer = calloc(cap, sizeof(*b->peer));
	if (!b->rx || !b->rx_len || !b->rx_cut || !b->peer) {
		snprintf(err, errlen, "BLE: %s", strerror(ENOMEM));
		gwd_ble_close(b);
		return -ENOMEM;
	}
	r = rt_ble_server_open(&b->srv, (unsigned)cfg->ble_psm, cap, err, errlen);
	if (!r && (r = watch(b, b->srv.lfd, GWD_BLE_LISTEN)))
		snprintf(err, errlen, "BLE: epoll: %s", strerror(-r));
	if (r) {
		gwd_ble_close(b);
		return r;
	}
	b->on = 1;
	rt_info("BLE: L2CAP LE CoC on PSM 0x%02x (%u channels, MTU %d), socket filter attached "
		"to each channel", cfg->ble_psm, cap, RT_BLE_MTU);
	return 0;
}

void gwd_ble_close(struct gwd_ble *b)
{
	if (b->on)
		gwd_ble_tick(b, 0, 1);
	if (b->srv.conn)	/* opened (a zeroed struct: never) */
		rt_ble_server_close(&b->srv);
	free(b->rx);
	free(b->rx_len);
	free(b->rx_cut);
	free(b->peer);
	b->rx = NULL;
	b->rx_len = NULL;
	b->rx_cut = NULL;
	b->peer = NULL;
	b->on = 0;
}

static void accept_all(struct gwd_ble *b)
{
	char a[40];

	for (;;) {
		int slot = rt_ble_server_accept(&b->srv), r;
		struct rt_ble_conn *c;
		struct gwd_ble_peer p;

		if (slot == -EAGAIN)
			return;
		if (slot < 0) {
			rt_metric_inc(&m_refused);
			rt_warn("BLE: a channel refused: %s", slot == -ENOSPC
				? "ble_channels are open" : strerror(-slot));
			if (slot != -ENOSPC && slot != -ECONNABORTED)
				return;
			continue;
		}
		c = &b->srv.conn[slot];
		r = watch(b, c->fd, (uint64_t)slot);
		if (r) {
			rt_warn("BLE: epoll: %s: channel closed", strerror(-r));
			rt_ble_server_drop(&b->srv, (unsigned)slot);
			rt_metric_inc(&m_refused);
			continue;
		}
		/* Zeroed whole (padding too): roles may compare addresses. */
		memset(&b->peer[slot], 0, sizeof(b->peer[slot]));
		memset(&p, 0, sizeof(p));
		p.family = AF_BLUETOOTH;
		p.slot = (uint16_t)slot;
		p.gen = c->gen;
		p.bdaddr = c->peer.l2_bdaddr;
		p.bdaddr_type = c->peer.l2_bdaddr_type;
		memcpy(&b->peer[slot].ss, &p, sizeof(p));
		b->peer[slot].len = sizeof(p);
		rt_metric_inc(&m_accepted);
		rt_metric_set(&m_open, b->srv.nopen);
		rt_dbg("BLE: channel from %s", gwd_ble_peer_str(&b->peer[slot], a, sizeof(a)));
	}
}

static void channel_gone(struct gwd_ble *b, unsigned slot, const char *why)
{
	char a[40];

	rt_dbg("BLE: channel %s closed (%s)", gwd_ble_peer_str(&b->peer[slot], a, sizeof(a)), why);
	rt_ble_server_drop(&b->srv, slot);	/* close() leaves the epoll set */
	rt_metric_set(&m_open, b->srv.nopen);
	gwd_ble_tick(b, 0, 1);
}

/* The filter's checks again, here: 1 to keep the SDU. What the kernel's
 * filter dropped never gets here; on a kernel that does not run it on LE
 * channels (rt_ble.h, rt_ble_judge) this is where malformed frames stop. */
static int judge(struct gwd_ble *b, const uint8_t *sdu, size_t len)
{
	enum rt_ble_verdict v = rt_ble_judge(sdu, len);
	char a[40];

	rt_metric_inc(&m_judged[v]);
	if (v == RT_BLE_PASS)
		return 1;
	if (rt_log_enabled(RT_LOG_DEBUG))
		rt_dbg("BLE: dropped %zu-byte SDU from %s: %s", len,
		       gwd_ble_peer_str(&b->peer[b->rx_slot], a, sizeof(a)),
		       rt_ble_verdict_name[v]);
	return 0;
}

unsigned gwd_ble_event(struct gwd_ble *b, uint64_t tag, uint32_t events)
{
	uint64_t id = tag & ~GWD_BLE_TAG;
	struct rt_ble_conn *c;
	unsigned n = 0;

	if (id == GWD_BLE_LISTEN) {
		accept_all(b);
		return 0;
	}
	if (id >= b->srv.cap || b->srv.conn[id].fd < 0)
		return 0;
	c = &b->srv.conn[id];
	b->rx_slot = (unsigned)id;
	while (n < b->batch) {
		uint8_t *buf = b->rx + n * (RT_BLE_MTU + 1);
		int r = rt_ble_recv(c->fd, buf, RT_BLE_MTU + 1);

		if (r == -EAGAIN)
			break;
		if (r == -EMSGSIZE) {
			b->rx_len[n] = RT_BLE_MTU + 1;
			b->rx_cut[n++] = 1;
			continue;
		}
		if (r < 0) {
			channel_gone(b, (unsigned)id, r == -ECONNRESET ? "by the sensor"
								   : strerror(-r));
			break;
		}
		c->frames_in++;
		rt_metric_inc(&m_in);
		if (!judge(b, buf, (size_t)r))
			continue;
		b->rx_len[n] = (size_t)r;
		b->rx_cut[n++] = 0;
	}
	if (!n && (events & (EPOLLHUP | EPOLLERR)) && b->srv.conn[id].fd >= 0)
		channel_gone(b, (unsigned)id, "hang-up");
	return n;
}

const uint8_t *gwd_ble_datagram(const struct gwd_ble *b, unsigned i, size_t *len, int *cut)
{
	*len = b->rx_len[i];
	*cut = b->rx_cut[i];
	return b->rx + i * (RT_BLE_MTU + 1);
}

const struct gwd_addr *gwd_ble_from(const struct gwd_ble *b, unsigned i)
{
	(void)i;
	return &b->peer[b->rx_slot];
}

int gwd_ble_is_peer(const struct gwd_addr *a)
{
	return a->ss.ss_family == AF_BLUETOOTH;
}

int gwd_ble_send(struct gwd_ble *b, const struct gwd_addr *to, uint8_t type, const void *payload,
		 size_t len)
{
	struct gwd_ble_peer p;
	struct rt_ble_conn *c;
	char a[40];
	int r;

	memcpy(&p, &to->ss, sizeof(p));
	c = b->on ? rt_ble_server_conn(&b->srv, p.slot, p.gen) : NULL;
	if (!c) {
		rt_metric_inc(&m_send_err[SE_CLOSED]);
		rt_dbg("BLE: answer of type 0x%02x for %s: the channel has closed", type,
		       gwd_ble_peer_str(to, a, sizeof(a)));
		return -ENOTCONN;
	}
	r = rt_ble_send_frame(c->fd, type, payload, len);
	if (r) {
		rt_metric_inc(&m_send_err[r == -EAGAIN ? SE_CREDITS : SE_OTHER]);
		rt_warn("BLE: answer of type 0x%02x for %s not sent: %s", type,
			gwd_ble_peer_str(to, a, sizeof(a)),
			r == -EAGAIN ? "no credits (the sensor is not reading)" : strerror(-r));
		return r;
	}
	c->frames_out++;
	rt_metric_inc(&m_out);
	return 0;
}

const char *gwd_ble_peer_str(const struct gwd_addr *a, char *buf, size_t len)
{
	struct gwd_ble_peer p;
	char s[18];

	memcpy(&p, &a->ss, sizeof(p));
	snprintf(buf, len, "ble:%s/%u", rt_ble_addr_str(&p.bdaddr, s), p.slot);
	return buf;
}

uint64_t gwd_ble_tick(struct gwd_ble *b, uint64_t now_ms, int force)
{
	uint64_t v[RT_BLE_NVERDICTS];
	int r;

	if (!b->on)
		return UINT64_MAX;
	if (!force && now_ms < b->next_sync)
		return b->next_sync;
	r = rt_ble_filter_counts(&b->srv.filter, v);
	if (r && !b->said_no_counts) {
		/* After dropping root where unprivileged bpf() is off. */
		b->said_no_counts = 1;
		rt_warn("BLE: the socket filter's counters cannot be read (%s): "
			"iomt_gwd_ble_filter_frames_total{where=\"kernel\"} stops here", strerror(-r));
	}
	if (!r) {
		uint64_t kernel = 0;

		for (int i = 0; i < RT_BLE_NVERDICTS; i++) {
			rt_metric_set(&m_filter[i], v[i]);
			kernel += v[i];
		}
		rt_metric_set(&m_kernel, kernel > 0);
		if (!kernel && rt_metric_get(&m_in) && !b->said_no_kernel) {
			b->said_no_kernel = 1;
			rt_info("BLE: this kernel does not run socket filters on LE credit-based "
				"channels (l2cap_sock_recv_cb skips sk_filter): iomt-gwd runs the "
				"same checks on every SDU (iomt_gwd_ble_filter_frames_total"
				"{where=\"daemon\"})");
		}
	}
	b->next_sync = now_ms + GWD_BLE_SYNC_MS;
	return b->next_sync;
}
