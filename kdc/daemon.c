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
#include "lib/rt_privsep.h"
#include "lib/rt_sock.h"
#include "net.h"

enum {
	LISTEN_BACKLOG = 1024,
	UDP_RCVBUF = 8 << 20,
};

struct sockets {
	int udp, tcp, metrics;
	uint16_t port, metrics_port;
};

/* TCP and UDP on one port (the one asked for, or one the OS picks for both). */
static int bind_kdc(const struct kdc_cfg *cfg, struct sockets *s)
{
	char name[80];
	int r = rt_sock_bind_pair(&cfg->listen, LISTEN_BACKLOG, &s->tcp, &s->udp, name,
				  sizeof(name));

	if (r)
		return r;
	/* Bursts of requests wait in the kernel while a batch is decided. */
	rt_sock_rcvbuf(s->udp, UDP_RCVBUF);
	s->port = rt_sock_port(s->tcp);
	rt_info("listening on %s (UDP and TCP)", name);
	if (!cfg->metrics)
		return 0;
	r = rt_sock_open(SOCK_STREAM, &cfg->metrics_listen, LISTEN_BACKLOG, "metrics",
			 &s->metrics);
	if (r)
		return r;
	s->metrics_port = rt_sock_port(s->metrics);
	return 0;
}

static int write_ports(const struct kdc_cfg *cfg, const struct sockets *s)
{
	char text[96];

	if (!cfg->port_file[0])
		return 0;
	snprintf(text, sizeof(text), "udp=%u\ntcp=%u\nmetrics=%u\n", s->port, s->port,
		 s->metrics_port);
	return rt_sock_write_ports(cfg->port_file, text);
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

struct net_arg {
	const struct kdc_cfg *cfg;
	struct sockets *s;
	int keep, sock, sfd;    /* keep: the keeper's end, closed at once */
};

/* The child: sockets only, no key ever mapped (the fork comes first). */
static int net_main(void *arg)
{
	struct net_arg *a = arg;

	close(a->keep);
	return kdc_net_run(a->cfg, a->sock, a->sfd, a->s->udp, a->s->tcp, a->s->metrics);
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
	/* Both halves run as the configured user, else "iomt" if it exists,
	 * else none (the keeper keeps root, with a warning; the network
	 * process never does). */
	const char *user = rt_privsep_user(cfg->user, KDC_DEFAULT_USER);
	struct net_arg arg = { .cfg = cfg, .s = &s };
	int sv[2], sfd, r;
	pid_t pid;

	if (user && !getpwnam(user)) {
		rt_err("user '%s': no such user", user);
		return 1;
	}
	sfd = rt_daemon_signals();
	if (sfd < 0 || bind_kdc(cfg, &s) || rt_privsep_channel(sv, KDC_IPC_SOCKBUF)) {
		close_sockets(&s);
		return 1;
	}
	arg.keep = sv[0];
	arg.sock = sv[1];
	arg.sfd = sfd;
	pid = rt_privsep_fork("iomt-kdc-net", user, net_main, &arg);
	if (pid < 0)
		return 1;
	close(sv[1]);
	r = keeper_main(cfg, &s, sv[0], sfd, pid, user);
	close(sv[0]);
	close(sfd);
	return r;
}
