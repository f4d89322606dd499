/* SPDX-License-Identifier: MIT */
/* BLE sensors' channels on the engine's loop: its io_uring, or epoll (ble.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ble.h"
#include "hook.h"
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
static struct rt_metric m_uring = RT_GAUGE("iomt_gwd_ble_uring", NULL,
	"How BLE channels are read: 0 epoll and recv(2), 1 io_uring single-shot recv, "
	"2 io_uring multishot recv");
static struct rt_metric m_ring_sdus = RT_COUNTER("iomt_gwd_ble_uring_sdus_total", NULL,
	"SDUs taken from io_uring receive completions");
static struct rt_metric m_nobufs = RT_COUNTER("iomt_gwd_ble_uring_nobufs_total", NULL,
	"BLE receives ended by an empty buffer ring (the SDUs wait in the channel; re-armed)");
static struct rt_metric m_kernel = RT_GAUGE("iomt_gwd_ble_filter_in_kernel", NULL,
	"1 once the kernel's socket filter has judged an SDU: this kernel runs it on LE channels");

static int register_metrics(void)
{
	struct rt_metric *single[] = { &m_accepted, &m_open, &m_refused, &m_in, &m_out,
				       &m_uring, &m_ring_sdus, &m_nobufs, &m_kernel };
	int r = rt_metrics_register_list(single, RT_METRICS_LEN(single));

	if (!r)
		r = rt_metrics_register_array(m_send_err, SE_N);
	if (!r)
		r = rt_metrics_register_array(m_filter, RT_BLE_NVERDICTS);
	if (!r)
		r = rt_metrics_register_array(m_judged, RT_BLE_NVERDICTS);
	return r == -EALREADY ? 0 : r;
}

/* Ring tags (< GWD_URING_TAG_LIMIT): the op's kind, an answer's type, the
 * slot's generation and the slot (ble_channels <= 65535). */
enum kind { K_ACCEPT = 1, K_RECV, K_SEND };
enum arm { ARM_IDLE, ARM_ON, ARM_QUEUED };	/* a channel's receive */
#define KIND_SHIFT 56

static uint64_t ring_tag(enum kind k, uint8_t type, unsigned slot, uint32_t gen)
{
	return (uint64_t)k << KIND_SHIFT | (uint64_t)type << 48 | (uint64_t)gen << 16 | slot;
}

static unsigned tag_slot(uint64_t tag)
{
	return (unsigned)(tag & 0xffff);
}

static uint32_t tag_gen(uint64_t tag)
{
	return (uint32_t)(tag >> 16);
}

static int watch(struct gwd_ble *b, int fd, uint64_t id)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = GWD_BLE_TAG | id };

	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* ---- the io_uring path: arming ---- */

static void rearm_later(struct gwd_ble *b, unsigned slot)
{
	if (b->armed[slot] == ARM_QUEUED)
		return;
	/* A slot is listed once while queued; again only if its channel closed
	 * and a new one took it in the same batch: rearm holds cap + batch. */
	b->armed[slot] = ARM_QUEUED;
	b->rearm[b->nrearm++] = slot;
}

static void arm_recv(struct gwd_ble *b, unsigned slot)
{
	const struct rt_ble_conn *c = &b->srv.conn[slot];

	if (gwd_uring_fd_recv(b->ring, c->fd, ring_tag(K_RECV, 0, slot, c->gen), &b->bufs,
			      b->recv_multi))
		rearm_later(b, slot);	/* no SQE now: after the batch */
	else
		b->armed[slot] = ARM_ON;
}

static void arm_accept(struct gwd_ble *b)
{
	if (!b->accept_armed &&
	    !gwd_uring_fd_accept(b->ring, b->srv.lfd, ring_tag(K_ACCEPT, 0, 0, 0), b->accept_multi))
		b->accept_armed = 1;
}

