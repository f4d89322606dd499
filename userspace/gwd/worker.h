/* SPDX-License-Identifier: MIT */
/*
 * The extra ingress workers (engine.h "Workers"): worker i (1..N-1) is a
 * thread with its own io_uring (uring.h, the same set-up as worker 0's) and
 * its own UDP socket bound to worker 0's address with SO_REUSEPORT, so the
 * kernel spreads devices over the sockets by 4-tuple hash. A worker takes
 * its datagrams in batches (multishot recvmsg, provided buffer ring), runs
 * the same ingress checks as worker 0 (gwd_ingress_check: filter verdict,
 * cookies, header and exact size) and hands the accepted frames to worker 0
 * through its hand-off ring (handoff.h), waking worker 0 through one shared
 * eventfd; worker 0 dispatches them to the roles and sends the answers on
 * its own socket (the same address and port). A ring holds 'handoff_slots'
 * frames; a full ring drops the frame,
 * counted (iomt_gwd_handoff_drops_total) and logged at most once a second.
 * Only cookie replies leave from the worker's own socket.
 *
 * Stop (gwd_workers_stop, on SIGTERM): each worker cancels its receive,
 * hands off what its buffers and its socket still hold, closes its ring
 * and socket (the kernel then sends that port's datagrams to the sockets
 * left, in the end worker 0's), and says it is done; worker 0 drains the
 * rings and finishes its own stop.
 */
#ifndef IOMT_GWD_WORKER_H
#define IOMT_GWD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "handoff.h"
#include "udp.h"
#include "uring.h"

enum {
	GWD_WORKERS_MAX = 64,
};

struct gwd_engine;

enum gwd_worker_state {
	GWD_WORKER_STARTING,
	GWD_WORKER_RUNNING,
	GWD_WORKER_FAILED,	/* its ring could not be set up (err) */
	GWD_WORKER_DONE,	/* stopped: everything it took is handed off */
};

struct gwd_worker {
	unsigned id;
	struct gwd_engine *e;
	struct gwd_udp udp;
	struct gwd_uring uring;
	int ring_open;
	struct gwd_handoff q;
	int stopfd;			/* eventfd: worker 0 asks it to stop */
	pthread_t th;
	int thread_on;
	pthread_mutex_t mu;		/* guards state changes for the starter */
	pthread_cond_t cv;
	atomic_int state;		/* enum gwd_worker_state */
	char err[200];
	uint64_t drop_log_ms;		/* next time a full ring may be logged */
	uint64_t drops_unlogged;
};

/* Registers the per-worker metrics of workers 0..n-1: 0 or -errno. */
int gwd_workers_metrics(unsigned n);
/* Worker id received n datagrams / handed n frames to worker 0. */
void gwd_worker_count_rx(unsigned id, unsigned n);

/* Workers 1..n-1 of e: sockets bound beside e->udp (SO_REUSEPORT), rings
 * of hand-off slots: 0, or -errno with a message in err. */
int gwd_workers_open(struct gwd_engine *e, unsigned n, char *err, size_t errlen);
/* Starts their threads and waits until each has its ring: 0, or -errno
 * with a message in err (the started ones are stopped). */
int gwd_workers_start(struct gwd_engine *e, char *err, size_t errlen);
/* Asks every worker to stop (they finish on their own). */
void gwd_workers_stop(struct gwd_engine *e);
/* 1 when every worker has stopped (or never ran). */
int gwd_workers_done(struct gwd_engine *e);
/* Stops and joins the threads (their rings and hand-offs stay readable). */
void gwd_workers_join(struct gwd_engine *e);
/* Stops, joins and frees everything. */
void gwd_workers_close(struct gwd_engine *e);

#endif
