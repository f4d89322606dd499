/* SPDX-License-Identifier: MIT */
/* rt_privsep: the channel, the user to run as, and the forked network
 * process (dropped, bound to its parent's life). */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_privsep.h"

TEST(privsep_channel_is_seqpacket_with_big_buffers)
{
	int sv[2], type, size;
	socklen_t len = sizeof(type);
	char msg[3000] = { 1 }, got[4000];

	ASSERT_EQ(rt_privsep_channel(sv, 1 << 20), 0);
	ASSERT_EQ(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len), 0);
	EXPECT_EQ(type, SOCK_SEQPACKET);
	len = sizeof(size);
	ASSERT_EQ(getsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, &len), 0);
	EXPECT_GE(size, 1 << 16);
	/* One message each way keeps its bounds. */
	ASSERT_EQ(send(sv[0], msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	EXPECT_EQ(recv(sv[1], got, sizeof(got), 0), (ssize_t)sizeof(msg));
	close(sv[0]);
	close(sv[1]);
}

TEST(privsep_user_configured_fallback_none)
{
	if (geteuid() != 0) {
		EXPECT_NULL(rt_privsep_user("alice", "iomt"));
		EXPECT_EQ(rt_privsep_drop_net(NULL), 0);
		return;
	}
	EXPECT_STREQ(rt_privsep_user("alice", "iomt"), "alice");
	EXPECT_STREQ(rt_privsep_user("", "root"), "root");
	EXPECT_NULL(rt_privsep_user(NULL, "no-such-user-iomt-test"));
	EXPECT_NULL(rt_privsep_user("", NULL));
}

/* In the network process: who we are, and our death signal. */
static int report(void *arg)
{
	int *sv = arg, sig = 0;
	uint32_t out[2];

	prctl(PR_GET_PDEATHSIG, &sig);
	out[0] = (uint32_t)geteuid();
	out[1] = (uint32_t)sig;
	return send(sv[1], out, sizeof(out), 0) == (ssize_t)sizeof(out) ? 7 : 1;
}

TEST(privsep_fork_drops_and_sets_pdeathsig)
{
	int sv[2], status = 0;
	uint32_t in[2] = { 0, 0 };
	struct passwd *nobody = getpwnam("nobody");
	pid_t pid;

	ASSERT_EQ(rt_privsep_channel(sv, 4096), 0);
	pid = rt_privsep_fork("test-net", NULL, report, sv);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(recv(sv[0], in, sizeof(in), 0), (ssize_t)sizeof(in));
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 7);
	EXPECT_EQ(in[1], (uint32_t)SIGKILL);
	/* As root the network process never stays root. */
	if (geteuid() == 0 && nobody)
		EXPECT_EQ(in[0], (uint32_t)nobody->pw_uid);
	else
		EXPECT_EQ(in[0], (uint32_t)geteuid());
	close(sv[0]);
	close(sv[1]);
}

static int never(void *arg)
{
	(void)arg;
	return 9;
}

TEST(privsep_fork_unknown_user_exits_1)
{
	int status = 0;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "not root: no drop to try");
	pid = rt_privsep_fork("test-net", "no-such-user-iomt-test", never, NULL);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 1);
}
