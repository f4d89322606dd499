/* SPDX-License-Identifier: MIT */
/*
 * The local control socket that iomtctl talks to (userspace/ctl/). A Unix
 * stream socket at a filesystem path (an abstract name is refused: it has
 * no permissions), created with mode 0600 or 0660, removed at stop.
 *
 * Protocol (docs in userspace/gwd/README.md, "Control socket"): one request
 * per connection, a command word and '\n' (at most GWD_CTL_REQ_MAX bytes,
 * within GWD_CTL_TIMEOUT_MS); the reply is text, then the daemon closes:
 *
 *   "ok\n" then the command's lines        status, stats, sessions, filter
 *   "error: WHY\n"                         anything else
 *
 * Threads: the socket is served by its own thread, so a slow client never
 * stalls the event loop. That thread only reads: metrics (atomics),
 * fields fixed before it starts (struct gwd_ctl_info), and the session
 * table through gwd_sessions_snapshot (under the table's mutex). It holds
 * no key: sessions show their handle, an ID_a fingerprint and their age.
 */
#ifndef IOMT_GWD_CONTROL_H
#define IOMT_GWD_CONTROL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sessions.h"

enum {
	GWD_CTL_REQ_MAX = 64,
	GWD_CTL_TIMEOUT_MS = 500,
	GWD_CTL_SESSIONS_SHOWN = 1000,	/* sessions listed; the count is always whole */
};

/* What status prints, fixed before the thread starts. */
struct gwd_ctl_info {
	char roles[64];			/* "mec gateway relay" */
	char listen[80], metrics[80];
	int mec, relay;			/* which links and load signals matter */
	int spool;			/* the relay has a spool (spool_dir) */
	int relay_pending_max;
	unsigned workers;		/* ingress workers (engine.h) */
	uint64_t started_ms;		/* gwd_now_ms() at start */
	struct gwd_sessions *sessions;	/* NULL without the MEC role */
	/* The XDP filter's state into buf (NUL-terminated lines); NULL: "not attached". */
	void (*filter)(void *ctx, char *buf, size_t len);
	void *filter_ctx;
	/* 1 while the ingress filter is under load (COOKIE_REPLY); NULL: no. */
	int (*filter_loaded)(void *ctx);
};

struct gwd_control {
	struct gwd_ctl_info info;
	char path[108];
	int fd, stop_pipe[2];
	int running;
	pthread_t thread;
};

/* Binds and listens on path (mode 0600 or 0660): 0, or -errno with a message
 * in err. A stale socket (nobody answers) is replaced; a live one is
 * -EADDRINUSE. */
int gwd_control_open(struct gwd_control *c, const char *path, mode_t mode, char *err,
		     size_t errlen);
/* Starts the serving thread with info (copied): 0 or -errno. */
int gwd_control_start(struct gwd_control *c, const struct gwd_ctl_info *info);
/* Stops the thread, closes and removes the socket; safe if never opened. */
void gwd_control_close(struct gwd_control *c);

/* The reply to one request line (without '\n') into buf: its length
 * (truncated replies end with "...\n"). For the thread and the tests. */
size_t gwd_control_reply(const struct gwd_ctl_info *info, const char *req, char *buf,
			 size_t len);

#endif
