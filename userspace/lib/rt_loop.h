/* SPDX-License-Identifier: MIT */
/*
 * What the single-threaded epoll daemons (iomt-ttp, iomt-store) share
 * around their loop: interest changes that log their failure, a listener's
 * close, and the monotonic clock their deadlines are kept in.
 */
#ifndef IOMT_RT_LOOP_H
#define IOMT_RT_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

/* EPOLL_CTL_ADD / EPOLL_CTL_MOD of fd with data.ptr = ptr: 0 or -errno,
 * logged ("epoll_ctl add: ..."). */
int rt_loop_add(int ep, int fd, void *ptr, uint32_t events);
int rt_loop_mod(int ep, int fd, void *ptr, uint32_t events);
/* epoll_wait: the number of events, 0 when interrupted by a signal, or
 * -errno logged ("epoll_wait: ...": the loop cannot go on). */
int rt_loop_wait(int ep, struct epoll_event *ev, int max, int timeout_ms);
/* Removes *fd from ep and closes it; *fd becomes -1. Nothing when < 0. */
void rt_loop_close(int ep, int *fd);

/* Monotonic microseconds and milliseconds, wall-clock milliseconds. */
int64_t rt_mono_us(void);
int64_t rt_mono_ms(void);
int64_t rt_unix_ms(void);

#endif
