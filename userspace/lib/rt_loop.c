/* SPDX-License-Identifier: MIT */
/* Around the epoll loop (see rt_loop.h). */
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_loop.h"

int rt_loop_add(int ep, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		rt_err("epoll_ctl add: %m");
		return -errno;
	}
	return 0;
}

int rt_loop_mod(int ep, int fd, void *ptr, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) {
		rt_err("epoll_ctl mod: %m");
		return -errno;
	}
	return 0;
}

int rt_loop_wait(int ep, struct epoll_event *ev, int max, int timeout_ms)
{
	int n = epoll_wait(ep, ev, max, timeout_ms);

	if (n >= 0 || errno == EINTR)
		return n >= 0 ? n : 0;
	rt_err("epoll_wait: %m");
	return -errno;
}

void rt_loop_close(int ep, int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

int64_t rt_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rt_mono_ms(void)
{
	return rt_mono_us() / 1000;
}

int64_t rt_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
