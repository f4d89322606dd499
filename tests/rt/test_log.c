/* SPDX-License-Identifier: MIT */
/* rt_log: line format, levels, escaping, JSON lines, files, threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "rt_test.h"

FIXTURE(log) {
	char dir[64];
	char path[128];
	char buf[1 << 16];
};

FIXTURE_SETUP(log)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "log"), 0);
	snprintf(self->path, sizeof(self->path), "%s/iomt.log", self->dir);
	rt_log_init("/usr/sbin/iomt-test");
	ASSERT_EQ(rt_log_set_file(self->path), 0);
}

FIXTURE_TEARDOWN(log)
{
	rt_log_set_file(NULL);
	rt_test_rmtree(self->dir);
}

/* "2025-01-31T12:00:00.123Z" exactly. */
static int is_timestamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	return 1;
}

/* The log file, with the checked timestamp of every line cut off. */
static const char *read_log(FIXTURE_DATA(log) *self)
{
	static char out[1 << 16];
	char *line, *save = NULL, *o = out;

	ASSERT_GE(rt_test_read(self->path, self->buf, sizeof(self->buf)), 0);
	*o = 0;
	for (line = strtok_r(self->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ASSERT_TRUE(is_timestamp(line));
		o += sprintf(o, "%s\n", line + 24);
	}
	return out;
}

TEST_F(log, text_line_format)
{
	rt_warn("ticket for unknown device %d", 7);
	rt_err("%s", "bad");
	ASSERT_STREQ(read_log(self), " warn iomt-test: ticket for unknown device 7\n"
				     " error iomt-test: bad\n");
}

TEST_F(log, debug_lines_name_function_and_line)
{
	char want[128];
	int line;

	rt_log_set_level(RT_LOG_DEBUG);
	rt_dbg("lifetime %u s", 3600u); line = __LINE__;
	snprintf(want, sizeof(want), " debug iomt-test: %s:%d: lifetime 3600 s\n", __func__, line);
	ASSERT_STREQ(read_log(self), want);
}

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

TEST_F(log, levels_filter_without_evaluating)
{
	ASSERT_EQ(rt_log_get_level(), RT_LOG_INFO);
	rt_dbg("hidden %d", side_effect());
	ASSERT_EQ(evaluated, 0);
	rt_info("shown %d", side_effect());
	rt_log_set_level(RT_LOG_ERR);
	rt_warn("hidden");
	rt_err("shown too");
	ASSERT_STREQ(read_log(self), " info iomt-test: shown 1\n error iomt-test: shown too\n");
}

TEST(level_names)
{
	enum rt_log_level l;

	ASSERT_EQ(rt_log_level_parse("debug", &l), 0);
	ASSERT_EQ(l, RT_LOG_DEBUG);
	ASSERT_EQ(rt_log_level_parse("WARNING", &l), 0);
	ASSERT_EQ(l, RT_LOG_WARN);
	ASSERT_EQ(rt_log_level_parse("error", &l), 0);
	ASSERT_EQ(l, RT_LOG_ERR);
	ASSERT_EQ(rt_log_level_parse("loud", &l), -EINVAL);
	ASSERT_STREQ(rt_log_level_name(RT_LOG_INFO), "info");
}

TEST_F(log, control_characters_cannot_forge_lines)
{
	rt_err("user '%s'", "x\n2025-01-01T00:00:00.000Z info iomt-test: fake\x1b[0m");
	ASSERT_STREQ(read_log(self), " error iomt-test: user 'x\\x0a2025-01-01T00:00:00.000Z "
				     "info iomt-test: fake\\x1b[0m'\n");
}

TEST_F(log, json_lines)
{
	char want[512];
	int line;

	rt_log_set_json(1);
	rt_err("say \"hi\"\n\xff"); line = __LINE__;
	ASSERT_GE(rt_test_read(self->path, self->buf, sizeof(self->buf)), 0);
	ASSERT_EQ(strncmp(self->buf, "{\"ts\":\"", 7), 0);
	ASSERT_TRUE(is_timestamp(self->buf + 7));
	snprintf(want, sizeof(want),
		 "\",\"level\":\"error\",\"prog\":\"iomt-test\",\"func\":\"%s\",\"line\":%d,"
		 "\"msg\":\"say \\\"hi\\\"\\n\\ufffd\"}\n", __func__, line);
	ASSERT_STREQ(self->buf + 31, want);
}

TEST_F(log, long_messages_are_cut_on_one_line)
{
	char *big = malloc(3 * RT_LOG_MSG_MAX);
	const char *out;

	ASSERT_NONNULL(big);
	memset(big, 'x', 3 * RT_LOG_MSG_MAX - 1);
	big[3 * RT_LOG_MSG_MAX - 1] = 0;
	rt_info("%s", big);
	out = read_log(self);
	ASSERT_EQ(strlen(out), strlen(" info iomt-test: ") + RT_LOG_MSG_MAX - 1 + 1);
	ASSERT_EQ(strcmp(out + strlen(out) - 5, "x...\n"), 0);
	free(big);
}

TEST_F(log, errno_is_preserved)
{
	errno = EPIPE;
	rt_err("send failed: %m");
	ASSERT_EQ(errno, EPIPE);
	ASSERT_STREQ(read_log(self), " error iomt-test: send failed: Broken pipe\n");
}

TEST_F(log, default_is_stderr)
{
	int saved = dup(2), fd;

	rt_log_set_file(NULL);
	fd = open(self->path, O_WRONLY | O_TRUNC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(dup2(fd, 2), 2);
	rt_err("to stderr");
	dup2(saved, 2);
	close(fd);
	close(saved);
	ASSERT_STREQ(read_log(self), " error iomt-test: to stderr\n");
}

TEST_F(log, bad_file_keeps_old_destination)
{
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/x.log", self->dir);
	ASSERT_EQ(rt_log_set_file(bad), -ENOENT);
	rt_err("still here");
	ASSERT_STREQ(read_log(self), " error iomt-test: still here\n");
}

TEST_F(log, reopen_after_rotation)
{
	char rotated[160];

	rt_err("before");
	snprintf(rotated, sizeof(rotated), "%s.1", self->path);
	ASSERT_EQ(rename(self->path, rotated), 0);
	rt_err("still old file");
	ASSERT_EQ(rt_log_reopen(), 0);
	rt_err("after");
	ASSERT_STREQ(read_log(self), " error iomt-test: after\n");
	ASSERT_GE(rt_test_read(rotated, self->buf, sizeof(self->buf)), 0);
	ASSERT_NONNULL(strstr(self->buf, "before\n"));
	ASSERT_NONNULL(strstr(self->buf, "still old file\n"));
}

enum { THREADS = 8, LINES = 2000 };

static void *chatter(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < LINES; i++)
		rt_info("thread %ld line %d %s", t, i,
			"................................................................");
	return NULL;
}

TEST_F(log, threads_never_interleave)
{
	static char all[THREADS * LINES * 128];
	pthread_t th[THREADS];
	int next[THREADS] = { 0 }, n = 0, t, i;
	char *line, *save = NULL;

	for (t = 0; t < THREADS; t++)
		ASSERT_EQ(pthread_create(&th[t], NULL, chatter, (void *)(long)t), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	ASSERT_GT(rt_test_read(self->path, all, sizeof(all)), 0);
	for (line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		ASSERT_TRUE(is_timestamp(line));
		ASSERT_EQ(sscanf(line + 24, " info iomt-test: thread %d line %d", &t, &i), 2);
		ASSERT_LT(t, THREADS);
		/* Each thread's lines are whole and in its own order. */
		ASSERT_EQ(i, next[t]);
		next[t]++;
		ASSERT_EQ(strlen(line), 24 + strlen(" info iomt-test: thread 0 line ") +
						(i >= 1000 ? 4 : i >= 100 ? 3 : i >= 10 ? 2 : 1) + 65);
	}
	ASSERT_EQ(n, THREADS * LINES);
}
