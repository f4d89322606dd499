/* SPDX-License-Identifier: MIT */
/* iomt-ttp: set-up, the event loop, graceful stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "batch.h"
#include "keys.h"
#include "lib/rt_audit.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_loop.h"
#include "lib/rt_priv.h"
#include "lib/rt_rng.h"
#include "lib/rt_sock.h"
#include "link.h"
#include "metrics.h"
#include "phase56.h"
#include "user.h"

enum {
	EVENTS_MAX = 64,
	LISTEN_BACKLOG = 512,
	PURGE_EVERY_S = 60,     /* expired phase-2 nonces */
};

int64_t ttp_now_ms(void)
{
	return rt_mono_ms();
}

int64_t ttp_unix_now(void)
{
	return (int64_t)time(NULL);
}

void ttp_peer_name(int fd, char *buf, size_t len)
{
	rt_sock_peer(fd, buf, len);
}

int ttp_watch_add(struct ttp_daemon *d, struct ttp_watch *w, uint32_t events)
{
	int r = rt_loop_add(d->ep, w->fd, w, events);

	if (!r)
		w->events = events;
	return r;
}

void ttp_watch_set(struct ttp_daemon *d, struct ttp_watch *w, uint32_t events)
{
	if (w->events != events && !rt_loop_mod(d->ep, w->fd, w, events))
		w->events = events;
}

void ttp_watch_del(struct ttp_daemon *d, struct ttp_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(d->ep, EPOLL_CTL_DEL, w->fd, NULL);
}

static int listen_on(struct ttp_daemon *d, struct ttp_watch *w, uint8_t kind,
		     const struct rt_endpoint *ep, const char *what)
{
	int fd = rt_sock_listen(ep, LISTEN_BACKLOG, what);

	if (fd < 0)
		return fd;
	*w = (struct ttp_watch){ .fd = fd, .kind = kind };
	return ttp_watch_add(d, w, EPOLLIN);
}

static int write_ports(struct ttp_daemon *d)
{
	char text[96];

	if (!d->cfg.port_file[0])
		return 0;
	snprintf(text, sizeof(text), "link=%u\nuser=%u\nmetrics=%u\n",
		 rt_sock_port(d->link_listen.fd), rt_sock_port(d->user_listen.fd),
		 rt_sock_port(d->metrics_listen.fd));
	return rt_sock_write_ports(d->cfg.port_file, text);
}

static int listeners(struct ttp_daemon *d)
{
	int r = listen_on(d, &d->link_listen, TTP_W_LINK_LISTEN, &d->cfg.listen, "MEC links");

	if (!r)
		r = listen_on(d, &d->user_listen, TTP_W_USER_LISTEN, &d->cfg.user_listen,
			      "phase-2 users");
	if (!r && d->cfg.metrics)
		r = listen_on(d, &d->metrics_listen, TTP_W_METRICS_LISTEN,
			      &d->cfg.metrics_listen, "metrics");
	if (!r)
		r = write_ports(d);
	return r;
}

/* The CA's public key: ca_pub, else the public half of ca_key. */
static int load_ca(struct ttp_daemon *d)
{
	EVP_PKEY *priv = NULL;
	char err[512];
	int r;

	if (d->cfg.ca_pub[0]) {
		r = ttp_key_read_public(d->cfg.ca_pub, &d->ca_pub, err, sizeof(err));
	} else {
		r = ttp_key_read_private(d->cfg.ca_key, &priv, err, sizeof(err));
		if (!r && ttp_key_public_of(priv, &d->ca_pub))
			r = -ENOMEM, snprintf(err, sizeof(err), "out of memory");
		EVP_PKEY_free(priv);
	}
	if (r)
		rt_err("CA key: %s", err);
	return r;
}

