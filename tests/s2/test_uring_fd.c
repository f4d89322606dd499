/* SPDX-License-Identifier: MIT */
/*
 * The ring's ops on other descriptors (userspace/gwd/uring.h,
 * gwd_uring_fd_*: what serves the BLE listener and channels), on AF_UNIX
 * SOCK_SEQPACKET sockets, which behave like L2CAP LE channels (one message
 * per recv, 0 at the peer's close): multishot accept, multishot and
 * single-shot recv into a provided buffer group, each completion carrying
 * its tag out of gwd_uring_reap; the peer closing (res 0, the op ended);
 * an empty buffer group (-ENOBUFS, nothing lost after re-arming); SEND SQEs
 * and their results as events; cancel; a full event table ending a reap
 * (ev_full) with the rest taken by the next. The L2CAP side runs in the
 * qemu guest (tests/qemu/test_ble.sh).
 */
#include <sys/epoll.h>
#include <sys/un.h>

#include "harness.h"
#include "../../userspace/gwd/metrics.c"
#include "../../userspace/gwd/udp.c"
#include "../../userspace/gwd/uring.c"

/* udp.c names BLE peers through ble.c; none here. */
int gwd_ble_is_peer(const struct gwd_addr *a)
{
	(void)a;
	return 0;
}

const char *gwd_ble_peer_str(const struct gwd_addr *a, char *buf, size_t len)
{
	(void)a;
	snprintf(buf, len, "ble:?");
	return buf;
}

enum { BATCH = 8, MAXEV = 64 };

struct rig {
	struct gwd_uring r;
	struct gwd_udp u;
	struct gwd_uring_bufs b;
	int epfd, lfd;
	struct sockaddr_un addr;
	socklen_t alen;
	struct gwd_uring_ev ev[MAXEV];
	unsigned nev;
};

/* A ring on a bound UDP socket (unused here) and a SEQPACKET listener;
 * nbufs buffers of 64 bytes as group 8. 0, or -errno (no io_uring). */
static int rig_open(struct rig *g, unsigned batch, unsigned nbufs)
{
	char err[200];
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int r;

	memset(g, 0, sizeof(*g));
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	g->u.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (g->epfd < 0 || g->u.fd < 0 || bind(g->u.fd, (struct sockaddr *)&in, sizeof(in)))
		return -errno;
	r = gwd_uring_open(&g->r, &g->u, g->epfd, 16, batch, err, sizeof(err));
	if (r)
		return r;
	r = gwd_uring_bufs_open(&g->r, &g->b, 8, nbufs, 64);
	if (r)
		return r;
	g->addr.sun_family = AF_UNIX;
	snprintf(g->addr.sun_path + 1, sizeof(g->addr.sun_path) - 1, "iomt-uring-fd-%d", getpid());
	g->alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			      strlen(g->addr.sun_path + 1));
	g->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->lfd < 0 || bind(g->lfd, (struct sockaddr *)&g->addr, g->alen) || listen(g->lfd, 8))
		return -errno;
	return 0;
}

static void rig_close(struct rig *g)
{
	gwd_uring_close(&g->r);
	gwd_uring_bufs_close(&g->b);
	close(g->lfd);
	close(g->u.fd);
	close(g->epfd);
}

static int rig_connect(struct rig *g)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&g->addr, g->alen)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits (at most ~2 s) until want events have come out of the reaps, all
 * appended to g->ev: their number. */
static unsigned rig_events(struct rig *g, unsigned want)
{
	for (int i = 0; i < 200 && g->nev < want; i++) {
		gwd_uring_wait(&g->r, 10);
		do {
			gwd_uring_reap(&g->r);
			for (unsigned k = 0; k < g->r.nev && g->nev < MAXEV; k++)
				g->ev[g->nev++] = g->r.ev[k];
			gwd_uring_recycle(&g->r);
		} while (g->r.ev_full);
	}
	return g->nev;
}

#define SKIP_NO_URING(g, r)                                                      \
	do {                                                                     \
		if ((r) == -ENOSYS || (r) == -EPERM)                             \
			SKIP(return, "io_uring refused here: %s", strerror(-(r))); \
		ASSERT_EQ((r), 0);                                               \
	} while (0)

