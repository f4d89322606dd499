/* SPDX-License-Identifier: MIT */
/* rt_metrics_serve(): one bounded, time-limited HTTP/1.0 exchange. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "rt_metrics.h"

enum {
	BODY_FIRST = 64 << 10,	/* a gateway's metrics fit in one try */
	DRAIN_MAX = 64 << 10,
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int head_complete(const char *buf)
{
	return strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n");
}

/* Reads the request head into buf[0..RT_METRICS_REQ_MAX]: 0 once it ends in
 * a blank line, -E2BIG when it will not fit, -ECONNRESET when the peer left. */
static int read_head(int fd, char *buf, long long deadline)
{
	size_t len = 0;
	ssize_t n;
	int r;

	buf[0] = '\0';
	while (!head_complete(buf)) {
		if (len == RT_METRICS_REQ_MAX)
			return -E2BIG;
		r = wait_fd(fd, POLLIN, deadline);
		if (r)
			return r;
		n = recv(fd, buf + len, RT_METRICS_REQ_MAX - len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
		}
	}
	return 0;
}

/* 200 for GET /metrics, 404 for any other request, 400 for non-HTTP. */
static int route(char *head)
{
	char *save = NULL;
	char *method = strtok_r(head, " ", &save);
	char *target = strtok_r(NULL, " ", &save);
	char *version = strtok_r(NULL, " \r\n", &save);

	if (!method || !target || !version || strncmp(version, "HTTP/1.", 7) ||
	    strchr(method, '\n') || strchr(target, '\n'))
		return 400;
	if (strcmp(method, "GET"))
		return 404;
	if (strcmp(target, "/metrics") && strncmp(target, "/metrics?", 9))
		return 404;
	return 200;
}

static int send_all(int fd, const char *p, size_t n, int more, long long deadline)
{
	int flags = MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0);
	ssize_t w;
	int r;

	while (n) {
		w = send(fd, p, n, flags);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r)
			return r;
	}
	return 0;
}

/* The exposition text in a heap buffer; counters may grow between the
 * sizing pass and the real one, hence the loop. */
static char *render_body(size_t *len)
{
	size_t cap = BODY_FIRST, need;
	char *buf = NULL, *bigger;

	for (;;) {
		bigger = realloc(buf, cap);
		if (!bigger) {
			free(buf);
			return NULL;
		}
		buf = bigger;
		need = rt_metrics_render(buf, cap);
		if (need < cap) {
			*len = need;
			return buf;
		}
		if (need >= RT_METRICS_BODY_MAX) {
			free(buf);
			return NULL;
		}
		cap = need + need / 4 + 1024;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

static int respond(int fd, int status, long long deadline)
{
	const char *type = "text/plain; charset=utf-8";
	char head[256], *body;
	size_t len;
	int r;

	body = status == 200 ? render_body(&len) : NULL;
	if (status == 200 && !body)
		status = 500;
	if (status == 200) {
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		body = strdup(reason(status));
		len = body ? strlen(body) : 0;
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", status, reason(status), type, len);
	r = send_all(fd, head, strlen(head), 1, deadline);
	if (!r && body)
		r = send_all(fd, body, len, 0, deadline);
	free(body);
	return r ? r : status;
}

/* Closing with unread input makes the kernel send RST, which can destroy the
 * response in flight: end our side cleanly and discard what has arrived. */
static void finish(int fd)
{
	char sink[4096];
	size_t total = 0;
	ssize_t n;

	shutdown(fd, SHUT_WR);
	while (total < DRAIN_MAX && (n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

int rt_metrics_serve(int fd)
{
	long long deadline = now_ms() + RT_METRICS_TIMEOUT_MS;
	char head[RT_METRICS_REQ_MAX + 1];
	int r = read_head(fd, head, deadline);

	if (r == -E2BIG)
		r = respond(fd, 431, deadline);
	else if (!r)
		r = respond(fd, route(head), deadline);
	finish(fd);
	return r;
}
