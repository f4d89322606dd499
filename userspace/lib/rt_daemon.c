/* SPDX-License-Identifier: MIT */
/* Signals as a file descriptor, and the pidfile (see rt_daemon.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "rt_daemon.h"
#include "rt_log.h"

static sigset_t sig_set, sig_old;
static int pid_fd = -1;
static char pid_path[PATH_MAX];

unsigned rt_daemon_signal_event(int signo)
{
	switch (signo) {
	case SIGTERM:
	case SIGINT:
		return RT_SIG_STOP;
	case SIGHUP:
		return RT_SIG_RELOAD;
	default:
		return 0;
	}
}

int rt_daemon_signals(void)
{
	int fd, r;

	sigemptyset(&sig_set);
	sigaddset(&sig_set, SIGTERM);
	sigaddset(&sig_set, SIGINT);
	sigaddset(&sig_set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked, the signals queue for the signalfd instead of interrupting. */
	r = pthread_sigmask(SIG_BLOCK, &sig_set, &sig_old);
	if (r) {
		rt_err("cannot block signals: %s", strerror(r));
		return -r;
	}
	fd = signalfd(-1, &sig_set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		rt_err("signalfd: %s", strerror(errno));
		return -errno;
	}
	return fd;
}

unsigned rt_daemon_signal_read(int sfd)
{
	struct signalfd_siginfo si;
	unsigned ev = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		ev |= rt_daemon_signal_event((int)si.ssi_signo);
		rt_info("signal %s from pid %u", strsignal((int)si.ssi_signo), si.ssi_pid);
	}
	return ev;
}

void rt_daemon_signals_restore(void)
{
	signal(SIGPIPE, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, &sig_old, NULL);
}

/* The pid in a pidfile someone else holds, for the message. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int lock_pidfile(const char *path, int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		rt_err("%s: already running as pid %ld", path, holder_pid(fd));
		return -EBUSY;
	}
	rt_err("%s: cannot lock: %s", path, strerror(errno));
	return -errno;
}

int rt_pidfile_write(const char *path)
{
	char buf[24];
	int fd, r, n;

	if (pid_fd >= 0 || strlen(path) >= sizeof(pid_path))
		return -EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		rt_err("%s: %s", path, strerror(errno));
		return -errno;
	}
	r = lock_pidfile(path, fd);
	if (!r) {
		n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
			r = errno ? -errno : -EIO;
			rt_err("%s: cannot write: %s", path, strerror(-r));
		}
	}
	if (r) {
		close(fd);
		return r;
	}
	pid_fd = fd;
	strcpy(pid_path, path);
	return 0;
}

void rt_pidfile_remove(void)
{
	if (pid_fd < 0)
		return;
	if (unlink(pid_path) < 0)
		rt_warn("%s: cannot remove: %s", pid_path, strerror(errno));
	close(pid_fd);
	pid_fd = -1;
}