static int add_loaded(void *arg, const struct ttp_party *p)
{
	int r = ttp_table_add(arg, p, NULL);

	if (r)
		rt_err("parties row %lld: %s", (long long)p->db_id,
		       r == -EEXIST ? "a DID or row already loaded (database inconsistent)"
				    : strerror(-r));
	return r;
}

static int load_state(struct ttp_daemon *d)
{
	struct ttp_engine_ops ops = { .random = rt_random, .miss = ttp_batch_miss, .arg = d };
	char err[512] = "";
	struct ttp_table *t;
	int r = ttp_db_open(d->cfg.db, 0, &d->db, err, sizeof(err));

	if (r) {
		rt_err("%s", err);
		return r;
	}
	r = ttp_engine_new(&ops, &d->engine);
	if (r)
		return r;
	t = ttp_engine_table(d->engine);
	r = ttp_db_load_parties(d->db, add_loaded, t, err, sizeof(err));
	if (r) {
		rt_err("%s: cannot load parties: %s", d->cfg.db, err[0] ? err : strerror(-r));
		return r;
	}
	rt_metric_set(&ttp_metrics.devices, ttp_table_count(t, TTP_PARTY_DEVICE));
	rt_metric_set(&ttp_metrics.mecs, ttp_table_count(t, TTP_PARTY_MEC));
	rt_info("%s: %u devices and %u MEC slots loaded", d->cfg.db,
		ttp_table_count(t, TTP_PARTY_DEVICE), ttp_table_count(t, TTP_PARTY_MEC));
	return 0;
}

static int open_logs(struct ttp_daemon *d)
{
	int r = rt_audit_open(d->cfg.audit_log);

	if (!r)
		r = ttp_metrics_register();
	return r;
}

int ttp_daemon_init(struct ttp_daemon *d)
{
	int r;

	d->link_listen.fd = d->user_listen.fd = d->metrics_listen.fd = d->sig.fd = d->ep = -1;
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (d->ep < 0)
		return -errno;
	r = d->cfg.pidfile[0] ? rt_pidfile_write(d->cfg.pidfile) : 0;
	if (!r)
		r = open_logs(d);
	if (!r)
		r = load_ca(d);
	if (!r)
		r = ttp_p56_init(d);
	if (!r)
		r = load_state(d);
	if (!r)
		r = ttp_batch_init(d);
	if (!r && (d->sig.fd = rt_daemon_signals()) < 0)
		r = d->sig.fd;
	if (!r) {
		d->sig.kind = TTP_W_SIGNAL;
		r = ttp_watch_add(d, &d->sig, EPOLLIN);
	}
	if (!r)
		r = listeners(d);
	if (!r && d->cfg.user[0])
		r = rt_priv_drop(d->cfg.user);
	return r;
}

static void on_signal(struct ttp_daemon *d)
{
	unsigned ev = rt_daemon_signal_read(d->sig.fd);

	if (ev & RT_SIG_RELOAD) {
		int r = rt_log_reopen(), a = rt_audit_open(d->cfg.audit_log);

		if (r < 0)
			rt_warn("cannot reopen the log file: %s", strerror(-r));
		if (a < 0)
			rt_warn("cannot reopen the audit log (the old file stays in use)");
		if (!r && !a)
			rt_info("log files reopened");
	}
	if (ev & RT_SIG_STOP)
		d->stopping = 1;
}

static void dispatch(struct ttp_daemon *d, struct epoll_event *ev)
{
	struct ttp_watch *w = ev->data.ptr;

	switch (w->kind) {
	case TTP_W_SIGNAL:
		on_signal(d);
		break;
	case TTP_W_LINK_LISTEN:
		ttp_link_accept(d);
		break;
	case TTP_W_USER_LISTEN:
		ttp_user_accept(d);
		break;
	case TTP_W_METRICS_LISTEN:
		rt_metrics_accept_all(d->metrics_listen.fd);
		break;
	case TTP_W_LINK:
		ttp_link_event(d, (struct link *)w, ev->events);
		break;
	case TTP_W_USER:
		ttp_user_event(d, (struct user_conn *)w, ev->events);
		break;
	}
}

