/* SPDX-License-Identifier: MIT */
/*
 * Privilege separation in the OpenSSH manner, as iomt-kdc and iomt-ppd use
 * it: the sockets are bound and the process forks before anything secret is
 * read, so the network process (the child) never had a key in its memory.
 *
 *   user = rt_privsep_user(cfg->user, "iomt");      (NULL unless root)
 *   bind the sockets; rt_privsep_channel(sv, SOCKBUF);
 *   pid = rt_privsep_fork("iomt-kdc-net", user, net_run, &arg);
 *   parent (keeper): close(sv[1]), close the sockets, read secrets, drop.
 *
 * The child logs as its own program, drops to user (else "nobody": it never
 * stays root), asks for SIGKILL when the parent dies, and runs fn.
 */
#ifndef IOMT_RT_PRIVSEP_H
#define IOMT_RT_PRIVSEP_H

#include <sys/types.h>

/* A SOCK_SEQPACKET pair whose buffers hold bufsize bytes (one message each
 * way): 0 or -errno, logged. */
int rt_privsep_channel(int sv[2], int bufsize);

/* The user to run as when root: configured if set, else fallback if that
 * user exists, else NULL. NULL when not root. */
const char *rt_privsep_user(const char *configured, const char *fallback);

/* Not root: 0. Else drops to user, or to "nobody" when user is NULL
 * (-ENOENT without one). */
int rt_privsep_drop_net(const char *user);

/* Forks. The child: rt_log_init(log_name), rt_privsep_drop_net(user),
 * PR_SET_PDEATHSIG SIGKILL, then _exit(fn(arg)) (1 if a step failed or the
 * parent is already gone). The parent gets the child's pid, or -errno
 * (logged "fork: ..."). */
pid_t rt_privsep_fork(const char *log_name, const char *user, int (*fn)(void *arg), void *arg);

#endif
