/* SPDX-License-Identifier: MIT */
/* rt_conf: every type, every error message with its file:line, flags, help. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>

#include "harness.h"
#include "lib/rt_conf.h"
#include "lib/rt_log.h"
#include "rt_test.h"

struct cfg {
	char name[16];
	char db[64];
	int port;
	int verbose;
	uint64_t buffer;
	uint64_t timeout;
	struct rt_endpoint listen;
	struct rt_endpoint upstream;
	int level;
};

static const struct rt_conf_key keys[] = {
	{ "name", RT_CONF_STRING, RT_CONF_AT(struct cfg, name), .def = "gw",
	  .help = "name shown in logs" },
	{ "db", RT_CONF_PATH, RT_CONF_AT(struct cfg, db), .def = "/var/lib/iomt/gw.db",
	  .help = "database file" },
	{ "port", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .min = 1, .max = 65535,
	  .def = "7000", .help = "TCP port" },
	{ "verbose", RT_CONF_BOOL, RT_CONF_AT(struct cfg, verbose), .def = "no",
	  .help = "chatty" },
	{ "buffer", RT_CONF_SIZE, RT_CONF_AT(struct cfg, buffer), .min = 4096, .max = 1 << 30,
	  .def = "64k", .help = "receive buffer" },
	{ "timeout", RT_CONF_DURATION, RT_CONF_AT(struct cfg, timeout), .min = 1,
	  .max = 3600000, .def = "30s", .help = "idle timeout" },
	{ "listen", RT_CONF_ENDPOINT, RT_CONF_AT(struct cfg, listen), .def = "127.0.0.1:7000",
	  .help = "listen address" },
	{ "upstream", RT_CONF_ENDPOINT, RT_CONF_AT(struct cfg, upstream),
	  .help = "where to forward" },
	{ "log_level", RT_CONF_LOGLEVEL, RT_CONF_AT(struct cfg, level), .def = "info",
	  .help = "log verbosity" },
	{ .name = NULL },
};

FIXTURE(conf) {
	char dir[64];
	char path[128];
	char err[512];
	char want[512];
	struct cfg cfg;
};

FIXTURE_SETUP(conf)
{
	ASSERT_EQ(rt_test_mkdtemp(self->dir, sizeof(self->dir), "conf"), 0);
	snprintf(self->path, sizeof(self->path), "%s/iomt.conf", self->dir);
	ASSERT_EQ(rt_conf_defaults(keys, &self->cfg, self->err, sizeof(self->err)), 0);
}

FIXTURE_TEARDOWN(conf)
{
	rt_test_rmtree(self->dir);
}

/* Loads text as the config file; returns rt_conf_load's result. */
static int load(FIXTURE_DATA(conf) *self, const char *text)
{
	if (rt_test_write(self->path, text, strlen(text)))
		return -999;
	return rt_conf_load(self->path, keys, &self->cfg, self->err, sizeof(self->err));
}

/* Expects text to fail with "<path>:<line>: <msg>". */
#define EXPECT_LOAD_ERR(text, line, msg)                                         \
	do {                                                                     \
		ASSERT_EQ(load(self, text), -EINVAL);                            \
		snprintf(self->want, sizeof(self->want), "%s:%d: %s", self->path, \
			 line, msg);                                             \
		ASSERT_STREQ(self->err, self->want);                             \
	} while (0)

TEST_F(conf, defaults_fill_every_member)
{
	char ep[64];

	ASSERT_STREQ(self->cfg.name, "gw");
	ASSERT_STREQ(self->cfg.db, "/var/lib/iomt/gw.db");
	ASSERT_EQ(self->cfg.port, 7000);
	ASSERT_EQ(self->cfg.verbose, 0);
	ASSERT_EQ(self->cfg.buffer, 65536);
	ASSERT_EQ(self->cfg.timeout, 30000);
	ASSERT_STREQ(rt_endpoint_str(&self->cfg.listen, ep, sizeof(ep)), "127.0.0.1:7000");
	ASSERT_EQ(self->cfg.upstream.len, 0);
	ASSERT_EQ(self->cfg.level, RT_LOG_INFO);
}

