/* SPDX-License-Identifier: MIT */
/* iomt-load's engine (run.h): sockets, pacing, timeouts, counts, progress. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "lib/rt_conf.h"
#include "run.h"

enum {
	SETUP_TRIES = 3,
	RX_MAX = 2048,
	EVENTS = 256,
};

uint64_t load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void load_note(struct load_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->errors_shown++ >= 10)
		return;
	fputs("iomt-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int load_resolve(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct rt_endpoint ep;

	if (rt_endpoint_parse(text, &ep))
		return -1;
	memcpy(ss, &ep.addr, sizeof(*ss));
	*len = ep.len;
	return 0;
}

/* ---- one exchange ---- */

/* Starts slot s's next exchange (or set-up step): 0, or -1 (counted). */
static int start(struct load_run *r, struct load_slot *s, struct load_counts *c)
{
	uint8_t buf[RX_MAX];
	const struct sockaddr_storage *to = &r->target;
	socklen_t tolen = r->target_len;
	long n = r->mode->next(r, s, buf, sizeof(buf), &to, &tolen);
	ssize_t w;

	if (n < 0) {
		c->errors++;
		return -1;
	}
	s->sent_us = load_now_us();
	if (!r->mode->fire_and_forget)
		load_cookie_keep(s, buf, (size_t)n, to, tolen);
	do
		w = r->o->tr->send(r, s, buf, (size_t)n, to, tolen);
	while (w < 0 && errno == EINTR);
	c->sent++;
	if (w != n) {
		/* A full socket buffer, or an ICMP error from an earlier send. */
		c->send_errors++;
		if (r->mode->fire_and_forget && s->ready)
			return -1;
	}
	/* fire and forget once ready: set-up steps (s2data's agreement) wait for answers */
	if (r->mode->fire_and_forget && s->ready) {
		c->ok++;
		return 0;
	}
	s->busy = 1;
	return 0;
}

static void judge(struct load_run *r, struct load_slot *s, const uint8_t *buf, size_t n,
		  int measuring)
{
	struct load_counts *c = measuring ? &r->c : &r->setup;
	enum load_verdict v;

	if ((r->mode->fire_and_forget && s->ready) || !s->busy) {
		c->answers++;	/* none awaited (fire and forget), or late after its timeout */
		return;
	}
	if (load_cookie_reply(r, s, buf, n, c))
		return;
	v = r->mode->reply(r, s, buf, n);
	if (v == LOAD_IGNORE)
		return;
	s->busy = 0;
	switch (v) {
	case LOAD_DONE:
		c->ok++;
		if (measuring)
			load_lat_add(&r->lat, (double)(load_now_us() - s->sent_us));
		break;
	case LOAD_READY:
		s->ready = 1;
		c->ok++;
		break;
	case LOAD_MORE:
		c->ok++;
		start(r, s, c);	/* the next set-up step at once */
		break;
	case LOAD_REFUSED:
		c->refused++;
		break;
	default:
		c->errors++;
		break;
	}
}

/* A connected sensor's socket closed by the peer (or failed): the sensor
 * stops, its exchange in flight is an error. */
static void lost(struct load_run *r, struct load_slot *s, int ep, int err, int measuring)
{
	struct load_counts *c = measuring ? &r->c : &r->setup;

	load_note(r, "%s: sensor %u: closed by the peer%s%s", r->o->tr->name, s->idx,
		  err ? ": " : "", err ? strerror(err) : "");
	if (s->busy)
		c->errors++;
	c->closed++;
	s->busy = s->ready = 0;
	s->dead = 1;
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

static void drain_socket(struct load_run *r, struct load_slot *s, int ep, uint32_t events,
			 int measuring)
{
	int connected = r->o->tr->connected;
	uint8_t buf[RX_MAX];
	ssize_t n;

	if (s->fd < 0)
		return;
	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n == 0 && !connected)) {
			judge(r, s, buf, (size_t)n, measuring);
			continue;
		}
		if (n < 0 && (errno == EINTR || (errno == ECONNREFUSED && !connected)))
			continue;	/* UDP: an ICMP error from an earlier send */
		if (n < 0 && errno == EAGAIN && !(connected && (events & (EPOLLHUP | EPOLLERR))))
			return;
		break;
	}
	if (connected)
		lost(r, s, ep, n < 0 && errno != EAGAIN ? errno : 0, measuring);
}

