/* SPDX-License-Identifier: MIT */
/* rt_cli and rt_opts: subcommand tables, a daemon's command line as main
 * sees it, a tool's "--name VALUE" options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "lib/rt_cli.h"
#include "lib/rt_log.h"
#include "lib/rt_opts.h"
#include "lib/rt_sock.h"

/* argv from a line of space-separated words (at most 15, each in its own
 * copy: the harness builds with -Wwrite-strings). */
struct args {
	char buf[256];
	char *v[16];
	int c;
};

static char **split(struct args *a, const char *line)
{
	char *save = NULL;

	snprintf(a->buf, sizeof(a->buf), "%s", line);
	a->c = 0;
	for (char *w = strtok_r(a->buf, " ", &save); w && a->c < 15; w = strtok_r(NULL, " ", &save))
		a->v[a->c++] = w;
	a->v[a->c] = NULL;
	return a->v;
}

static int last_argc;
static const char *last_arg0;

static int cmd_a(int argc, char **argv)
{
	last_argc = argc;
	last_arg0 = argv[0];
	return 3;
}

static const struct rt_cli_cmd cmds[] = {
	{ "alpha", cmd_a, "alpha" },
	{ NULL },
};

TEST(cli_run_finds_command_and_shifts)
{
	struct args argv_a;
	char **argv = split(&argv_a, "prog alpha --x");
	struct args other_a;
	char **other = split(&other_a, "prog beta");

	EXPECT_EQ(rt_cli_run(cmds, 3, argv), 3);
	EXPECT_EQ(last_argc, 2);
	EXPECT_STREQ(last_arg0, "alpha");
	EXPECT_EQ(rt_cli_run(cmds, 2, other), RT_CLI_NONE);
	EXPECT_EQ(rt_cli_run(cmds, 1, argv), RT_CLI_NONE);
}

static int fallback(int argc, char **argv)
{
	(void)argv;
	return 40 + argc;
}

TEST(cli_main_falls_back_to_the_daemon)
{
	struct args argv_a;
	char **argv = split(&argv_a, "prog alpha");
	struct args d_a;
	char **d = split(&d_a, "prog --port 1");

	EXPECT_EQ(rt_cli_main(cmds, fallback, 2, argv), 3);
	EXPECT_EQ(rt_cli_main(cmds, fallback, 3, d), 43);
	EXPECT_EQ(rt_cli_main(cmds, fallback, 1, d), 41);
}

TEST(cli_wants_help)
{
	struct args a_a;
	char **a = split(&a_a, "p --db x -h");
	struct args b_a;
	char **b = split(&b_a, "p --db --helpx");

	EXPECT_EQ(rt_cli_wants_help(4, a), 1);
	EXPECT_EQ(rt_cli_wants_help(3, b), 0);
}

struct cfg {
	int port;
	int log_level;
};

static const struct rt_conf_key keys[] = {
	{ "port", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .min = 1, .max = 65535,
	  .def = "7000", .help = "TCP port" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct cfg, log_level), .def = "info",
	  .help = "log verbosity" },
	{ .name = NULL },
};

TEST(cli_daemon_args_run_help_error)
{
	char *out = NULL;
	size_t outlen = 0;
	struct rt_daemon_info info = { .prog = "iomt-test", .version = "1", .summary = "T.",
				       .keys = keys, .out = open_memstream(&out, &outlen) };
	struct cfg cfg;
	struct args run_a;
	char **run = split(&run_a, "iomt-test --port 8000");
	struct args help_a;
	char **help = split(&help_a, "iomt-test --help");
	struct args bad_a;
	char **bad = split(&bad_a, "iomt-test --port 0");

	ASSERT_NONNULL(info.out);
	EXPECT_EQ(rt_cli_daemon_args(&info, &cfg, "iomt-test", "MORE\n", 3, run), RT_CLI_NONE);
	EXPECT_EQ(cfg.port, 8000);
	EXPECT_EQ(rt_cli_daemon_args(&info, &cfg, "iomt-test", "MORE\n", 2, help), 0);
	fflush(info.out);
	ASSERT_NONNULL(out);
	EXPECT_NONNULL(strstr(out, "TCP port"));
	EXPECT_EQ(strcmp(out + outlen - 5, "MORE\n"), 0);
	EXPECT_EQ(rt_cli_daemon_args(&info, &cfg, "iomt-test", NULL, 3, bad), 2);
	EXPECT_EQ(rt_daemon_args_log(&info, &cfg, 3, bad), -1);
	EXPECT_EQ(rt_daemon_args_log(&info, &cfg, 3, run), RT_DAEMON_RUN);
	fclose(info.out);
	free(out);
}

FIXTURE(opts) {
	const char *key, *out;
	struct rt_opt opts[3];
	char err[128];
};

FIXTURE_SETUP(opts)
{
	self->key = self->out = NULL;
	self->opts[0] = (struct rt_opt){ "key", &self->key, 1 };
	self->opts[1] = (struct rt_opt){ "out", &self->out, 0 };
	self->opts[2] = (struct rt_opt){ NULL, NULL, 0 };
	self->err[0] = 0;
}

FIXTURE_TEARDOWN(opts)
{
}

TEST_F(opts, both_forms)
{
	struct args argv_a;
	char **argv = split(&argv_a, "cmd --key k.bin --out=o.bin");

	EXPECT_EQ(rt_opts_parse(4, argv, self->opts, self->err, sizeof(self->err)), RT_OPTS_GO);
	EXPECT_STREQ(self->key, "k.bin");
	EXPECT_STREQ(self->out, "o.bin");
	EXPECT_NULL(rt_opts_missing(self->opts));
}

TEST_F(opts, errors_say_why)
{
	struct args unknown_a;
	char **unknown = split(&unknown_a, "cmd --frob");
	struct args twice_a;
	char **twice = split(&twice_a, "cmd --key=a --key b");
	struct args novalue_a;
	char **novalue = split(&novalue_a, "cmd --key");
	struct args bare_a;
	char **bare = split(&bare_a, "cmd key");

	EXPECT_EQ(rt_opts_parse(2, unknown, self->opts, self->err, sizeof(self->err)), RT_OPTS_BAD);
	EXPECT_STREQ(self->err, "unknown option '--frob'");
	self->key = NULL;
	EXPECT_EQ(rt_opts_parse(4, twice, self->opts, self->err, sizeof(self->err)), RT_OPTS_BAD);
	EXPECT_STREQ(self->err, "option '--key' given twice");
	self->key = NULL;
	EXPECT_EQ(rt_opts_parse(2, novalue, self->opts, self->err, sizeof(self->err)), RT_OPTS_BAD);
	EXPECT_STREQ(self->err, "option '--key' needs a value");
	EXPECT_EQ(rt_opts_parse(2, bare, self->opts, self->err, sizeof(self->err)), RT_OPTS_BAD);
	EXPECT_STREQ(self->err, "unexpected argument 'key'");
}

TEST_F(opts, help_and_missing)
{
	struct args help_a;
	char **help = split(&help_a, "cmd --out x -h");
	struct args none_a;
	char **none = split(&none_a, "cmd");

	EXPECT_EQ(rt_opts_parse(4, help, self->opts, self->err, sizeof(self->err)), RT_OPTS_HELP);
	self->out = NULL;
	EXPECT_EQ(rt_opts_parse(1, none, self->opts, self->err, sizeof(self->err)), RT_OPTS_GO);
	ASSERT_NONNULL(rt_opts_missing(self->opts));
	EXPECT_STREQ(rt_opts_missing(self->opts)->name, "key");
}