TEST(multishot_accept_and_recv_tag_every_completion)
{
	struct rig g;
	int r = rig_open(&g, BATCH, 16), cli[3], fd[3];
	char seen[3] = { 0 };

	SKIP_NO_URING(&g, r);
	ASSERT_EQ(gwd_uring_fd_accept(&g.r, g.lfd, 77, 1), 0);
	for (int i = 0; i < 3; i++)
		ASSERT_GE(cli[i] = rig_connect(&g), 0);
	ASSERT_EQ(rig_events(&g, 3), 3);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(g.ev[i].tag, 77);
		ASSERT_GE(g.ev[i].res, 0);
		EXPECT_TRUE(g.ev[i].flags & IORING_CQE_F_MORE);	/* still armed */
		fd[i] = g.ev[i].res;
		ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd[i], 100 + (uint64_t)i, &g.b, 1), 0);
	}
	/* Accepted in order: client i is fd[i]'s peer. Two SDUs each. */
	g.nev = 0;
	for (unsigned i = 0; i < 3; i++) {
		char m[16];

		snprintf(m, sizeof(m), "c%u-a", i);
		ASSERT_EQ(send(cli[i], m, 4, 0), 4);
		snprintf(m, sizeof(m), "c%u-bb", i);
		ASSERT_EQ(send(cli[i], m, 5, 0), 5);
	}
	ASSERT_EQ(rig_events(&g, 6), 6);
	for (unsigned k = 0; k < 6; k++) {
		const struct gwd_uring_ev *e = &g.ev[k];
		unsigned i = (unsigned)(e->tag - 100);
		char want[16];

		ASSERT_LT(i, 3);
		ASSERT_TRUE(e->flags & IORING_CQE_F_BUFFER);
		EXPECT_TRUE(e->flags & IORING_CQE_F_MORE);
		snprintf(want, sizeof(want), seen[i]++ ? "c%u-bb" : "c%u-a", i);
		ASSERT_EQ(e->res, (int)strlen(want));	/* one SDU per completion */
		EXPECT_MEMEQ(gwd_uring_bufs_at(&g.b, gwd_uring_ev_bid(e)), want, strlen(want));
	}
	/* The peer closing: res 0, the op has ended (F_MORE clear). */
	g.nev = 0;
	close(cli[1]);
	ASSERT_EQ(rig_events(&g, 1), 1);
	EXPECT_EQ(g.ev[0].tag, 101);
	EXPECT_EQ(g.ev[0].res, 0);
	EXPECT_FALSE(g.ev[0].flags & IORING_CQE_F_MORE);
	for (int i = 0; i < 3; i++) {
		if (i != 1)
			close(cli[i]);
		close(fd[i]);
	}
	rig_close(&g);
}

TEST(an_empty_buffer_group_ends_the_recv_and_loses_nothing)
{
	struct rig g;
	int r = rig_open(&g, BATCH, 2), cli, fd;
	uint16_t bid[2];
	unsigned nb = 0;

	SKIP_NO_URING(&g, r);
	ASSERT_GE(cli = rig_connect(&g), 0);
	ASSERT_GE(fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(send(cli, "xyz", 3, 0), 3);
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 5, &g.b, 1), 0);
	ASSERT_EQ(rig_events(&g, 3), 3);
	for (unsigned k = 0; k < 2; k++) {
		ASSERT_EQ(g.ev[k].res, 3);
		bid[nb++] = gwd_uring_ev_bid(&g.ev[k]);
	}
	EXPECT_EQ(g.ev[2].res, -ENOBUFS);
	EXPECT_FALSE(g.ev[2].flags & IORING_CQE_F_MORE);
	/* Buffers back, re-armed: the third SDU waited in the socket. */
	gwd_uring_bufs_put(&g.b, bid, nb);
	g.nev = 0;
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 5, &g.b, 1), 0);
	ASSERT_EQ(rig_events(&g, 1), 1);
	EXPECT_EQ(g.ev[0].res, 3);
	EXPECT_TRUE(g.ev[0].flags & IORING_CQE_F_BUFFER);
	close(cli);
	close(fd);
	rig_close(&g);
}

TEST(single_shot_ops_end_after_one_completion)
{
	struct rig g;
	int r = rig_open(&g, BATCH, 4), cli, fd;

	SKIP_NO_URING(&g, r);
	ASSERT_EQ(gwd_uring_fd_accept(&g.r, g.lfd, 9, 0), 0);
	ASSERT_GE(cli = rig_connect(&g), 0);
	ASSERT_EQ(rig_events(&g, 1), 1);
	ASSERT_GE(fd = g.ev[0].res, 0);
	EXPECT_FALSE(g.ev[0].flags & IORING_CQE_F_MORE);
	ASSERT_EQ(send(cli, "one", 3, 0), 3);
	ASSERT_EQ(send(cli, "two!", 4, 0), 4);
	g.nev = 0;
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 10, &g.b, 0), 0);
	ASSERT_EQ(rig_events(&g, 1), 1);
	EXPECT_EQ(g.ev[0].res, 3);
	EXPECT_FALSE(g.ev[0].flags & IORING_CQE_F_MORE);
	EXPECT_EQ(rig_events(&g, 2), 1);	/* nothing more until re-armed */
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 10, &g.b, 0), 0);
	ASSERT_EQ(rig_events(&g, 2), 2);
	EXPECT_EQ(g.ev[1].res, 4);
	close(cli);
	close(fd);
	rig_close(&g);
}