static void expire(struct load_run *r, uint64_t now, int measuring)
{
	uint64_t limit = (uint64_t)(r->o->timeout_s * 1e6);
	struct load_counts *c = measuring ? &r->c : &r->setup;

	for (unsigned i = 0; i < r->o->sensors; i++) {
		struct load_slot *s = &r->slot[i];

		if (s->busy && now - s->sent_us >= limit) {
			s->busy = 0;
			c->timeouts++;
		}
	}
}

static unsigned in_flight(const struct load_run *r)
{
	unsigned k = 0;

	for (unsigned i = 0; i < r->o->sensors; i++)
		k += (unsigned)r->slot[i].busy;
	return k;
}

static int poll_once(struct load_run *r, int ep, int timeout_ms, int measuring)
{
	struct epoll_event ev[EVENTS];
	int n = epoll_wait(ep, ev, EVENTS, timeout_ms);

	for (int i = 0; i < n; i++)
		drain_socket(r, &r->slot[ev[i].data.u32], ep, ev[i].events, measuring);
	return n;
}

/* ---- phases ---- */

static int setup_phase(struct load_run *r, int ep)
{
	unsigned ready = 0, dead = 0, n = r->o->sensors;
	uint64_t last = 0;

	for (;;) {
		unsigned busy = in_flight(r);

		ready = dead = 0;
		for (unsigned i = 0; i < n; i++) {
			struct load_slot *s = &r->slot[i];

			ready += (unsigned)s->ready;
			dead += (unsigned)s->dead;
			if (s->ready || s->dead || s->busy || busy >= r->o->concurrency)
				continue;
			if (start(r, s, &r->setup))
				s->dead = 1;
			else
				busy++;
		}
		if (ready + dead == n)
			break;
		poll_once(r, ep, 10, 0);
		{
			uint64_t before = r->setup.timeouts;

			expire(r, load_now_us(), 0);
			(void)before;
			if (r->setup.timeouts + r->setup.errors > (uint64_t)n * SETUP_TRIES)
				break;
		}
		if (!r->o->quiet && load_now_us() - last > 1000000) {
			if (last)
				fprintf(stderr, "iomt-load: set-up: %u of %u sensors ready\n", ready, n);
			last = load_now_us();
		}
	}
	if (!ready) {
		fprintf(stderr, "iomt-load: set-up failed: no sensor ready (%llu errors, %llu "
			"timeouts)\n", (unsigned long long)r->setup.errors,
			(unsigned long long)r->setup.timeouts);
		return -1;
	}
	if (ready < n)
		fprintf(stderr, "iomt-load: set-up: only %u of %u sensors ready\n", ready, n);
	return 0;
}

static void progress(struct load_run *r, double t)
{
	fprintf(stderr, "iomt-load: %s %.0fs sent=%llu ok=%llu refused=%llu errors=%llu "
		"timeouts=%llu rate=%.0f/s in_flight=%u\n", r->mode->name, t,
		(unsigned long long)r->c.sent, (unsigned long long)r->c.ok,
		(unsigned long long)r->c.refused, (unsigned long long)r->c.errors,
		(unsigned long long)r->c.timeouts, t > 0 ? (double)r->c.ok / t : 0, in_flight(r));
}