TEST_F(conf, good_file_sets_every_type)
{
	const char *text =
		"# gateway\n"
		"\n"
		"   name \"home gw \\\"1\\\"\"   # quoted, with escapes\n"
		"db /srv/iomt/gw.db\r\n"
		"PORT 7443\n"
		"verbose yes\n"
		"\tbuffer 2M\n"
		"timeout 250ms\n"
		"listen [::1]:9000\n"
		"upstream 192.0.2.7:0\n"
		"log_level debug # the last one\n";
	char ep[64];

	ASSERT_EQ(load(self, text), 0);
	ASSERT_STREQ(self->cfg.name, "home gw \"1\"");
	ASSERT_STREQ(self->cfg.db, "/srv/iomt/gw.db");
	ASSERT_EQ(self->cfg.port, 7443);
	ASSERT_EQ(self->cfg.verbose, 1);
	ASSERT_EQ(self->cfg.buffer, 2 << 20);
	ASSERT_EQ(self->cfg.timeout, 250);
	ASSERT_STREQ(rt_endpoint_str(&self->cfg.listen, ep, sizeof(ep)), "[::1]:9000");
	ASSERT_EQ(self->cfg.listen.len, sizeof(struct sockaddr_in6));
	ASSERT_STREQ(rt_endpoint_str(&self->cfg.upstream, ep, sizeof(ep)), "192.0.2.7:0");
	ASSERT_EQ(self->cfg.level, RT_LOG_DEBUG);
}

TEST_F(conf, unknown_key)
{
	EXPECT_LOAD_ERR("port 7000\nprot 7001\n", 2, "unknown key 'prot'");
}

TEST_F(conf, int_out_of_range)
{
	EXPECT_LOAD_ERR("# x\n\nport 70000\n", 3, "port: 70000 is out of range 1..65535");
	EXPECT_LOAD_ERR("port -5\n", 1, "port: -5 is out of range 1..65535");
	EXPECT_LOAD_ERR("port 99999999999999999999\n", 1,
			"port: 99999999999999999999 is out of range 1..65535");
}

TEST_F(conf, int_not_a_number)
{
	EXPECT_LOAD_ERR("port 70x\n", 1, "port: '70x' is not an integer");
	EXPECT_LOAD_ERR("port +7\n", 1, "port: '+7' is not an integer");
	EXPECT_LOAD_ERR("port 0x10\n", 1, "port: '0x10' is not an integer");
}

TEST_F(conf, duplicate_key)
{
	EXPECT_LOAD_ERR("port 7000\nverbose no\n\nPort 7001\n", 4,
			"duplicate key 'port' (first set on line 1)");
}

TEST_F(conf, missing_value)
{
	EXPECT_LOAD_ERR("verbose yes\nlisten\n", 2, "listen: missing value");
	EXPECT_LOAD_ERR("port    # no value here\n", 1, "port: missing value");
}

TEST_F(conf, trailing_garbage)
{
	EXPECT_LOAD_ERR("port 7000 7001\n", 1, "port: trailing garbage '7001'");
	EXPECT_LOAD_ERR("name \"a b\"c\n", 1, "name: trailing garbage 'c'");
}

TEST_F(conf, unterminated_quote)
{
	EXPECT_LOAD_ERR("name \"abc\n", 1, "name: unterminated quoted value");
}

TEST_F(conf, bool_errors)
{
	EXPECT_LOAD_ERR("verbose maybe\n", 1, "verbose: 'maybe' is not a boolean (yes or no)");
	ASSERT_EQ(load(self, "verbose ON\n"), 0);
	ASSERT_EQ(self->cfg.verbose, 1);
	ASSERT_EQ(load(self, "verbose 0\n"), 0);
	ASSERT_EQ(self->cfg.verbose, 0);
}

TEST_F(conf, size_errors)
{
	EXPECT_LOAD_ERR("buffer 12X\n", 1,
			"buffer: '12X' is not a size (a number with optional k, M or G)");
	EXPECT_LOAD_ERR("buffer k\n", 1,
			"buffer: 'k' is not a size (a number with optional k, M or G)");
	EXPECT_LOAD_ERR("buffer 2G\n", 1, "buffer: 2G is out of range 4k..1G");
	EXPECT_LOAD_ERR("buffer 100\n", 1, "buffer: 100 is out of range 4k..1G");
	EXPECT_LOAD_ERR("buffer 99999999999G\n", 1, "buffer: 99999999999G is too large");
	ASSERT_EQ(load(self, "buffer 1G\n"), 0);
	ASSERT_EQ(self->cfg.buffer, 1 << 30);
}

