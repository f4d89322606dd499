/* SPDX-License-Identifier: MIT */
/* The control socket: its own thread, one text request per connection. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "engine.h"
#include "lib/rt_file.h"
#include "lib/rt_log.h"
#include "metrics.h"

enum {
	CTL_REPLY_MAX = 256 << 10,
};

/* ---- replies ---- */

struct out {
	char *buf;
	size_t len, used;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->used >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->used += (size_t)n < o->len - o->used ? (size_t)n : o->len - o->used;
}

static const char *link_state(struct rt_metric *up)
{
	return rt_metric_get(up) ? "up" : "down";
}

/* Under load: what a sender would feel as BUSY soon. */
static int under_load(const struct gwd_ctl_info *in)
{
	if (in->mec && !rt_metric_get(&gwd_stats.slots_free))
		return 1;
	if (in->relay && rt_metric_get(&gwd_stats.rec_pending) * 4 >=
				 (uint64_t)in->relay_pending_max * 3)
		return 1;
	/* The ingress filter's under-load mode (cookies). */
	if (in->filter_loaded && in->filter_loaded(in->filter_ctx))
		return 1;
	return 0;
}

static void cmd_status(const struct gwd_ctl_info *in, struct out *o)
{
	uint64_t up = gwd_now_ms() - in->started_ms;

	put(o, "roles: %s\n", in->roles);
	put(o, "uptime: %llu.%03llus\n", (unsigned long long)(up / 1000),
	    (unsigned long long)(up % 1000));
	put(o, "listen: %s\nmetrics: %s\n", in->listen, in->metrics);
	put(o, "workers: %u\n", in->workers);
	if (in->mec)
		put(o, "ttp_link: %s\n", link_state(&gwd_stats.ttp_link.up));
	if (in->relay)
		put(o, "store_link: %s\n", link_state(&gwd_stats.store_link.up));
	if (in->spool)
		put(o, "spool: %llu batches, %llu bytes\n",
		    (unsigned long long)rt_metric_get(&gwd_stats.rec_spool_batches),
		    (unsigned long long)rt_metric_get(&gwd_stats.rec_spool_bytes));
	put(o, "under_load: %s\n", under_load(in) ? "yes" : "no");
	if (in->filter_loaded)
		put(o, "ingress_under_load: %s\n",
		    in->filter_loaded(in->filter_ctx) ? "yes (cookies)" : "no");
}

/* Every metric, one "name{labels} value" line each (the /metrics text
 * without its # lines). */
static void cmd_stats(struct out *o)
{
	size_t need = rt_metrics_render(NULL, 0) + 1;
	char *text = malloc(need), *line, *save = NULL;

	if (!text) {
		put(o, "(out of memory)\n");
		return;
	}
	rt_metrics_render(text, need);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#')
			put(o, "%s\n", line);
	free(text);
}

static void cmd_sessions(const struct gwd_ctl_info *in, struct out *o)
{
	struct gwd_session_info *s;
	size_t n, count = 0;

	if (!in->sessions) {
		put(o, "sessions: 0\n");
		return;
	}
	s = calloc(GWD_CTL_SESSIONS_SHOWN, sizeof(*s));
	if (!s) {
		put(o, "(out of memory)\n");
		return;
	}
	n = gwd_sessions_snapshot(in->sessions, s, GWD_CTL_SESSIONS_SHOWN, gwd_now_ms(), &count);
	put(o, "sessions: %zu\n", count);
	for (size_t i = 0; i < n; i++)
		put(o, "session %llu ida_fp=%s age=%llus\n", (unsigned long long)s[i].handle,
		    s[i].ida_fp, (unsigned long long)(s[i].age_ms / 1000));
	if (n < count)
		put(o, "(%zu more not listed)\n", count - n);
	free(s);
}

static void cmd_filter(const struct gwd_ctl_info *in, struct out *o)
{
	char buf[4096];

	if (!in->filter) {
		put(o, "filter: not attached\n");
		return;
	}
	buf[0] = 0;
	in->filter(in->filter_ctx, buf, sizeof(buf));
	put(o, "%s", buf);
	if (buf[0] && buf[strlen(buf) - 1] != '\n')
		put(o, "\n");
}

size_t gwd_control_reply(const struct gwd_ctl_info *in, const char *req, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	if (!len)
		return 0;
	buf[0] = 0;
	if (!strcmp(req, "status") || !strcmp(req, "stats") || !strcmp(req, "sessions") ||
	    !strcmp(req, "filter"))
		put(&o, "ok\n");
	else {
		put(&o, "error: unknown command (status, stats, sessions or filter)\n");
		return o.used;
	}
	if (!strcmp(req, "status"))
		cmd_status(in, &o);
	else if (!strcmp(req, "stats"))
		cmd_stats(&o);
	else if (!strcmp(req, "sessions"))
		cmd_sessions(in, &o);
	else
		cmd_filter(in, &o);
	if (o.used >= len - 1 && len > 5)
		memcpy(buf + len - 5, "...\n", 5), o.used = len - 1;
	return o.used;
}