/* User deadlines and the nonce purge; the epoll timeout until the next. */
static int housekeeping(struct ttp_daemon *d)
{
	int64_t now = ttp_now_ms(), next = ttp_user_expire(d, now), wait;

	if (ttp_unix_now() >= d->next_purge) {
		if (ttp_db_purge_nonces(d->db, ttp_unix_now()))
			rt_warn("could not purge expired phase-2 nonces");
		d->next_purge = ttp_unix_now() + PURGE_EVERY_S;
	}
	wait = PURGE_EVERY_S * 1000;
	if (next >= 0 && next - now < wait)
		wait = next - now > 0 ? next - now : 0;
	return d->more ? 0 : (int)wait;
}

static void close_listener(struct ttp_daemon *d, struct ttp_watch *w)
{
	rt_loop_close(d->ep, &w->fd);
}

static int any_pending(struct ttp_daemon *d)
{
	for (struct link *l = d->links; l; l = l->next)
		if (ttp_link_pending(l))
			return 1;
	return 0;
}

/* Stop accepting, refuse what was not in the last batch, deliver what was
 * computed (for at most stop_timeout), close. */
static void shutdown_links(struct ttp_daemon *d)
{
	struct epoll_event ev[EVENTS_MAX];
	int64_t deadline = ttp_now_ms() + (int64_t)d->cfg.stop_timeout;
	int n;

	close_listener(d, &d->link_listen);
	close_listener(d, &d->user_listen);
	close_listener(d, &d->metrics_listen);
	ttp_user_close_all(d);
	if (!d->fatal)
		ttp_batch_refuse_rest(d);
	for (struct link *l = d->links; l; l = l->next)
		ttp_link_update(d, l);
	while (any_pending(d) && ttp_now_ms() < deadline) {
		n = epoll_wait(d->ep, ev, EVENTS_MAX, (int)(deadline - ttp_now_ms()));
		for (int i = 0; i < n; i++)
			if (((struct ttp_watch *)ev[i].data.ptr)->kind == TTP_W_LINK)
				ttp_link_event(d, ev[i].data.ptr, ev[i].events);
		ttp_link_reap(d);
	}
	while (d->links)
		ttp_link_close(d, d->links, NULL, "shutting down");
	ttp_link_reap(d);
}

int ttp_daemon_run(struct ttp_daemon *d)
{
	struct epoll_event ev[EVENTS_MAX];
	int timeout = 0;

	rt_audit_write("ttp_start", "db", d->cfg.db, NULL);
	while (!d->stopping) {
		int n = rt_loop_wait(d->ep, ev, EVENTS_MAX, timeout);

		if (n < 0) {
			d->fatal = d->stopping = 1;
			break;
		}
		for (int i = 0; i < n; i++)
			dispatch(d, &ev[i]);
		/* A stop finishes the batch that is in: everything already read. */
		ttp_batch_run(d);
		ttp_link_reap(d);
		timeout = housekeeping(d);
	}
	rt_info("stopping%s", d->fatal ? " after a fatal error" : "");
	shutdown_links(d);
	rt_audit_write("ttp_stop", "reason", d->fatal ? "fatal error" : "signal", NULL);
	return d->fatal ? 1 : 0;
}

void ttp_daemon_fini(struct ttp_daemon *d)
{
	close_listener(d, &d->link_listen);
	close_listener(d, &d->user_listen);
	close_listener(d, &d->metrics_listen);
	if (d->sig.fd >= 0)
		close(d->sig.fd);
	if (d->ep >= 0)
		close(d->ep);
	ttp_batch_fini(d);
	ttp_engine_free(d->engine);
	ttp_db_close(d->db);
	EVP_PKEY_free(d->ca_pub);
	EVP_PKEY_free(d->grant_key);
	rt_pidfile_remove();
	rt_audit_close();
}
