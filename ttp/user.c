/* SPDX-License-Identifier: MIT */
/* Phase-2 user connections on user_listen. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_log.h"
#include "metrics.h"
#include "user.h"

static void user_new(struct ttp_daemon *d, int fd)
{
	struct user_conn *u = calloc(1, sizeof(*u));

	if (!u) {
		close(fd);
		return;
	}
	u->w = (struct ttp_watch){ .fd = fd, .kind = TTP_W_USER };
	u->id = ++d->next_conn_id;
	u->state = USER_READING;
	u->deadline_ms = ttp_now_ms() + (int64_t)d->cfg.user_timeout;
	ttp_peer_name(fd, u->peer, sizeof(u->peer));
	if (ttp_watch_add(d, &u->w, EPOLLIN)) {
		close(fd);
		free(u);
		return;
	}
	u->next = d->users;
	if (d->users)
		d->users->prev = u;
	d->users = u;
	d->nusers++;
}

void ttp_user_accept(struct ttp_daemon *d)
{
	for (;;) {
		int fd = accept4(d->user_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				rt_warn("accept on the user listener: %m");
			return;
		}
		if (d->nusers >= d->cfg.max_users) {
			rt_warn("user connection refused: max_users (%d) reached", d->cfg.max_users);
			close(fd);
			continue;
		}
		user_new(d, fd);
	}
}

void ttp_user_close(struct ttp_daemon *d, struct user_conn *u, const char *why)
{
	if (why)
		rt_info("user connection %llu (%s): %s", (unsigned long long)u->id, u->peer, why);
	ttp_watch_del(d, &u->w);
	close(u->w.fd);
	if (u->prev)
		u->prev->next = u->next;
	else
		d->users = u->next;
	if (u->next)
		u->next->prev = u->prev;
	d->nusers--;
	iomt_wipe(u->out, sizeof(u->out));
	free(u);
}

void ttp_user_close_all(struct ttp_daemon *d)
{
	while (d->users)
		ttp_user_close(d, d->users, "closed: shutting down");
}

/* Sends what it can; closes once everything is out. 1 if u is gone. */
static int user_flush(struct ttp_daemon *d, struct user_conn *u)
{
	while (u->out_off < u->out_len) {
		ssize_t n = send(u->w.fd, u->out + u->out_off, u->out_len - u->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			u->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ttp_watch_set(d, &u->w, EPOLLOUT);
			return 0;
		}
		ttp_user_close(d, u, "write failed");
		return 1;
	}
	ttp_user_close(d, u, NULL);
	return 1;
}

static void user_reply(struct ttp_daemon *d, struct user_conn *u, uint8_t type,
		       const uint8_t *payload, size_t len)
{
	iomt_wire_put_hdr(u->out, type, len);
	memcpy(u->out + IOMT_WIRE_HDR_LEN, payload, len);
	u->out_len = IOMT_WIRE_HDR_LEN + len;
	u->state = USER_WRITING;
	user_flush(d, u);
}

static void malformed(struct ttp_daemon *d, struct user_conn *u, const char *why)
{
	static const uint8_t code = IOMT_S2_ERR_MALFORMED;

	rt_info("user connection %llu (%s): %s: MALFORMED", (unsigned long long)u->id, u->peer,
		why);
	rt_metric_inc(&ttp_metrics.users_malformed);
	user_reply(d, u, IOMT_MSG_S2_USER_ERR, &code, 1);
}

/* A whole frame is in: answer it. */
static void user_request(struct ttp_daemon *d, struct user_conn *u, uint8_t type,
			 const uint8_t *payload, size_t plen)
{
	static struct ttp_phase2_reply rep;

	if (type != IOMT_MSG_S2_ANALYSIS_REQ) {
		malformed(d, u, "not an S2_ANALYSIS_REQ frame");
		return;
	}
	ttp_phase2_handle(d, payload, plen, u->peer, &rep);
	user_reply(d, u, rep.type, rep.payload, rep.len);
	iomt_wipe(&rep, sizeof(rep));
}

static void user_parse(struct ttp_daemon *d, struct user_conn *u)
{
	const uint8_t *payload;
	size_t plen, flen;
	uint8_t type;
	int r = iomt_wire_next(u->in, u->in_len, &type, &payload, &plen, &flen);

	if (r == IOMT_EPARTIAL && u->in_len == sizeof(u->in))
		malformed(d, u, "frame longer than any request");
	else if (r == IOMT_EPARTIAL && u->in_len >= IOMT_WIRE_HDR_LEN &&
		 IOMT_WIRE_HDR_LEN + (size_t)iomt_load_be16(u->in + 2) > sizeof(u->in))
		malformed(d, u, "frame longer than any request");
	else if (r && r != IOMT_EPARTIAL)
		malformed(d, u, "corrupt frame");
	else if (!r)
		user_request(d, u, type, payload, plen);
}

static void user_read(struct ttp_daemon *d, struct user_conn *u)
{
	for (;;) {
		ssize_t n = read(u->w.fd, u->in + u->in_len, sizeof(u->in) - u->in_len);

		if (n > 0) {
			u->in_len += (size_t)n;
			if (u->in_len == sizeof(u->in))
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		ttp_user_close(d, u, n ? "read failed" : "closed before a whole request");
		return;
	}
	user_parse(d, u);
}

void ttp_user_event(struct ttp_daemon *d, struct user_conn *u, uint32_t events)
{
	if (u->state == USER_READING && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		user_read(d, u);
	else if (u->state == USER_WRITING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		user_flush(d, u);
}

int64_t ttp_user_expire(struct ttp_daemon *d, int64_t now_ms)
{
	int64_t next = -1;

	for (struct user_conn *u = d->users, *nx; u; u = nx) {
		nx = u->next;
		if (u->deadline_ms <= now_ms)
			ttp_user_close(d, u, "timed out");
		else if (next < 0 || u->deadline_ms < next)
			next = u->deadline_ms;
	}
	return next;
}