static void measure_phase(struct load_run *r, int ep)
{
	const struct load_opts *o = r->o;
	uint64_t t0 = load_now_us(), end = t0 + (uint64_t)(o->seconds * 1e6), now = t0;
	uint64_t started = 0, next_progress = t0 + 1000000, next_expire = t0;
	unsigned cursor = 0, n = o->sensors;
	double cpu0 = load_cpu_s();

	while (now < end) {
		unsigned busy = in_flight(r);
		uint64_t due = o->rate > 0 ? (uint64_t)(o->rate * (double)(now - t0) / 1e6) + 1
					   : UINT64_MAX;
		int wait_ms;

		/* Behind by more than the window: do not burst to catch up. */
		if (o->rate > 0 && due > started + o->concurrency + (uint64_t)(o->rate / 10))
			started = due - o->concurrency;
		for (unsigned k = 0; k < n && started < due && busy < o->concurrency; k++) {
			struct load_slot *s = &r->slot[cursor];

			cursor = (cursor + 1) % n;
			if (!s->ready || s->busy)
				continue;
			started++;
			if (!start(r, s, &r->c) && s->busy)
				busy++;
		}
		if (o->rate > 0 && started >= due)
			wait_ms = (int)(((double)(started + 1) * 1e6 / o->rate -
					 (double)(now - t0)) / 1000);
		else
			wait_ms = busy >= o->concurrency || o->rate > 0 ? 10 : 0;
		if (wait_ms > 10)
			wait_ms = 10;
		if (wait_ms < 0)
			wait_ms = 0;
		poll_once(r, ep, wait_ms, 1);
		now = load_now_us();
		if (now >= next_expire) {
			expire(r, now, 1);
			next_expire = now + 10000;
		}
		if (now >= next_progress) {
			if (!o->quiet)
				progress(r, (double)(now - t0) / 1e6);
			next_progress += 1000000;
		}
	}
	r->elapsed_s = (double)(load_now_us() - t0) / 1e6;
	r->cpu_s = load_cpu_s() - cpu0;
	/* What is still in flight may finish within the timeout (counted). */
	while (in_flight(r) && !r->mode->fire_and_forget) {
		poll_once(r, ep, 10, 1);
		expire(r, load_now_us(), 1);
	}
	if (r->mode->fire_and_forget)
		poll_once(r, ep, 100, 1);	/* answers that come anyway */
}

int load_run(struct load_run *r, const struct load_mode *mode, const struct load_opts *o)
{
	struct rlimit rl;
	int ep, rc = -1;

	r->o = o;
	r->mode = mode;
	rc = o->tr->prepare(r);
	if (rc)
		return rc;
	rc = -1;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < o->sensors + 64u) {
		rl.rlim_cur = rl.rlim_max < o->sensors + 64u ? rl.rlim_max : o->sensors + 64u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	r->slot = calloc(o->sensors, sizeof(*r->slot));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r->slot || ep < 0) {
		fprintf(stderr, "iomt-load: out of memory\n");
		return -1;
	}
	for (unsigned i = 0; i < o->sensors; i++) {
		struct load_slot *s = &r->slot[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		s->idx = i;
		s->fd = o->tr->open(r, s);
		if (s->fd < 0)
			goto out;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev)) {
			fprintf(stderr, "iomt-load: epoll %u: %s\n", i, strerror(errno));
			goto out;
		}
		if (mode->init(r, s))
			goto out;
	}
	if (setup_phase(r, ep))
		goto out;
	measure_phase(r, ep);
	rc = 0;
out:
	for (unsigned i = 0; i < o->sensors; i++)
		if (r->slot[i].fd > 0)
			close(r->slot[i].fd);
	for (unsigned i = 0; i < o->sensors; i++)
		free(r->slot[i].req);
	close(ep);
	return rc;
}

void load_report(struct load_run *r, FILE *f)
{
	const struct load_opts *o = r->o;
	double t = r->elapsed_s > 0 ? r->elapsed_s : 1;

	fprintf(f, "mode=%s sensors=%u concurrency=%u seconds=%.3f target_rate=%.0f sent=%llu "
		"ok=%llu refused=%llu errors=%llu timeouts=%llu answers=%llu send_errors=%llu "
		"rate=%.1f p50_us=%.0f p99_us=%.0f setup_ok=%llu setup_errors=%llu "
		"setup_timeouts=%llu cpu=%.2f cookies=%llu transport=%s closed=%llu\n",
		r->mode->name, o->sensors, o->concurrency, r->elapsed_s, o->rate,
		(unsigned long long)r->c.sent, (unsigned long long)r->c.ok,
		(unsigned long long)r->c.refused, (unsigned long long)r->c.errors,
		(unsigned long long)r->c.timeouts, (unsigned long long)r->c.answers,
		(unsigned long long)r->c.send_errors, (double)r->c.ok / t,
		load_lat_pct(&r->lat, 0.50), load_lat_pct(&r->lat, 0.99),
		(unsigned long long)r->setup.ok, (unsigned long long)r->setup.errors,
		(unsigned long long)r->setup.timeouts, r->cpu_s / t,
		(unsigned long long)(r->c.cookies + r->setup.cookies), o->tr->name,
		(unsigned long long)(r->c.closed + r->setup.closed));
}
