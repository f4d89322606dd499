/* SPDX-License-Identifier: MIT */
/* rt_priv: the drop to an unprivileged user, checked from inside (forked). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_priv.h"

enum { NOBODY = 65534 };

/*
 * Runs fn in a forked child whose stderr (the log) goes into log[]; returns
 * its exit status. The child never returns into the harness, so privileges
 * it drops are gone with it.
 */
static int in_child(int (*fn)(void), char *log, size_t len)
{
	int p[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		_exit(fn());
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], log + got, len - 1 - got)) > 0)
		got += (size_t)n;
	log[got] = 0;
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Exit codes name the first check that failed. */
static int drop_and_check(void)
{
	uid_t r, e, s;
	gid_t groups[4];

	if (rt_priv_drop("nobody"))
		return 10;
	if (getresuid(&r, &e, &s) || r != NOBODY || e != NOBODY || s != NOBODY)
		return 11;
	if (getgid() != NOBODY || getegid() != NOBODY)
		return 12;
	if (getgroups(4, groups) != 1 || groups[0] != NOBODY)
		return 13;
	if (setuid(0) != -1 || errno != EPERM)
		return 14;
	if (setgid(0) != -1 || setgroups(0, NULL) != -1)
		return 15;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 16;
	if (prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
		return 17;
	/* Nor is root's file still writable through the old credentials. */
	if (access("/etc/shadow", R_OK) == 0)
		return 18;
	return 0;
}

TEST(root_drops_to_nobody_for_good)
{
	char log[1024];

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_EQ(in_child(drop_and_check, log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr(log, "running as nobody (uid 65534 gid 65534), no capabilities"));
}

static int unknown_user(void)
{
	return rt_priv_drop("no-such-user-iomt") == -ENOENT && getuid() == 0 ? 0 : 1;
}

static int root_target(void)
{
	return rt_priv_drop("root") == -EINVAL && rt_priv_drop(NULL) == -EINVAL &&
	       rt_priv_drop("") == -EINVAL ? 0 : 1;
}

TEST(bad_users_are_refused)
{
	char log[1024];

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_EQ(in_child(unknown_user, log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr(log, "cannot drop privileges: no user 'no-such-user-iomt'"));
	ASSERT_EQ(in_child(root_target, log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr(log, "cannot drop privileges to 'root': that is root"));
}

static int already_unprivileged(void)
{
	if (geteuid() == 0 && setresuid(NOBODY, NOBODY, NOBODY))
		return 2;
	if (rt_priv_drop("nobody"))
		return 3;
	return getuid() != 0 ? 0 : 4;
}

TEST(non_root_is_a_logged_no_op)
{
	char log[1024];

	ASSERT_EQ(in_child(already_unprivileged, log, sizeof(log)), 0);
	ASSERT_NONNULL(strstr(log, " info "));
	ASSERT_NONNULL(strstr(log, "not running as root (uid "));
	ASSERT_NONNULL(strstr(log, "): no privileges to drop\n"));
}
