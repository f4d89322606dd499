/* SPDX-License-Identifier: MIT */
/* Bind, fork before secrets, drop in the child (see rt_privsep.h). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_priv.h"
#include "rt_privsep.h"
#include "rt_sock.h"

int rt_privsep_channel(int sv[2], int bufsize)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rt_err("socketpair: %m");
		return -errno;
	}
	for (int i = 0; i < 2; i++) {
		rt_sock_sndbuf(sv[i], bufsize);
		rt_sock_rcvbuf(sv[i], bufsize);
	}
	return 0;
}

const char *rt_privsep_user(const char *configured, const char *fallback)
{
	if (geteuid() != 0)
		return NULL;
	if (configured && configured[0])
		return configured;
	if (fallback && getpwnam(fallback))
		return fallback;
	return NULL;
}

int rt_privsep_drop_net(const char *user)
{
	if (geteuid() != 0)
		return 0;
	if (user)
		return rt_priv_drop(user);
	/* No daemon user: the network half still must not stay root. */
	return getpwnam("nobody") ? rt_priv_drop("nobody") : -ENOENT;
}

static int child_main(const char *log_name, const char *user, int (*fn)(void *arg), void *arg,
		      pid_t parent)
{
	int r;

	rt_log_init(log_name);
	r = rt_privsep_drop_net(user);
	if (r) {
		rt_err("cannot drop privileges: %s", strerror(-r));
		return 1;
	}
	/* Set after the drop: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return 1;
	return fn(arg);
}

pid_t rt_privsep_fork(const char *log_name, const char *user, int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		rt_err("fork: %m");
		return -errno;
	}
	if (pid == 0)
		_exit(child_main(log_name, user, fn, arg, parent));
	return pid;
}
