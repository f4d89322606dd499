/* SPDX-License-Identifier: MIT */
/* `iomt-sensor run`: the epoll loop over the device slots (see runner.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "run.h"
#include "runner.h"

enum {
	RUN_EVENTS = 64,
	RUN_SPARE_FDS = 32,      /* state file, epoll, signalfd, stdio, log */
	RUN_MAX_FDS = 1 << 17,
};

/* Raises the open-file limit as far as allowed; the sockets it leaves us. */
static size_t socket_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024 - RUN_SPARE_FDS;
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < RUN_MAX_FDS) {
		rl.rlim_cur = rl.rlim_max < RUN_MAX_FDS ? rl.rlim_max : RUN_MAX_FDS;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 2 * RUN_SPARE_FDS ? rl.rlim_cur - RUN_SPARE_FDS : RUN_SPARE_FDS;
}

static int pick_devices(struct runner *r, size_t in_file)
{
	const struct run_opts *o = r->o;

	if ((size_t)o->devices > in_file) {
		rt_err("%s holds %zu devices; --devices %d asks for more", o->state, in_file,
		       o->devices);
		return -1;
	}
	r->ndev = o->devices ? (size_t)o->devices : in_file;
	r->nslots = (size_t)o->concurrency < r->ndev ? (size_t)o->concurrency : r->ndev;
	if (r->nslots > socket_budget()) {
		rt_warn("--concurrency %zu exceeds the open-file limit: using %zu", r->nslots,
			socket_budget());
		r->nslots = socket_budget();
	}
	return 0;
}

static int runner_open(struct runner *r, const struct run_opts *o, int sfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	r->o = o;
	r->ep = -1;
	if (sensor_store_open(&r->state, o->state) || pick_devices(r, r->state.ndev))
		return -1;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	if (!r->slots || stats_init(&r->st, r->ndev, (size_t)o->agreements)) {
		rt_err("out of memory for %zu devices", r->ndev);
		return -1;
	}
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep < 0 || epoll_ctl(r->ep, EPOLL_CTL_ADD, sfd, &ev) < 0) {
		rt_err("epoll: %m");
		return -1;
	}
	return 0;
}

static void runner_close(struct runner *r)
{
	size_t i;

	for (i = 0; r->slots && i < r->nslots; i++)
		slot_release(r, &r->slots[i]);
	free(r->slots);
	if (r->ep >= 0)
		close(r->ep);
	sensor_store_close(&r->state);
	stats_free(&r->st);
}

static void fill_slots(struct runner *r, uint64_t now)
{
	size_t i;

	for (i = 0; i < r->nslots && r->next_dev < r->ndev; i++)
		if (r->slots[i].phase == SLOT_FREE)
			slot_acquire(r, &r->slots[i], now);
}

static void run_due(struct runner *r, uint64_t now)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].phase != SLOT_FREE && r->slots[i].deadline_us <= now)
			slot_due(r, &r->slots[i], now);
}

/* Milliseconds until the earliest deadline (rounded up). */
static int wait_ms(const struct runner *r, uint64_t now)
{
	uint64_t first = UINT64_MAX;
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].phase != SLOT_FREE && r->slots[i].deadline_us < first)
			first = r->slots[i].deadline_us;
	if (first <= now)
		return 0;
	return first - now > 3600000000ull ? 3600000 : (int)((first - now + 999) / 1000);
}

static int interrupted(struct runner *r)
{
	size_t i;

	rt_warn("interrupted: abandoning %zu devices in flight, %zu not started", r->active,
		r->ndev - r->next_dev);
	for (i = 0; i < r->nslots; i++) {
		if (r->slots[i].phase == SLOT_FREE)
			continue;
		stats_fail(&r->st, r->slots[i].dev_idx, FAIL_INTERRUPTED, 0);
		slot_release(r, &r->slots[i]);
	}
	return -1;
}

static int runner_loop(struct runner *r, int sfd)
{
	struct epoll_event ev[RUN_EVENTS];
	uint64_t now;
	int i, n;

	for (;;) {
		now = sensor_now_us();
		fill_slots(r, now);
		run_due(r, now);
		if (!r->active && r->next_dev == r->ndev)
			return 0;
		if (!r->active)
			continue;
		n = epoll_wait(r->ep, ev, RUN_EVENTS, wait_ms(r, sensor_now_us()));
		if (n < 0 && errno != EINTR) {
			rt_err("epoll_wait: %m");
			return -1;
		}
		now = sensor_now_us();
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr)
				slot_readable(r, ev[i].data.ptr, now);
			else if (rt_daemon_signal_read(sfd) & RT_SIG_STOP)
				return interrupted(r);
		}
	}
}

int sensor_run_main(int argc, char *const argv[])
{
	static struct run_opts o;
	struct runner r = { .ep = -1, .state = { .fd = -1 } };
	int rc, sfd;

	rc = run_opts_parse(&o, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	sfd = rt_daemon_signals();
	if (sfd < 0) {
		rt_err("signalfd: %s", strerror(-sfd));
		return 1;
	}
	rc = runner_open(&r, &o, sfd);
	if (!rc) {
		r.st.start_us = sensor_now_us();
		rc = runner_loop(&r, sfd);
		r.st.end_us = sensor_now_us();
		stats_print(&r.st, o.json, stdout);
		if (stats_devices_failed(&r.st))
			rc = -1;
	}
	runner_close(&r);
	close(sfd);
	return rc ? 1 : 0;
}