/* ---- the connection ---- */

/* The request line, within the time limit: 0, or -1 (err set). */
static int read_request(int fd, char *req, size_t cap, const char **why)
{
	size_t got = 0;
	int64_t end = gwd_now_ms() + GWD_CTL_TIMEOUT_MS;

	for (;;) {
		int64_t left = end - (int64_t)gwd_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			*why = "request timed out";
			return -1;
		}
		n = read(fd, req + got, cap - 1 - got);
		if (n <= 0) {
			*why = "connection closed before a request";
			return -1;
		}
		got += (size_t)n;
		req[got] = 0;
		nl = memchr(req, '\n', got);
		if (nl) {
			*nl = 0;
			if (nl > req && nl[-1] == '\r')
				nl[-1] = 0;
			return 0;
		}
		if (got == cap - 1) {
			*why = "request too long";
			return -1;
		}
	}
}

static void serve_one(struct gwd_control *c, int fd, char *reply)
{
	char req[GWD_CTL_REQ_MAX + 1];
	const char *why = NULL;
	size_t n;

	if (read_request(fd, req, sizeof(req), &why)) {
		n = (size_t)snprintf(reply, CTL_REPLY_MAX, "error: %s\n", why);
		rt_dbg("control request refused: %s", why);
	} else {
		n = gwd_control_reply(&c->info, req, reply, CTL_REPLY_MAX);
	}
	/* Blocking write, bounded by SO_SNDTIMEO. */
	if (rt_file_write_all(fd, reply, n))
		rt_dbg("control reply not sent: %s", strerror(errno));
	/* Close gently: unread input would turn our close into a reset that
	 * can destroy the reply before the client reads it. */
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0 || read(fd, req, sizeof(req)) <= 0)
			break;
	}
}

static void *control_thread(void *arg)
{
	struct gwd_control *c = arg;
	char *reply = malloc(CTL_REPLY_MAX);

	if (!reply) {
		rt_err("control socket: out of memory: not serving");
		return NULL;
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = POLLIN },
				       { .fd = c->stop_pipe[0], .events = POLLIN } };
		struct timeval tv = { 0, GWD_CTL_TIMEOUT_MS * 1000 };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve_one(c, fd, reply);
		close(fd);
	}
	free(reply);
	return NULL;
}

/* ---- set-up ---- */

/* Does a daemon answer on path? */
static int is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

int gwd_control_open(struct gwd_control *c, const char *path, mode_t mode, char *err,
		     size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int e;

	memset(c, 0, sizeof(*c));
	c->fd = c->stop_pipe[0] = c->stop_pipe[1] = -1;
	if (path[0] != '/')
		return rt_file_err(err, errlen, -EINVAL, "control_socket '%s': an absolute "
				   "filesystem path is needed (no abstract names)", path);
	if (mode != 0600 && mode != 0660)
		return rt_file_err(err, errlen, -EINVAL, "control_socket: mode %o (0600 or 0660)",
				   (unsigned)mode);
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(c->path))
		return rt_file_err(err, errlen, -ENAMETOOLONG, "control_socket '%s': longer "
				   "than %zu bytes", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path));
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return rt_file_err(err, errlen, -EEXIST, "control_socket %s: exists and "
					   "is not a socket", path);
		if (is_live(&sa))
			return rt_file_err(err, errlen, -EADDRINUSE, "control_socket %s: another "
					   "daemon answers there", path);
		unlink(path);	/* stale, from a daemon that died */
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return rt_file_err(err, errlen, -errno, "control_socket: %s", strerror(errno));
	/* Bind under a umask that leaves no window with wider access. */
	mode_t old = umask(0777 & ~mode);

	e = bind(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (!e && chmod(path, mode))
		e = -errno;
	if (!e && listen(c->fd, 16))
		e = -errno;
	if (!e && pipe2(c->stop_pipe, O_CLOEXEC))
		e = -errno;
	if (e) {
		close(c->fd);
		c->fd = -1;
		return rt_file_err(err, errlen, e, "control_socket %s: %s", path, strerror(-e));
	}
	memcpy(c->path, path, strlen(path) + 1);
	return 0;
}

int gwd_control_start(struct gwd_control *c, const struct gwd_ctl_info *info)
{
	int e;

	c->info = *info;
	e = pthread_create(&c->thread, NULL, control_thread, c);
	if (e)
		return -e;
	c->running = 1;
	return 0;
}

void gwd_control_close(struct gwd_control *c)
{
	if (c->running) {
		ssize_t w = write(c->stop_pipe[1], "x", 1);

		(void)w;
		pthread_join(c->thread, NULL);
		c->running = 0;
	}
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	for (int i = 0; i < 2; i++)
		if (c->stop_pipe[i] >= 0)
			close(c->stop_pipe[i]);
	c->fd = c->stop_pipe[0] = c->stop_pipe[1] = -1;
}
