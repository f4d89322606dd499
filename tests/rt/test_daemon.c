/* SPDX-License-Identifier: MIT */
/* rt_daemon: shared command line, signals as a descriptor, pidfile. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "harness.h"
#include "lib/rt_daemon.h"
#include "lib/rt_log.h"
#include "rt_test.h"

struct cfg {
	int port;
	int verbose;
	int level;
	uint64_t timeout;
	char name[32];
};

static const struct rt_conf_key keys[] = {
	{ "port", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .min = 1, .max = 65535,
	  .def = "7000", .help = "TCP port" },
	{ "verbose", RT_CONF_BOOL, RT_CONF_AT(struct cfg, verbose), .def = "no",
	  .help = "chatty" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct cfg, level), .def = "info",
	  .help = "log verbosity" },
	{ "timeout", RT_CONF_DURATION, RT_CONF_AT(struct cfg, timeout), .def = "30s",
	  .help = "idle timeout" },
	{ "name", RT_CONF_STRING, RT_CONF_AT(struct cfg, name), .def = "kdc", .help = "name" },
	{ .name = NULL },
};

FIXTURE(args) {
	char dir[64];
	char conf[128];
	char err[512];
	char want[512];
	char *out;
	size_t outlen;
	struct rt_daemon_info info;
	struct cfg cfg;
};

FIXTURE_SETUP(args)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "daemon"), 0);
	snprintf(self->conf, sizeof(self->conf), "%s/kdc.conf", self->dir);
	self->info = (struct rt_daemon_info){
		.prog = "iomt-test", .version = "1.2.3", .summary = "A test daemon.",
		.default_config = NULL, .keys = keys,
		.out = open_memstream(&self->out, &self->outlen),
	};
	ASSERT_NONNULL(self->info.out);
}

FIXTURE_TEARDOWN(args)
{
	if (self->info.out)
		fclose(self->info.out);
	free(self->out);
	rt_test_rmtree(self->dir);
}

/* Runs rt_daemon_args over a NULL-terminated list of arguments. */
static int run(FIXTURE_DATA(args) *self, ...)
{
	static char prog[] = "iomt-test";
	char *argv[32] = { prog };
	int argc = 1;
	va_list ap;

	va_start(ap, self);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	self->err[0] = 0;
	return rt_daemon_args(&self->info, &self->cfg, argc, argv, self->err, sizeof(self->err));
}

static const char *output(FIXTURE_DATA(args) *self)
{
	fflush(self->info.out);
	return self->out;
}

#define EXPECT_ARGS_ERR(msg, ...)                                      \
	do {                                                           \
		ASSERT_EQ(run(self, __VA_ARGS__, NULL), -EINVAL);      \
		ASSERT_STREQ(self->err, msg);                          \
	} while (0)

