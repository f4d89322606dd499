/* SPDX-License-Identifier: MIT */
/* iomt-store serve: set-up, the event loop, graceful stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "group.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_loop.h"
#include "lib/rt_priv.h"
#include "lib/rt_sock.h"
#include "metrics.h"

enum {
	EVENTS_MAX = 64,
	LISTEN_BACKLOG = 512,
	IDLE_CHECK_MS = 60000,
};

int64_t store_mono_us(void)
{
	return rt_mono_us();
}

int64_t store_mono_ms(void)
{
	return rt_mono_ms();
}

int64_t store_unix_ms(void)
{
	return rt_unix_ms();
}

int store_watch_add(struct store_daemon *d, struct store_watch *w, uint32_t events)
{
	int r = rt_loop_add(d->ep, w->fd, w, events);

	if (!r)
		w->events = events;
	return r;
}

void store_watch_set(struct store_daemon *d, struct store_watch *w, uint32_t events)
{
	if (w->events != events && !rt_loop_mod(d->ep, w->fd, w, events))
		w->events = events;
}

void store_watch_del(struct store_daemon *d, struct store_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(d->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

static int listen_on(struct store_daemon *d, struct store_watch *w, uint8_t kind,
		     const struct rt_endpoint *ep, const char *what)
{
	int fd = rt_sock_listen(ep, LISTEN_BACKLOG, what);

	if (fd < 0)
		return fd;
	*w = (struct store_watch){ .fd = fd, .kind = kind };
	return store_watch_add(d, w, EPOLLIN);
}

/* listen=PORT and metrics=PORT, written whole then renamed into place. */
static int write_ports(struct store_daemon *d)
{
	char text[96];

	if (!d->cfg.port_file[0])
		return 0;
	snprintf(text, sizeof(text), "listen=%u\nmetrics=%u\n", rt_sock_port(d->listen.fd),
		 rt_sock_port(d->metrics.fd));
	return rt_sock_write_ports(d->cfg.port_file, text);
}

static int open_db(struct store_daemon *d)
{
	char err[600];
	int64_t n;
	int r = store_db_open(d->cfg.db, 1, &d->db, err, sizeof(err));

	if (r) {
		rt_err("%s", err);
		return r;
	}
	n = store_db_count(d->db);
	rt_info("%s: %lld records held", d->cfg.db, (long long)n);
	return 0;
}

int store_daemon_init(struct store_daemon *d)
{
	int r;

	d->listen.fd = d->metrics.fd = d->sig.fd = -1;
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0)
		return -errno;
	r = d->cfg.pidfile[0] ? rt_pidfile_write(d->cfg.pidfile) : 0;
	if (!r)
		r = store_metrics_register();
	if (!r)
		r = open_db(d);
	if (!r)
		r = store_group_init(d);
	if (!r && (d->sig.fd = rt_daemon_signals()) < 0)
		r = d->sig.fd;
	if (!r) {
		d->sig.kind = STORE_W_SIGNAL;
		r = store_watch_add(d, &d->sig, EPOLLIN);
	}
	if (!r)
		r = listen_on(d, &d->listen, STORE_W_LISTEN, &d->cfg.listen, "gateways");
	if (!r && d->cfg.metrics)
		r = listen_on(d, &d->metrics, STORE_W_METRICS, &d->cfg.metrics_listen, "metrics");
	/* Before the drop: the port file's directory may be root's. */
	if (!r)
		r = write_ports(d);
	if (!r && d->cfg.user[0])
		r = rt_priv_drop(d->cfg.user);
	return r;
}

static void on_signal(struct store_daemon *d)
{
	unsigned ev = rt_daemon_signal_read(d->sig.fd);

	if (ev & RT_SIG_RELOAD) {
		int r = rt_log_reopen();

		if (r < 0)
			rt_warn("cannot reopen the log file: %s", strerror(-r));
		else
			rt_info("log file reopened");
	}
	if (ev & RT_SIG_STOP)
		d->stopping = 1;
}

static void dispatch(struct store_daemon *d, struct epoll_event *ev)
{
	struct store_watch *w = ev->data.ptr;

	switch (w->kind) {
	case STORE_W_SIGNAL:
		on_signal(d);
		break;
	case STORE_W_LISTEN:
		store_conn_accept(d);
		break;
	case STORE_W_METRICS:
		rt_metrics_accept_all(d->metrics.fd);
		break;
	case STORE_W_CONN:
		store_conn_event(d, (struct conn *)w, ev->events);
		break;
	}
}

static void close_listener(struct store_daemon *d, struct store_watch *w)
{
	rt_loop_close(d->ep, &w->fd);
}

static int any_pending(struct store_daemon *d)
{
	for (struct conn *c = d->conns; c; c = c->next)
		if (store_conn_pending(c))
			return 1;
	return 0;
}

/* Stop accepting and reading; commit and answer every whole batch already
 * received; deliver the ACKs for at most stop_timeout; close. */
static void shutdown_conns(struct store_daemon *d)
{
	struct epoll_event ev[EVENTS_MAX];
	int64_t deadline = store_mono_ms() + (int64_t)d->cfg.stop_timeout;
	int n;

	close_listener(d, &d->listen);
	close_listener(d, &d->metrics);
	for (struct conn *c = d->conns; c; c = c->next)
		store_conn_update(d, c);
	do {
		store_group_run(d);
		store_conn_reap(d);
	} while (d->more && !d->fatal);
	while (any_pending(d) && store_mono_ms() < deadline) {
		n = epoll_wait(d->ep, ev, EVENTS_MAX, (int)(deadline - store_mono_ms()));
		for (int i = 0; i < n; i++)
			if (((struct store_watch *)ev[i].data.ptr)->kind == STORE_W_CONN)
				store_conn_event(d, ev[i].data.ptr, ev[i].events);
		store_conn_reap(d);
	}
	while (d->conns)
		store_conn_close(d, d->conns, &store_metrics.closed_stop, "shutting down");
	store_conn_reap(d);
}

int store_daemon_run(struct store_daemon *d)
{
	struct epoll_event ev[EVENTS_MAX];
	int timeout = 0;

	while (!d->stopping) {
		int n = rt_loop_wait(d->ep, ev, EVENTS_MAX, timeout);
		int64_t next;

		if (n < 0) {
			d->fatal = d->stopping = 1;
			break;
		}
		for (int i = 0; i < n; i++)
			dispatch(d, &ev[i]);
		store_group_run(d);
		store_conn_reap(d);
		next = store_conn_expire(d, store_mono_ms());
		store_conn_reap(d);
		timeout = d->more ? 0 : next < 0 ? IDLE_CHECK_MS : (int)(next > IDLE_CHECK_MS ? IDLE_CHECK_MS : next);
	}
	rt_info("stopping%s", d->fatal ? " after a fatal error" : "");
	shutdown_conns(d);
	rt_info("stopped: %lld records held", (long long)store_db_count(d->db));
	return d->fatal ? 1 : 0;
}

void store_daemon_fini(struct store_daemon *d)
{
	close_listener(d, &d->listen);
	close_listener(d, &d->metrics);
	if (d->sig.fd >= 0)
		close(d->sig.fd);
	if (d->ep >= 0)
		close(d->ep);
	store_group_fini(d);
	store_db_close(d->db);
	rt_pidfile_remove();
}