TEST_F(conf, duration_errors)
{
	EXPECT_LOAD_ERR("timeout 5x\n", 1,
			"timeout: '5x' is not a duration (a number with ms, s, m or h)");
	EXPECT_LOAD_ERR("timeout 2h\n", 1, "timeout: 2h is out of range 1ms..1h");
	EXPECT_LOAD_ERR("timeout 0\n", 1, "timeout: 0 is out of range 1ms..1h");
	ASSERT_EQ(load(self, "timeout 90\n"), 0);
	ASSERT_EQ(self->cfg.timeout, 90000);
	ASSERT_EQ(load(self, "timeout 5m\n"), 0);
	ASSERT_EQ(self->cfg.timeout, 300000);
}

TEST_F(conf, endpoint_errors)
{
	const char *bad = "is not an ip:port endpoint (like 192.0.2.1:7000 or [2001:db8::1]:7000)";
	const char *texts[] = { "localhost:80", "::1:80", "[::1]80", "1.2.3:80", "1.2.3.4",
				"1.2.3.4:", "1.2.3.4:8o", "[1.2.3.4]:80", NULL };
	char line[128], msg[256];
	int i;

	for (i = 0; texts[i]; i++) {
		snprintf(line, sizeof(line), "listen %s\n", texts[i]);
		snprintf(msg, sizeof(msg), "listen: '%s' %s", texts[i], bad);
		EXPECT_LOAD_ERR(line, 1, msg);
	}
	EXPECT_LOAD_ERR("listen 127.0.0.1:70000\n", 1,
			"listen: port 70000 is out of range 0..65535");
}

TEST_F(conf, path_and_string_errors)
{
	EXPECT_LOAD_ERR("db var/gw.db\n", 1, "db: 'var/gw.db' is not an absolute path");
	EXPECT_LOAD_ERR("name abcdefghijklmnop\n", 1, "name: value is too long (at most 15 bytes)");
	ASSERT_EQ(load(self, "name abcdefghijklmno\n"), 0);
	ASSERT_STREQ(self->cfg.name, "abcdefghijklmno");
}

TEST_F(conf, log_level_errors)
{
	EXPECT_LOAD_ERR("log_level loud\n", 1,
			"log_level: 'loud' is not a log level (error, warn, info or debug)");
	ASSERT_EQ(load(self, "log_level warning\n"), 0);
	ASSERT_EQ(self->cfg.level, RT_LOG_WARN);
}

TEST_F(conf, nul_byte_and_long_line)
{
	static const char nul[] = "port 7000\nname a\0b\n";
	char *big = malloc(RT_CONF_LINE_MAX + 64);

	ASSERT_EQ(rt_test_write(self->path, nul, sizeof(nul) - 1), 0);
	ASSERT_EQ(rt_conf_load(self->path, keys, &self->cfg, self->err, sizeof(self->err)),
		  -EINVAL);
	snprintf(self->want, sizeof(self->want), "%s:2: NUL byte in line", self->path);
	ASSERT_STREQ(self->err, self->want);

	ASSERT_NONNULL(big);
	memset(big, '#', RT_CONF_LINE_MAX + 1);
	strcpy(big + RT_CONF_LINE_MAX + 1, "\n");
	EXPECT_LOAD_ERR(big, 1, "line too long (at most 4096 bytes)");
	free(big);
}

TEST_F(conf, missing_file)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/absent.conf", self->dir);
	ASSERT_EQ(rt_conf_load(path, keys, &self->cfg, self->err, sizeof(self->err)), -ENOENT);
	snprintf(self->want, sizeof(self->want), "%s: No such file or directory", path);
	ASSERT_STREQ(self->err, self->want);
}

TEST_F(conf, failed_value_leaves_member_unchanged)
{
	ASSERT_EQ(load(self, "port 70000\n"), -EINVAL);
	ASSERT_EQ(self->cfg.port, 7000);
	ASSERT_EQ(load(self, "listen 1.2.3.4:99999\n"), -EINVAL);
	ASSERT_EQ(rt_endpoint_port(&self->cfg.listen), 7000);
	ASSERT_EQ(load(self, "name abcdefghijklmnopq\n"), -EINVAL);
	ASSERT_STREQ(self->cfg.name, "gw");
}