TEST(send_sqes_report_their_results_as_events)
{
	struct rig g;
	int r = rig_open(&g, BATCH, 4), cli, fd;
	uint8_t got[64], payload[5] = { 1, 2, 3, 4, 5 };

	SKIP_NO_URING(&g, r);
	ASSERT_GE(cli = rig_connect(&g), 0);
	ASSERT_GE(fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 0);
	ASSERT_EQ(gwd_uring_fd_send(&g.r, fd, 33, IOMT_MSG_REC_ACK, payload, sizeof(payload)), 0);
	ASSERT_EQ(gwd_uring_fd_send(&g.r, fd, 34, IOMT_MSG_REC_ACK, payload, 2), 0);
	EXPECT_EQ(gwd_uring_fd_send(&g.r, fd, 35, IOMT_MSG_REC_ACK, payload, GWD_UDP_TX_MAX),
		  -EMSGSIZE);
	ASSERT_EQ(gwd_uring_flush(&g.r), 0);
	ASSERT_EQ(rig_events(&g, 2), 2);
	EXPECT_EQ(g.ev[0].tag, 33);
	EXPECT_EQ(g.ev[0].res, IOMT_WIRE_HDR_LEN + 5);
	EXPECT_EQ(g.ev[1].tag, 34);
	EXPECT_EQ(g.ev[1].res, IOMT_WIRE_HDR_LEN + 2);
	EXPECT_EQ(g.r.tx_inflight, 0);
	/* In order, each one message: header then payload. */
	ASSERT_EQ(recv(cli, got, sizeof(got), 0), IOMT_WIRE_HDR_LEN + 5);
	EXPECT_EQ(got[1], IOMT_MSG_REC_ACK);
	EXPECT_MEMEQ(got + IOMT_WIRE_HDR_LEN, payload, 5);
	ASSERT_EQ(recv(cli, got, sizeof(got), 0), IOMT_WIRE_HDR_LEN + 2);
	/* The peer gone: the failure comes back as the event's res. */
	close(cli);
	g.nev = 0;
	ASSERT_EQ(gwd_uring_fd_send(&g.r, fd, 36, IOMT_MSG_REC_ACK, payload, 2), 0);
	ASSERT_EQ(gwd_uring_flush(&g.r), 0);
	ASSERT_EQ(rig_events(&g, 1), 1);
	EXPECT_EQ(g.ev[0].tag, 36);
	EXPECT_LT(g.ev[0].res, 0);
	close(fd);
	rig_close(&g);
}

TEST(cancel_ends_a_pending_multishot_recv)
{
	struct rig g;
	int r = rig_open(&g, BATCH, 4), cli, fd;

	SKIP_NO_URING(&g, r);
	ASSERT_GE(cli = rig_connect(&g), 0);
	ASSERT_GE(fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 0);
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 44, &g.b, 1), 0);
	EXPECT_EQ(rig_events(&g, 1), 0);	/* armed, idle */
	gwd_uring_fd_cancel(&g.r, 44);
	ASSERT_EQ(rig_events(&g, 1), 1);
	EXPECT_EQ(g.ev[0].tag, 44);
	EXPECT_EQ(g.ev[0].res, -ECANCELED);
	EXPECT_FALSE(g.ev[0].flags & IORING_CQE_F_MORE);
	/* Nothing reads the socket any more. */
	ASSERT_EQ(send(cli, "late", 4, 0), 4);
	EXPECT_EQ(rig_events(&g, 2), 1);
	close(cli);
	close(fd);
	rig_close(&g);
}

TEST(a_full_event_table_ends_the_reap_and_the_next_takes_the_rest)
{
	struct rig g;
	int r = rig_open(&g, 2, 16), cli, fd;
	unsigned first;

	SKIP_NO_URING(&g, r);
	ASSERT_EQ(g.r.ev_cap, 2);
	ASSERT_GE(cli = rig_connect(&g), 0);
	ASSERT_GE(fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 0);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(send(cli, "m", 1, 0), 1);
	ASSERT_EQ(gwd_uring_fd_recv(&g.r, fd, 1, &g.b, 1), 0);
	gwd_uring_wait(&g.r, 100);
	gwd_uring_reap(&g.r);
	first = g.r.nev;
	EXPECT_EQ(first, 2);
	EXPECT_TRUE(g.r.ev_full);
	for (unsigned k = 0; k < first; k++)
		g.ev[g.nev++] = g.r.ev[k];
	EXPECT_EQ(rig_events(&g, 5), 5);
	for (unsigned k = 0; k < 5; k++)
		EXPECT_EQ(g.ev[k].res, 1);
	close(cli);
	close(fd);
	rig_close(&g);
}
