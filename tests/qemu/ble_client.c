/* SPDX-License-Identifier: MIT */
/*
 * BLE sensors and the cloud store around iomt-gwd's relay role, for the
 * qemu guest (tests/qemu/guest/ble.sh; two btvirt adapters):
 *
 *   ble_client SRC[,SRC...] DST PSM CHANNELS FRAMES STORE_PORT [CLOSERS]
 *
 * Plays the store first (127.0.0.1:STORE_PORT: every REC_PUT it gets is
 * counted and acknowledged OK), waits for the gateway's store link, then
 * opens CHANNELS L2CAP LE CoC channels to the gateway on DST:PSM, all open
 * at once, from the SRC adapters in turn (one LE link per adapter, the
 * channels of an adapter multiplexed on its link). On each channel it sends one malformed frame
 * of each kind the socket filter drops (short, version, length, unknown
 * type, wrong fixed size), then FRAMES real REC_PUT batches (sealed records,
 * lib/recbatch) with at most WINDOW in flight, and checks every answer: a
 * REC_ACK OK on the same channel for a batch id sent on it. After the last
 * answer it listens a little longer: nothing else may come (a malformed
 * frame must never be answered). CLOSERS more channels (default 0) each send
 * CLOSER_FRAMES REC_PUTs and close as soon as the first answer is there,
 * while the others stream: the gateway sees them close mid-stream, with
 * answers still to send; their frames still reach the store. (Closing
 * before any answer could lose frames on this side: Linux sends the
 * disconnect ahead of data still queued for the link.) Prints one line of
 * results:
 *
 *   links L channels C closers K valid V acked A store S bad B extra X
 *   malformed M seconds T rate R
 *
 * and exits 0 only if A == V, S == V + K * CLOSER_FRAMES, B == X == 0.
 * R = acknowledged frames per second, first valid send to last answer
 * (qemu TCG: report only).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "data/data_env.h"
#include "lib/rt_ble.h"

enum {
	CH_MAX = 256,
	SRC_MAX = 8,
	WINDOW = 4,
	BAD_KINDS = 5,
	FRAME_CAP = 256,
	CLOSER_FRAMES = 3,
};

static const struct iomt_keytree_conf conf1 = {
	.version = 1, .epoch_start = 1700000000, .leaf_period_s = 60, .depth = 3,
	.arity = { 16, 24, 60 }, .refresh_period_s = 3600,
};

static atomic_uint store_got;
static atomic_int store_linked;
static volatile int store_stop;

/* The store: REC_ACK OK for every REC_PUT (batch id echoed). */
static void *store_main(void *arg)
{
	static uint8_t rx[1 << 18], tx[1 << 16];
	int lfd = *(int *)arg, fd;
	size_t have = 0;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	atomic_store(&store_linked, 1);
	while (!store_stop) {
		int n = ack_store_pass(fd, rx, sizeof(rx), &have, tx, sizeof(tx));

		if (n < 0)
			break;
		atomic_fetch_add(&store_got, (unsigned)n);
	}
	close(fd);
	return NULL;
}

static int store_listen(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))
		return -1;
	return fd;
}