TEST_F(args, no_arguments_means_defaults)
{
	ASSERT_EQ(run(self, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7000);
	ASSERT_EQ(self->cfg.timeout, 30000);
	ASSERT_STREQ(self->cfg.name, "kdc");
	ASSERT_EQ(run(self, "--", NULL), RT_DAEMON_RUN);
}

TEST_F(args, config_file_in_every_spelling)
{
	char joined[160], eq[160];

	ASSERT_EQ(rt_test_write(self->conf, "port 7001\n", 10), 0);
	ASSERT_EQ(run(self, "-c", self->conf, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7001);
	snprintf(joined, sizeof(joined), "-c%s", self->conf);
	ASSERT_EQ(run(self, joined, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7001);
	ASSERT_EQ(run(self, "--config", self->conf, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7001);
	snprintf(eq, sizeof(eq), "--config=%s", self->conf);
	ASSERT_EQ(run(self, eq, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7001);
}

TEST_F(args, default_config_is_used_when_present)
{
	char other[160];

	self->info.default_config = self->conf;
	ASSERT_EQ(run(self, NULL), RT_DAEMON_RUN);	/* absent: defaults */
	ASSERT_EQ(self->cfg.port, 7000);
	ASSERT_EQ(rt_test_write(self->conf, "port 7002\n", 10), 0);
	ASSERT_EQ(run(self, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7002);
	snprintf(other, sizeof(other), "%s/other.conf", self->dir);
	ASSERT_EQ(rt_test_write(other, "port 7003\n", 10), 0);
	ASSERT_EQ(run(self, "-c", other, NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7003);
}

TEST_F(args, flags_win_over_the_file_wherever_they_are)
{
	ASSERT_EQ(rt_test_write(self->conf, "port 7001\nverbose no\n", 21), 0);
	ASSERT_EQ(run(self, "--port", "7100", "-c", self->conf, "--set", "name=gw 1",
		      "--verbose", "--log-level=debug", "--set=timeout=5m", NULL), RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.port, 7100);
	ASSERT_STREQ(self->cfg.name, "gw 1");
	ASSERT_EQ(self->cfg.verbose, 1);
	ASSERT_EQ(self->cfg.level, RT_LOG_DEBUG);
	ASSERT_EQ(self->cfg.timeout, 300000);
	/* Later flags win over earlier ones. */
	ASSERT_EQ(run(self, "--verbose", "--verbose=no", "--port=1", "--set", "port=2", NULL),
		  RT_DAEMON_RUN);
	ASSERT_EQ(self->cfg.verbose, 0);
	ASSERT_EQ(self->cfg.port, 2);
}

TEST_F(args, every_error_says_what_and_where)
{
	EXPECT_ARGS_ERR("unknown option '--prot' (try --help)", "--prot", "1");
	EXPECT_ARGS_ERR("unknown option '--prot' (try --help)", "--prot=1");
	EXPECT_ARGS_ERR("unknown option '-x' (try --help)", "-x");
	EXPECT_ARGS_ERR("unknown option '-hV' (try --help)", "-hV");
	EXPECT_ARGS_ERR("option '--port' needs a value", "--port");
	EXPECT_ARGS_ERR("option '-c' needs a value", "-c");
	EXPECT_ARGS_ERR("option '--set' needs KEY=VALUE, not 'port'", "--set", "port");
	EXPECT_ARGS_ERR("command line: unknown key 'prot'", "--set", "prot=1");
	EXPECT_ARGS_ERR("command line: port: 70000 is out of range 1..65535", "--port", "70000");
	EXPECT_ARGS_ERR("command line: port: 70000 is out of range 1..65535", "--set",
			"port=70000");
	EXPECT_ARGS_ERR("command line: verbose: 'maybe' is not a boolean (yes or no)",
			"--verbose=maybe");
	EXPECT_ARGS_ERR("unexpected argument 'extra' (try --help)", "extra");
	EXPECT_ARGS_ERR("unexpected argument '-v' (try --help)", "--", "-v");
	EXPECT_ARGS_ERR("option '--help' takes no value", "--help=1");
}

TEST_F(args, file_errors_keep_their_location)
{
	char missing[160];

	ASSERT_EQ(rt_test_write(self->conf, "port 7001\nprot 7002\n", 20), 0);
	snprintf(self->want, sizeof(self->want), "%s:2: unknown key 'prot'", self->conf);
	EXPECT_ARGS_ERR(self->want, "-c", self->conf);
	snprintf(missing, sizeof(missing), "%s/missing.conf", self->dir);
	ASSERT_EQ(run(self, "-c", missing, NULL), -ENOENT);
	snprintf(self->want, sizeof(self->want), "%s: No such file or directory", missing);
	ASSERT_STREQ(self->err, self->want);
}

TEST_F(args, help_and_version)
{
	const char *out;

	ASSERT_EQ(run(self, "--help", NULL), RT_DAEMON_EXIT);
	out = output(self);
	ASSERT_EQ(strncmp(out, "Usage: iomt-test [options]\nA test daemon.\n\nOptions:\n", 51), 0);
	ASSERT_NONNULL(strstr(out, "  -c, --config FILE  configuration file\n"));
	ASSERT_NONNULL(strstr(out, "\nConfiguration keys:\n  port       int 1..65535  TCP port "
				   "(default 7000)\n"));
	ASSERT_EQ(run(self, "-h", NULL), RT_DAEMON_EXIT);
	ASSERT_EQ(run(self, "-V", NULL), RT_DAEMON_EXIT);
	ASSERT_NONNULL(strstr(output(self), "\niomt-test 1.2.3\n"));
	ASSERT_EQ(run(self, "--version", NULL), RT_DAEMON_EXIT);
}

TEST_F(args, check_prints_the_effective_config)
{
	ASSERT_EQ(run(self, "--check", "--port", "7005", "--set", "name=a b", NULL),
		  RT_DAEMON_EXIT);
	ASSERT_STREQ(output(self), "# iomt-test: configuration OK\n"
				   "port 7005\nverbose no\nlog_level info\ntimeout 30s\n"
				   "name \"a b\"\n");
	ASSERT_EQ(run(self, "-t", "--port", "0", NULL), -EINVAL);
}

/* ---- signals ---- */

static unsigned wait_signals(int sfd)
{
	struct pollfd p = { .fd = sfd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return 0;
	return rt_daemon_signal_read(sfd);
}

TEST(signals_arrive_on_the_descriptor)
{
	int sfd;
	pid_t pid;

	rt_log_set_file("/dev/null");
	sfd = rt_daemon_signals();
	ASSERT_GE(sfd, 0);
	ASSERT_EQ(rt_daemon_signal_read(sfd), 0);
	raise(SIGTERM);
	ASSERT_EQ(wait_signals(sfd), RT_SIG_STOP);
	raise(SIGHUP);
	ASSERT_EQ(wait_signals(sfd), RT_SIG_RELOAD);
	raise(SIGHUP);
	raise(SIGINT);
	ASSERT_EQ(wait_signals(sfd), RT_SIG_STOP | RT_SIG_RELOAD);
	/* From another process, as systemd would send it. */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(kill(getppid(), SIGINT) ? 1 : 0);
	waitpid(pid, NULL, 0);
	ASSERT_EQ(wait_signals(sfd), RT_SIG_STOP);
	ASSERT_EQ(rt_daemon_signal_event(SIGUSR1), 0);
	close(sfd);
}

TEST(sigpipe_is_an_error_not_death)
{
	int p[2], sfd = rt_daemon_signals();

	ASSERT_GE(sfd, 0);
	ASSERT_EQ(pipe(p), 0);
	close(p[0]);
	ASSERT_EQ(write(p[1], "x", 1), -1);
	ASSERT_EQ(errno, EPIPE);
	close(p[1]);
}

TEST(restore_for_children)
{
	sigset_t now;
	int sfd = rt_daemon_signals();

	ASSERT_GE(sfd, 0);
	ASSERT_EQ(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	ASSERT_TRUE(sigismember(&now, SIGTERM));
	rt_daemon_signals_restore();
	ASSERT_EQ(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	ASSERT_FALSE(sigismember(&now, SIGTERM));
	ASSERT_FALSE(sigismember(&now, SIGHUP));
}

/* ---- pidfile ---- */

FIXTURE(pidfile) {
	char dir[64];
	char path[128];
	char log[128];
	char buf[4096];
};

FIXTURE_SETUP(pidfile)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "pid"), 0);
	snprintf(self->path, sizeof(self->path), "%s/iomt-test.pid", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/log", self->dir);
	ASSERT_EQ(rt_log_set_file(self->log), 0);
}

FIXTURE_TEARDOWN(pidfile)
{
	rt_pidfile_remove();
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

TEST_F(pidfile, written_and_removed)
{
	char want[32];

	ASSERT_EQ(rt_pidfile_write(self->path), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ASSERT_GT(rt_test_read(self->path, self->buf, sizeof(self->buf)), 0);
	ASSERT_STREQ(self->buf, want);
	ASSERT_EQ(rt_pidfile_write(self->path), -EINVAL);	/* one per process */
	rt_pidfile_remove();
	ASSERT_EQ(access(self->path, F_OK), -1);
	ASSERT_EQ(errno, ENOENT);
	rt_pidfile_remove();	/* harmless twice */
}

/*
 * A child plays the running instance: it takes the pidfile, says so, and
 * holds it until we close its pipe; then it dies without cleaning up, as a
 * crashed daemon would.
 */
static pid_t start_holder(const char *path, int *hold)
{
	int ready[2], wait_[2];
	pid_t pid;
	char c = 0;

	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(wait_), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(wait_[1]);
		if (rt_pidfile_write(path) == 0 && write(ready[1], "y", 1) == 1)
			(void)!read(wait_[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(wait_[0]);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*hold = wait_[1];
	return pid;
}

TEST_F(pidfile, second_instance_is_refused_stale_one_taken_over)
{
	char want[64];
	pid_t holder;
	int hold;

	holder = start_holder(self->path, &hold);
	ASSERT_EQ(rt_pidfile_write(self->path), -EBUSY);
	ASSERT_GT(rt_test_read(self->log, self->buf, sizeof(self->buf)), 0);
	snprintf(want, sizeof(want), "already running as pid %ld\n", (long)holder);
	ASSERT_NONNULL(strstr(self->buf, want));

	close(hold);
	ASSERT_EQ(waitpid(holder, NULL, 0), holder);
	ASSERT_EQ(access(self->path, F_OK), 0);	/* left behind */
	ASSERT_EQ(rt_pidfile_write(self->path), 0);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ASSERT_GT(rt_test_read(self->path, self->buf, sizeof(self->buf)), 0);
	ASSERT_STREQ(self->buf, want);
}

TEST_F(pidfile, unwritable_place)
{
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/missing/x.pid", self->dir);
	ASSERT_EQ(rt_pidfile_write(bad), -ENOENT);
}