TEST_F(conf, set_uses_the_same_checks)
{
	ASSERT_EQ(rt_conf_set(keys, &self->cfg, "port", "7100", self->err, sizeof(self->err)), 0);
	ASSERT_EQ(self->cfg.port, 7100);
	ASSERT_EQ(rt_conf_set(keys, &self->cfg, "port", "70000", self->err, sizeof(self->err)),
		  -EINVAL);
	ASSERT_STREQ(self->err, "port: 70000 is out of range 1..65535");
	ASSERT_EQ(rt_conf_set(keys, &self->cfg, "prot", "1", self->err, sizeof(self->err)),
		  -EINVAL);
	ASSERT_STREQ(self->err, "unknown key 'prot'");
	ASSERT_EQ(rt_conf_set(keys, &self->cfg, "port", NULL, self->err, sizeof(self->err)),
		  -EINVAL);
	ASSERT_STREQ(self->err, "port: missing value");
	/* A value may hold spaces on the command line: no quoting there. */
	ASSERT_EQ(rt_conf_set(keys, &self->cfg, "name", "a b", self->err, sizeof(self->err)), 0);
	ASSERT_STREQ(self->cfg.name, "a b");
	ASSERT_EQ(self->cfg.port, 7100);
}

TEST(bad_tables_are_caught)
{
	struct cfg c;
	char err[256];
	const struct rt_conf_key wrong_size[] = {
		{ "port", RT_CONF_SIZE, RT_CONF_AT(struct cfg, port), .help = "" },
		{ .name = NULL },
	};
	const struct rt_conf_key twice[] = {
		{ "port", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .help = "" },
		{ "PORT", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .help = "" },
		{ .name = NULL },
	};
	const struct rt_conf_key bad_default[] = {
		{ "port", RT_CONF_INT, RT_CONF_AT(struct cfg, port), .min = 1, .max = 10,
		  .def = "11", .help = "" },
		{ .name = NULL },
	};

	ASSERT_EQ(rt_conf_defaults(wrong_size, &c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "port: table entry does not match its member (internal error)");
	ASSERT_EQ(rt_conf_defaults(twice, &c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "PORT: listed twice in the table (internal error)");
	ASSERT_EQ(rt_conf_defaults(bad_default, &c, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "internal error: default value of port: 11 is out of range 1..10");
}

TEST_F(conf, help_lists_every_key)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ASSERT_NONNULL(out);
	rt_conf_help(keys, out);
	fclose(out);
	ASSERT_NONNULL(strstr(text, "  port       int 1..65535      TCP port (default 7000)\n"));
	ASSERT_NONNULL(strstr(text, "  buffer     size 4k..1G       receive buffer (default 64k)\n"));
	ASSERT_NONNULL(strstr(text, "  timeout    duration 1ms..1h  idle timeout (default 30s)\n"));
	ASSERT_NONNULL(strstr(text, "  upstream   ip:port           where to forward\n"));
	free(text);
}

TEST_F(conf, dump_reads_back_the_same)
{
	struct cfg again;
	FILE *out;

	ASSERT_EQ(load(self, "name \"a \\\"b\\\" #c\"\nbuffer 1536k\ntimeout 1500\n"
			     "listen [2001:db8::1]:80\nverbose yes\nlog_level error\n"), 0);
	out = fopen(self->path, "w");
	ASSERT_NONNULL(out);
	rt_conf_dump(keys, &self->cfg, out);
	fclose(out);
	ASSERT_EQ(rt_conf_defaults(keys, &again, self->err, sizeof(self->err)), 0);
	ASSERT_EQ(rt_conf_load(self->path, keys, &again, self->err, sizeof(self->err)), 0);
	ASSERT_STREQ(again.name, "a \"b\" #c");
	ASSERT_EQ(again.buffer, 1536 << 10);
	ASSERT_EQ(again.timeout, 1500000);
	ASSERT_MEMEQ(&again.listen, &self->cfg.listen, sizeof(again.listen));
	ASSERT_EQ(again.verbose, 1);
	ASSERT_EQ(again.level, RT_LOG_ERR);
	ASSERT_EQ(again.upstream.len, 0);
}