static int ring_open(struct gwd_ble *b, struct gwd_uring *ring, unsigned cap, char *err,
		     size_t errlen)
{
	unsigned nb = GWD_BLE_BUFS_MIN;
	int r;

	while (nb < b->batch)
		nb <<= 1;
	r = gwd_uring_bufs_open(ring, &b->bufs, GWD_BLE_BGID, nb, RT_BLE_MTU + 1);
	if (r) {
		rt_warn("BLE: io_uring provided buffers: %s: channels served on epoll", strerror(-r));
		return 1;
	}
	b->armed = calloc(cap, sizeof(*b->armed));
	b->rearm = calloc(cap + b->batch, sizeof(*b->rearm));
	b->held = calloc(b->batch, sizeof(*b->held));
	if (!b->armed || !b->rearm || !b->held) {
		snprintf(err, errlen, "BLE: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	b->ring = ring;
	/* The test hook: what a kernel refusing multishot gets. */
	b->accept_multi = b->recv_multi = !gwd_hook_at(GWD_HOOK_BLE_SINGLE_SHOT);
	arm_accept(b);	/* submitted by the ring's next wait */
	rt_metric_set(&m_uring, b->recv_multi ? 2 : 1);
	rt_info("BLE: on io_uring (%s accept, %s recv into %u provided buffers of %d bytes, "
		"answers as SEND SQEs)", b->accept_multi ? "multishot" : "single-shot",
		b->recv_multi ? "multishot" : "single-shot", nb, RT_BLE_MTU + 1);
	return 0;
}

int gwd_ble_open(struct gwd_ble *b, const struct gwd_cfg *cfg, int epfd, struct gwd_uring *ring,
		 size_t batch, char *err, size_t errlen)
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
	b->rx_data = calloc(batch, sizeof(*b->rx_data));
	b->rx_len = calloc(batch, sizeof(*b->rx_len));
	b->rx_cut = calloc(batch, 1);
	b->rx_from = calloc(batch, sizeof(*b->rx_from));
	b->peer = calloc(cap, sizeof(*b->peer));
	if (!b->rx_data || !b->rx_len || !b->rx_cut || !b->rx_from || !b->peer) {
		snprintf(err, errlen, "BLE: %s", strerror(ENOMEM));
		gwd_ble_close(b);
		return -ENOMEM;
	}
	r = rt_ble_server_open(&b->srv, (unsigned)cfg->ble_psm, cap, err, errlen);
	if (!r && ring && (r = ring_open(b, ring, cap, err, errlen)) > 0)
		r = 0;	/* the ring would not take BLE: epoll below */
	if (!r && !b->ring) {
		b->rx = malloc(batch * (RT_BLE_MTU + 1));
		if (!b->rx)
			snprintf(err, errlen, "BLE: %s", strerror(ENOMEM)), r = -ENOMEM;
		else if ((r = watch(b, b->srv.lfd, GWD_BLE_LISTEN)))
			snprintf(err, errlen, "BLE: epoll: %s", strerror(-r));
		else
			rt_info("BLE: on epoll (recv(2) per SDU)");
	}
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
	gwd_uring_bufs_close(&b->bufs);
	free(b->rx);
	free(b->rx_data);
	free(b->rx_len);
	free(b->rx_cut);
	free(b->rx_from);
	free(b->peer);
	free(b->armed);
	free(b->rearm);
	free(b->held);
	memset(b, 0, sizeof(*b));
	b->srv.lfd = -1;
	rt_metric_set(&m_uring, 0);
}

/* ---- channels come and go (both paths) ---- */

/* A channel accepted into slot, or a refusal (-errno): 0 to go on
 * accepting, -1 to stop for this event. */
static int channel_new(struct gwd_ble *b, int slot)
{
	struct rt_ble_conn *c;
	struct gwd_ble_peer p;
	char a[40];
	int r;

	if (slot < 0) {
		rt_metric_inc(&m_refused);
		rt_warn("BLE: a channel refused: %s", slot == -ENOSPC
			? "ble_channels are open" : strerror(-slot));
		return slot == -ENOSPC || slot == -ECONNABORTED ? 0 : -1;
	}
	c = &b->srv.conn[slot];
	if (!b->ring && (r = watch(b, c->fd, (uint64_t)slot))) {
		rt_warn("BLE: epoll: %s: channel closed", strerror(-r));
		rt_ble_server_drop(&b->srv, (unsigned)slot);
		rt_metric_inc(&m_refused);
		return 0;
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
	if (b->ring) {
		b->armed[slot] = ARM_IDLE;
		arm_recv(b, (unsigned)slot);
	}
	rt_metric_inc(&m_accepted);
	rt_metric_set(&m_open, b->srv.nopen);
	rt_dbg("BLE: channel from %s", gwd_ble_peer_str(&b->peer[slot], a, sizeof(a)));
	return 0;
}

static void accept_all(struct gwd_ble *b)
{
	for (;;) {
		int slot = rt_ble_server_accept(&b->srv);

		if (slot == -EAGAIN || channel_new(b, slot))
			return;
	}
}

static void channel_gone(struct gwd_ble *b, unsigned slot, const char *why)
{
	const struct rt_ble_conn *c = &b->srv.conn[slot];
	char a[40];

	rt_dbg("BLE: channel %s closed (%s)", gwd_ble_peer_str(&b->peer[slot], a, sizeof(a)), why);
	if (b->ring) {
		/* Its ops end before the fd number can serve another channel:
		 * queued answers leave now, a pending receive is cancelled. */
		gwd_uring_flush(b->ring);
		if (b->armed[slot] == ARM_ON)
			gwd_uring_fd_cancel(b->ring, ring_tag(K_RECV, 0, slot, c->gen));
		b->armed[slot] = ARM_IDLE;
	}
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

/* One SDU of slot's channel (longer than RT_BLE_MTU: cut, refused by the
 * engine): kept in the batch, or dropped by judge (counted). */
static void sdu(struct gwd_ble *b, unsigned slot, const uint8_t *buf, size_t len)
{
	unsigned i = b->n;

	if (len > RT_BLE_MTU) {
		b->rx_len[i] = RT_BLE_MTU + 1;
		b->rx_cut[i] = 1;
	} else {
		b->srv.conn[slot].frames_in++;
		rt_metric_inc(&m_in);
		b->rx_slot = slot;
		if (!judge(b, buf, len))
			return;
		b->rx_len[i] = len;
		b->rx_cut[i] = 0;
	}
	b->rx_data[i] = buf;
	/* A copy: a channel closing later in the batch frees its slot for the
	 * next one, whose address must not become this SDU's sender. */
	b->rx_from[i] = b->peer[slot];
	b->n++;
}

/* ---- the epoll path ---- */

unsigned gwd_ble_event(struct gwd_ble *b, uint64_t tag, uint32_t events)
{
	uint64_t id = tag & ~GWD_BLE_TAG;
	struct rt_ble_conn *c;

	b->n = 0;
	if (id == GWD_BLE_LISTEN) {
		accept_all(b);
		return 0;
	}
	if (id >= b->srv.cap || b->srv.conn[id].fd < 0)
		return 0;
	c = &b->srv.conn[id];
	while (b->n < b->batch) {
		uint8_t *buf = b->rx + b->n * (RT_BLE_MTU + 1);
		int r = rt_ble_recv(c->fd, buf, RT_BLE_MTU + 1);

		if (r == -EAGAIN)
			break;
		if (r == -EMSGSIZE) {
			sdu(b, (unsigned)id, buf, RT_BLE_MTU + 1);
			continue;
		}
		if (r < 0) {
			channel_gone(b, (unsigned)id, r == -ECONNRESET ? "by the sensor"
								   : strerror(-r));
			break;
		}
		sdu(b, (unsigned)id, buf, (size_t)r);
	}
	if (!b->n && (events & (EPOLLHUP | EPOLLERR)) && b->srv.conn[id].fd >= 0)
		channel_gone(b, (unsigned)id, "hang-up");
	return b->n;
}

/* ---- the io_uring path: completions ---- */

static void ring_accepted(struct gwd_ble *b, const struct gwd_uring_ev *ev)
{
	struct sockaddr_l2 peer;
	socklen_t plen = sizeof(peer);
	int slot;

	if (!(ev->flags & IORING_CQE_F_MORE))
		b->accept_armed = 0;	/* re-armed by gwd_ble_recycle */
	if (ev->res == -EINVAL && b->accept_multi && !b->accept_seen) {
		b->accept_multi = 0;
		rt_warn("BLE: io_uring refused a multishot accept on the L2CAP listener: "
			"single-shot accepts, re-armed after each");
		return;
	}
	b->accept_seen = 1;
	if (ev->res == -ECANCELED || ev->res == -EAGAIN)
		return;
	if (ev->res < 0) {
		channel_new(b, ev->res);
		return;
	}
	memset(&peer, 0, sizeof(peer));
	if (getpeername(ev->res, (struct sockaddr *)&peer, &plen)) {
		slot = -errno;
		close(ev->res);
	} else {
		slot = rt_ble_server_adopt(&b->srv, ev->res, &peer);
	}
	channel_new(b, slot);
}

static void ring_received(struct gwd_ble *b, const struct gwd_uring_ev *ev)
{
	unsigned slot = tag_slot(ev->tag);
	struct rt_ble_conn *c = rt_ble_server_conn(&b->srv, slot, tag_gen(ev->tag));
	const uint8_t *buf = NULL;
	int r = ev->res;

	if (ev->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = gwd_uring_ev_bid(ev);

		b->held[b->nheld++] = bid;	/* back to the kernel after the batch */
		buf = gwd_uring_bufs_at(&b->bufs, bid);
	}
	if (!c)
		return;	/* a channel closed since: its SDU goes with it */
	if (!(ev->flags & IORING_CQE_F_MORE) && b->armed[slot] == ARM_ON)
		b->armed[slot] = ARM_IDLE;
	if (r > 0) {
		b->recv_seen = 1;
		if (buf) {	/* always, with IOSQE_BUFFER_SELECT */
			rt_metric_inc(&m_ring_sdus);
			sdu(b, slot, buf, (size_t)r);
		}
	} else if (r == -ENOBUFS) {
		rt_metric_inc(&m_nobufs);
		rt_dbg("BLE: buffer ring empty: receive re-armed after this batch");
	} else if (r == -EINVAL && b->recv_multi && !b->recv_seen) {
		b->recv_multi = 0;
		rt_metric_set(&m_uring, 1);
		rt_warn("BLE: io_uring refused a multishot recv on an L2CAP channel: single-shot "
			"recv, re-armed after each SDU");
	} else if (r != -ECANCELED) {
		/* SEQPACKET: 0 is the sensor's close (rt_ble_recv). */
		channel_gone(b, slot, !r || r == -ECONNRESET || r == -ENOTCONN ? "by the sensor"
									: strerror(-r));
		return;
	}
	if (b->armed[slot] == ARM_IDLE)
		rearm_later(b, slot);
}

static void send_failed(const struct gwd_addr *to, uint8_t type, int r)
{
	char a[40];

	rt_metric_inc(&m_send_err[r == -EAGAIN ? SE_CREDITS : SE_OTHER]);
	rt_warn("BLE: answer of type 0x%02x for %s not sent: %s", type,
		to ? gwd_ble_peer_str(to, a, sizeof(a)) : "a channel closed since",
		r == -EAGAIN ? "no credits (the sensor is not reading)" : strerror(-r));
}

static void ring_sent(struct gwd_ble *b, const struct gwd_uring_ev *ev)
{
	unsigned slot = tag_slot(ev->tag);
	struct rt_ble_conn *c = rt_ble_server_conn(&b->srv, slot, tag_gen(ev->tag));

	if (ev->res < 0) {
		send_failed(c ? &b->peer[slot] : NULL, (uint8_t)(ev->tag >> 48), ev->res);
		return;
	}
	if (c)
		c->frames_out++;
	rt_metric_inc(&m_out);
}

unsigned gwd_ble_ring(struct gwd_ble *b, const struct gwd_uring_ev *ev, unsigned nev)
{
	b->n = 0;
	for (unsigned i = 0; b->ring && i < nev; i++)
		switch ((enum kind)(ev[i].tag >> KIND_SHIFT)) {
		case K_ACCEPT:
			ring_accepted(b, &ev[i]);
			break;
		case K_RECV:
			ring_received(b, &ev[i]);
			break;
		case K_SEND:
			ring_sent(b, &ev[i]);
			break;
		}
	return b->n;
}

void gwd_ble_recycle(struct gwd_ble *b)
{
	unsigned n = b->nrearm;

	if (!b->ring)
		return;
	gwd_uring_bufs_put(&b->bufs, b->held, b->nheld);
	b->nheld = 0;
	b->n = 0;
	/* In place: a re-arm that fails again is written at or before i. */
	b->nrearm = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned slot = b->rearm[i];

		if (b->armed[slot] != ARM_QUEUED)
			continue;	/* closed, or a new channel armed already */
		b->armed[slot] = ARM_IDLE;
		if (b->srv.conn[slot].fd >= 0)
			arm_recv(b, slot);
	}
	arm_accept(b);
}

const uint8_t *gwd_ble_datagram(const struct gwd_ble *b, unsigned i, size_t *len, int *cut)
{
	*len = b->rx_len[i];
	*cut = b->rx_cut[i];
	return b->rx_data[i];
}

const struct gwd_addr *gwd_ble_from(const struct gwd_ble *b, unsigned i)
{
	return &b->rx_from[i];
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
	if (b->ring) {
		/* A SEND SQE, submitted with the batch's other answers;
		 * counted when it completes (ring_sent). */
		if (!gwd_uring_fd_send(b->ring, c->fd, ring_tag(K_SEND, type, p.slot, p.gen), type,
				       payload, len))
			return 0;
		gwd_uring_flush(b->ring);	/* no slot: the queued ones first */
	}
	r = rt_ble_send_frame(c->fd, type, payload, len);
	if (r) {
		send_failed(to, type, r);
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
