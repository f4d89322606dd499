/* SPDX-License-Identifier: MIT */
/* Start-up: sockets, the split into keeper and network process, privileges. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "ipc.h"
#include "keeper.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "lib/rt_priv.h"
#include "net.h"

enum {
	LISTEN_BACKLOG = 1024,
	UDP_RCVBUF = 8 << 20,
	PORT_TRIES = 20,        /* port 0: find one free for both UDP and TCP */
	NET_FALLBACK_UID = 65534,
};

struct sockets {
	int udp, tcp, metrics;
	uint16_t port, metrics_port;
};

static uint16_t bound_port(int fd)
{
	struct rt_endpoint ep = { .len = sizeof(ep.addr) };

	if (getsockname(fd, (struct sockaddr *)&ep.addr, &ep.len) < 0)
		return 0;
	return rt_endpoint_port(&ep);
}

static void set_port(struct rt_endpoint *ep, uint16_t port)
{
	if (ep->addr.ss_family == AF_INET)
		((struct sockaddr_in *)&ep->addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ep->addr)->sin6_port = htons(port);
}

static int bound(int type, const struct rt_endpoint *ep, int *out)
{
	int one = 1, fd = socket(ep->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if ((type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&ep->addr, ep->len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)) {
		int r = -errno;

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

/* TCP and UDP on one port (the one asked for, or one the OS picks for both). */
static int bind_kdc(const struct kdc_cfg *cfg, struct sockets *s)
{
	struct rt_endpoint ep = cfg->listen;
	int r = -EADDRINUSE, size = UDP_RCVBUF;
	char name[80];

	for (int i = 0; i < PORT_TRIES && r == -EADDRINUSE; i++) {
		r = bound(SOCK_STREAM, &cfg->listen, &s->tcp);
		if (r)
			break;
		set_port(&ep, bound_port(s->tcp));
		r = bound(SOCK_DGRAM, &ep, &s->udp);
		if (r) {
			close(s->tcp);
			s->tcp = -1;
			if (rt_endpoint_port(&cfg->listen))
				break;
		}
	}
	rt_endpoint_str(&cfg->listen, name, sizeof(name));
	if (r) {
		rt_err("cannot listen on %s: %s", name, strerror(-r));
		return r;
	}
	/* Bursts of requests wait in the kernel while a batch is decided. */
	if (setsockopt(s->udp, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(s->udp, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	s->port = bound_port(s->tcp);
	rt_endpoint_str(&ep, name, sizeof(name));
	rt_info("listening on %s (UDP and TCP)", name);
	if (!cfg->metrics)
		return 0;
	r = bound(SOCK_STREAM, &cfg->metrics_listen, &s->metrics);
	if (r) {
		rt_endpoint_str(&cfg->metrics_listen, name, sizeof(name));
		rt_err("metrics: cannot listen on %s: %s", name, strerror(-r));
		return r;
	}
	s->metrics_port = bound_port(s->metrics);
	return 0;
}

/* Batches are one message each way: the socket buffers must hold one. */
static int channel(int sv[2])
{
	int size = KDC_IPC_SOCKBUF;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rt_err("socketpair: %m");
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	return 0;
}

/* The user both halves run as when started as root: the configured one,
 * else "iomt" if it exists, else none (the keeper keeps root, with a
 * warning; the network process never does). */
static const char *run_as(const struct kdc_cfg *cfg)
{
	if (geteuid() != 0)
		return NULL;
	if (cfg->user[0])
		return cfg->user;
	if (getpwnam(KDC_DEFAULT_USER))
		return KDC_DEFAULT_USER;
	return NULL;
}

static int drop_net(const char *user)
{
	if (geteuid() != 0)
		return 0;
	if (user)
		return rt_priv_drop(user);
	/* No daemon user: the network half still must not stay root. */
	return getpwnam("nobody") ? rt_priv_drop("nobody") : -ENOENT;
}

static int write_ports(const struct kdc_cfg *cfg, const struct sockets *s)
{
	char tmp[KDC_PATH_MAX + 8], text[96];
	int fd, n, r = 0;

	if (!cfg->port_file[0])
		return 0;
	n = snprintf(text, sizeof(text), "udp=%u\ntcp=%u\nmetrics=%u\n", s->port, s->port,
		     s->metrics_port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg->port_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)n) != n || rename(tmp, cfg->port_file) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r)
		rt_err("port_file %s: %s", cfg->port_file, strerror(-r));
	return r;
}

static void close_sockets(struct sockets *s)
{
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	if (s->metrics >= 0)
		close(s->metrics);
	s->udp = s->tcp = s->metrics = -1;
}

/* The child: sockets only, no key ever mapped (the fork comes first). */
static int net_main(const struct kdc_cfg *cfg, struct sockets *s, int sock, int sfd,
		    const char *user)
{
	pid_t keeper = getppid();
	int r;

	rt_log_init("iomt-kdc-net");
	r = drop_net(user);
	if (r) {
		rt_err("cannot drop privileges: %s", strerror(-r));
		return 1;
	}
	/* Set after the drop: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		return 1;
	return kdc_net_run(cfg, sock, sfd, s->udp, s->tcp, s->metrics);
}

static int keeper_main(const struct kdc_cfg *cfg, struct sockets *s, int sock, int sfd,
		       pid_t net, const char *user)
{
	struct kdc_keeper *k = NULL;
	int r;

	/* The keeper never touches the network. */
	close_sockets(s);
	r = cfg->pidfile[0] ? rt_pidfile_write(cfg->pidfile) : 0;
	if (!r)
		r = kdc_keeper_new(cfg, sock, sfd, net, &k);
	if (!r && user)
		r = rt_priv_drop(user);
	else if (!r && geteuid() == 0)
		rt_warn("running as root: no user '%s' to drop to (set 'user')", KDC_DEFAULT_USER);
	if (!r)
		r = write_ports(cfg, s);
	if (r) {
		rt_err("start-up failed: %s", strerror(-r));
		kill(net, SIGKILL);
		kdc_keeper_free(k);
		rt_pidfile_remove();
		return 1;
	}
	r = kdc_keeper_run(k);
	kdc_keeper_free(k);
	rt_pidfile_remove();
	return r;
}

int kdc_daemon_main(const struct kdc_cfg *cfg)
{
	struct sockets s = { .udp = -1, .tcp = -1, .metrics = -1 };
	const char *user = run_as(cfg);
	int sv[2], sfd, r;
	pid_t pid;

	if (user && !getpwnam(user)) {
		rt_err("user '%s': no such user", user);
		return 1;
	}
	sfd = rt_daemon_signals();
	if (sfd < 0 || bind_kdc(cfg, &s) || channel(sv)) {
		close_sockets(&s);
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		rt_err("fork: %m");
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(net_main(cfg, &s, sv[1], sfd, user));
	}
	close(sv[1]);
	r = keeper_main(cfg, &s, sv[0], sfd, pid, user);
	close(sv[0]);
	close(sfd);
	return r;
}