static int channel_open(const bdaddr_t *src, const bdaddr_t *dst, unsigned psm)
{
	const char *step = "";
	int fd = rt_ble_channel_open(src, dst, psm, &step);

	if (fd < 0) {
		fprintf(stderr, "ble_client: channel: %s: %s\n", step, strerror(-fd));
		return -1;
	}
	/* Blocking sends: a channel out of credits waits, as a sensor would. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
		fprintf(stderr, "ble_client: channel: fcntl: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Frame seq of channel c (its id names both) into frame: its length. */
static long put_batch(const struct data_key *k, unsigned c, unsigned seq, unsigned rec,
		      uint8_t *frame)
{
	uint8_t id[8] = { (uint8_t)(c >> 8), (uint8_t)c, (uint8_t)(seq >> 8), (uint8_t)seq };

	return data_batch(k, id, conf1.epoch_start + 90, rec, 1, frame, FRAME_CAP);
}

/* The malformed frame of kind k (each a different filter verdict). */
static size_t bad_frame(unsigned k, uint8_t *b)
{
	switch (k) {
	case 0:	/* short */
		b[0] = 1, b[1] = IOMT_MSG_REC_PUT, b[2] = 0;
		return 3;
	case 1:	/* version */
		iomt_wire_put_hdr(b, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN);
		memset(b + 4, 0x11, IOMT_WIRE_KDC_AP_REQ_LEN);
		b[0] = 2;
		return 4 + IOMT_WIRE_KDC_AP_REQ_LEN;
	case 2:	/* length field one short of the SDU */
		iomt_wire_put_hdr(b, IOMT_MSG_REC_PUT, 99);
		memset(b + 4, 0x22, 100);
		return 104;
	case 3:	/* unknown type */
		iomt_wire_put_hdr(b, 0xee, 16);
		memset(b + 4, 0x33, 16);
		return 20;
	default: /* a fixed-size type, one byte long */
		iomt_wire_put_hdr(b, IOMT_MSG_S2_M1, IOMT_WIRE_S2_M1_LEN + 1);
		memset(b + 4, 0x44, IOMT_WIRE_S2_M1_LEN + 1);
		return 4 + IOMT_WIRE_S2_M1_LEN + 1;
	}
}

/* Closes each closer that has an answer waiting (within wait_ms). */
static void closers_close(int *fd, unsigned n, int wait_ms)
{
	for (unsigned j = 0; j < n; j++) {
		struct pollfd p = { .fd = fd[j], .events = POLLIN };

		if (fd[j] < 0 || poll(&p, 1, wait_ms) <= 0)
			continue;
		close(fd[j]);
		fd[j] = -1;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ch {
	int fd;
	unsigned sent, acked, inflight;
};

int main(int argc, char **argv)
{
	static uint8_t frame[FRAME_CAP];
	static struct ch ch[CH_MAX];
	static struct pollfd pfd[CH_MAX];
	static int closer[CH_MAX];
	unsigned psm, nch, nframes, acked = 0, bad = 0, extra = 0, malformed = 0, valid, ncl = 0;
	unsigned want_store;
	int closers_sent = 0;
	bdaddr_t src[SRC_MAX], dst;
	unsigned nsrc = 0;
	char *tok, *save = NULL;
	struct data_key k;
	pthread_t th;
	double t0, t1;
	int lfd;

	if ((argc != 7 && argc != 8) || rt_ble_addr_parse(argv[2], &dst)) {
		fprintf(stderr, "usage: ble_client SRC[,SRC...] DST PSM CHANNELS FRAMES STORE_PORT "
			"[CLOSERS]\n");
		return 2;
	}
	for (tok = strtok_r(argv[1], ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (nsrc == SRC_MAX || rt_ble_addr_parse(tok, &src[nsrc++])) {
			fprintf(stderr, "ble_client: at most %d source addresses: %s\n", SRC_MAX,
				tok);
			return 2;
		}
	if (!nsrc) {
		fprintf(stderr, "ble_client: no source address\n");
		return 2;
	}
	psm = (unsigned)atoi(argv[3]);
	nch = (unsigned)atoi(argv[4]);
	nframes = (unsigned)atoi(argv[5]);
	if (argc == 8)
		ncl = (unsigned)atoi(argv[7]);
	if (!nch || nch + ncl > CH_MAX || !nframes || data_key_make(&k, &conf1)) {
		fprintf(stderr, "ble_client: 1..%d channels (closers too), 1.. frames\n", CH_MAX);
		return 2;
	}
	valid = nch * nframes;
	want_store = valid + ncl * CLOSER_FRAMES;
	lfd = store_listen((uint16_t)atoi(argv[6]));
	if (lfd < 0 || pthread_create(&th, NULL, store_main, &lfd)) {
		fprintf(stderr, "ble_client: store: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 300 && !atomic_load(&store_linked); i++)
		env_sleep_ms(50);
	if (!atomic_load(&store_linked)) {
		fprintf(stderr, "ble_client: the gateway never connected to the store\n");
		return 1;
	}
	for (unsigned c = 0; c < nch; c++) {
		ch[c].fd = channel_open(&src[c % nsrc], &dst, psm);
		if (ch[c].fd < 0)
			return 1;
		pfd[c] = (struct pollfd){ .fd = ch[c].fd, .events = POLLIN };
	}
	for (unsigned j = 0; j < ncl; j++) {
		closer[j] = channel_open(&src[(nch + j) % nsrc], &dst, psm);
		if (closer[j] < 0)
			return 1;
	}
	for (unsigned c = 0; c < nch; c++)
		for (unsigned b = 0; b < BAD_KINDS; b++) {
			size_t n = bad_frame(b, frame);

			if (send(ch[c].fd, frame, n, 0) != (ssize_t)n) {
				fprintf(stderr, "ble_client: send: %s\n", strerror(errno));
				return 1;
			}
			malformed++;
		}
	t0 = t1 = now_s();
	while (acked + bad < valid && now_s() - t0 < 120) {
		for (unsigned c = 0; c < nch; c++)
			while (ch[c].sent < nframes && ch[c].inflight < WINDOW) {
				long n = put_batch(&k, c, ch[c].sent, c * nframes + ch[c].sent,
						   frame);

				if (n <= 0 || send(ch[c].fd, frame, (size_t)n, 0) != n) {
					fprintf(stderr, "ble_client: send: %s\n", strerror(errno));
					return 1;
				}
				ch[c].sent++;
				ch[c].inflight++;
			}
		/* The closers: their frames, then gone at the first answer. */
		for (unsigned j = 0; j < ncl && !closers_sent; j++)
			for (unsigned i = 0; i < CLOSER_FRAMES; i++) {
				long n = put_batch(&k, nch + j, i, valid + j * CLOSER_FRAMES + i,
						   frame);

				if (n <= 0 || send(closer[j], frame, (size_t)n, 0) != n) {
					fprintf(stderr, "ble_client: closer send: %s\n",
						strerror(errno));
					return 1;
				}
			}
		closers_sent = 1;
		closers_close(closer, ncl, 0);
		if (poll(pfd, nch, 1000) <= 0)
			continue;
		for (unsigned c = 0; c < nch; c++) {
			uint8_t r[64];
			const uint8_t *pl;
			size_t plen;
			uint8_t type;
			ssize_t n;

			if (!(pfd[c].revents & POLLIN))
				continue;
			n = recv(ch[c].fd, r, sizeof(r), MSG_DONTWAIT);
			if (n <= 0)
				continue;
			if (iomt_wire_parse(r, (size_t)n, &type, &pl, &plen) ||
			    type != IOMT_MSG_REC_ACK || pl[8] != IOMT_REC_OK ||
			    pl[0] != (uint8_t)(c >> 8) || pl[1] != (uint8_t)c || !ch[c].inflight) {
				bad++;
				continue;
			}
			ch[c].inflight--;
			ch[c].acked++;
			acked++;
			t1 = now_s();
		}
	}
	closers_close(closer, ncl, 5000);
	/* The closers' frames reach the store too (after the others, maybe). */
	for (int i = 0; i < 100 && atomic_load(&store_got) < want_store; i++)
		env_sleep_ms(50);
	/* Nothing more may come: malformed frames are never answered. */
	if (poll(pfd, nch, 500) > 0)
		for (unsigned c = 0; c < nch; c++)
			if (pfd[c].revents & POLLIN)
				extra++;
	printf("links %u channels %u closers %u valid %u acked %u store %u bad %u extra %u "
	       "malformed %u seconds %.3f rate %.0f\n", nsrc, nch, ncl, valid, acked,
	       atomic_load(&store_got), bad, extra, malformed, t1 - t0,
	       t1 > t0 ? acked / (t1 - t0) : 0.0);
	for (unsigned c = 0; c < nch; c++)
		close(ch[c].fd);
	store_stop = 1;
	pthread_join(th, NULL);
	return acked == valid && atomic_load(&store_got) == want_store && !bad && !extra ? 0 : 1;
}
