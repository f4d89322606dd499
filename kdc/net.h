/* SPDX-License-Identifier: MIT */
/*
 * The network process: the unprivileged half of iomt-kdc. It owns the UDP
 * and TCP sockets and the metrics listener, checks frames (version, type,
 * exact size), and hands requests to the keeper in batches; it holds no key
 * and opens no file.
 *
 *   loop pass:  epoll_wait -> recvmmsg (UDP) / reads (TCP) -> the collecting
 *               batch (<= batch_max requests) -> if fewer than KDC_PIPELINE
 *               batches are at the keeper: one message to it, and the next
 *               batch starts collecting while it works -> its reply message
 *               -> sendmmsg (UDP), one write per connection (TCP).
 *
 * Frames that fail the checks are answered KDC_ERR MALFORMED in their
 * place in the batch (replies on a TCP stream keep the requests' order); a
 * corrupt stream is answered and closed. UDP garbage shorter than an ERR
 * reply gets no answer: a spoofed source would get more than it sent.
 */
#ifndef IOMT_KDC_NET_H
#define IOMT_KDC_NET_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "ipc.h"
#include "lib/rt_metrics.h"
#include "wire.h"

enum {
	CONN_RX = 2048,                                 /* > any request frame */
	CONN_TX = 16384,
	REPLY_FRAME_MAX = IOMT_WIRE_HDR_LEN + KDC_REP_MAX,
	UDP_BUF = 256,                                  /* > any request frame */
};

struct conn {
	int fd;
	uint32_t events;            /* epoll interest now */
	struct conn *next, *prev;
	uint32_t inflight;          /* requests in a batch, replies not yet queued */
	int dead;                   /* socket closed; freed once inflight is 0 */
	int closing;                /* corrupt stream: answer, flush, close */
	int eof;                    /* peer shut its side: answer what came, close */
	int64_t last_ms;
	struct kdc_ipc_peer peer;
	size_t rx_len, tx_off, tx_len;
	uint8_t rx[CONN_RX];
	uint8_t tx[CONN_TX];
};

/* A request's place in a batch and where its reply goes. */
struct item {
	uint8_t local;              /* 0: the keeper answers; else this code, here */
	uint8_t transport;
	uint8_t ref[8];
	struct conn *conn;
	struct sockaddr_storage addr;
	socklen_t alen;
};

struct batch {
	uint32_t nitems, nreq, seq;
	struct item *items;
	uint8_t *msg;               /* kdc_ipc_hdr | nreq x kdc_ipc_req */
};

struct kdc_net {
	const struct kdc_cfg *cfg;
	int ep, sfd, keeper, udp, tcp, metrics;
	struct batch b[KDC_PIPELINE + 1], *collect;
	struct batch *fly[KDC_PIPELINE];     /* at the keeper, oldest first */
	int nfly;
	uint8_t *reply;             /* the keeper's answer */
	struct conn *conns;
	int nconns;
	int stopping;
	int64_t last_ship;
	uint32_t seq;
	/* UDP staging */
	struct mmsghdr *rx_msg, *tx_msg;
	struct iovec *rx_iov, *tx_iov;
	uint8_t (*rx_buf)[UDP_BUF];
	struct sockaddr_storage *rx_addr;
	uint8_t (*tx_buf)[REPLY_FRAME_MAX];
	unsigned ntx;
};

/* Runs the network process until stopped (0) or the keeper is gone (1).
 * The sockets are bound already; privileges are dropped by the caller. */
int kdc_net_run(const struct kdc_cfg *cfg, int keeper, int sfd, int udp, int tcp, int metrics);

/* ---- shared between net.c and conn.c ---- */
int64_t kdc_now_ms(void);
/* Appends an item to the collecting batch: the request slot to fill, or
 * NULL for a local answer (code != 0). */
struct kdc_ipc_req *kdc_batch_add(struct kdc_net *n, uint8_t local, const uint8_t ref[8],
				  uint8_t transport, struct item **it);
int kdc_batch_full(const struct kdc_net *n);
/* Frame checks shared by both transports: 0 (a request for the keeper), or
 * the local code. ref receives the request's nonce when it has one. */
uint8_t kdc_frame_check(uint8_t type, size_t plen, const uint8_t *payload, uint8_t ref[8]);
void kdc_peer_of(const struct sockaddr_storage *ss, uint8_t transport, struct kdc_ipc_peer *p);

void kdc_conn_accept(struct kdc_net *n);
void kdc_conn_event(struct kdc_net *n, struct conn *c, uint32_t events);
/* Takes complete frames of every connection into the collecting batch. */
void kdc_conn_pump(struct kdc_net *n);
/* The reply to one of c's requests: queued (it fits: space is reserved
 * per request), or dropped if c is closed meanwhile (freed with its last). */
void kdc_conn_reply(struct kdc_net *n, struct conn *c, uint8_t type, const uint8_t *p,
		    size_t len);
/* Writes what c has queued: 1 while c is open, 0 once closed (and maybe
 * freed: do not touch it). */
int kdc_conn_flush(struct kdc_net *n, struct conn *c);
void kdc_conn_close(struct kdc_net *n, struct conn *c, struct rt_metric *why, const char *msg);
void kdc_conn_expire(struct kdc_net *n, int64_t now);
/* On stop: answer what is left BUSY, flush, close everything. */
void kdc_conn_drain_all(struct kdc_net *n, int64_t deadline);

#endif
