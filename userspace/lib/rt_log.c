/* SPDX-License-Identifier: MIT */
/* Daemon logging: levels, text or JSON lines, one write(2) per record. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rt_json.h"
#include "rt_log.h"

enum {
	LOG_NAME_MAX = 64,	/* program and function names are cut here */
	/* Big enough for the worst escaping of every field, so a record is never cut. */
	LOG_LINE_MAX = 256 + RT_JSON_ESCAPED_MAX(2 * LOG_NAME_MAX + RT_LOG_MSG_MAX),
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static const char *log_prog = "iomt";
static atomic_int log_level = RT_LOG_INFO;
static atomic_int log_json;
static atomic_int log_fd = STDERR_FILENO;
static char log_path[PATH_MAX];

void rt_log_init(const char *prog)
{
	const char *slash = prog ? strrchr(prog, '/') : NULL;

	if (prog && *prog)
		log_prog = slash && slash[1] ? slash + 1 : prog;
}

const char *rt_log_prog(void)
{
	return log_prog;
}

void rt_log_set_level(enum rt_log_level level)
{
	if (level >= RT_LOG_ERR && level <= RT_LOG_DEBUG)
		atomic_store(&log_level, level);
}

enum rt_log_level rt_log_get_level(void)
{
	return (enum rt_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

void rt_log_set_json(int on)
{
	atomic_store(&log_json, !!on);
}

int rt_log_level_parse(const char *name, enum rt_log_level *level)
{
	unsigned i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*level = (enum rt_log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*level = RT_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *rt_log_level_name(enum rt_log_level level)
{
	if (level < RT_LOG_ERR || level > RT_LOG_DEBUG)
		return "?";
	return level_names[level];
}

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	return fd < 0 ? -errno : fd;
}

int rt_log_set_file(const char *path)
{
	int fd, old = atomic_load(&log_fd);

	if (!path) {
		atomic_store(&log_fd, STDERR_FILENO);
		log_path[0] = '\0';
		if (old != STDERR_FILENO)
			close(old);
		return 0;
	}
	if (strlen(path) >= sizeof(log_path))
		return -ENAMETOOLONG;
	fd = open_log(path);
	if (fd < 0)
		return fd;
	atomic_store(&log_fd, fd);
	if (old != STDERR_FILENO)
		close(old);
	strcpy(log_path, path);
	return 0;
}

int rt_log_reopen(void)
{
	int fd, cur = atomic_load(&log_fd);

	if (!log_path[0])
		return 0;
	fd = open_log(log_path);
	if (fd < 0)
		return fd;
	/* Same descriptor number, new file: writers in flight never see a closed fd. */
	if (dup3(fd, cur, O_CLOEXEC) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

void rt_log_timestamp(char out[RT_LOG_TS_LEN])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, RT_LOG_TS_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, RT_LOG_TS_LEN - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Control bytes become \xNN so a message is always exactly one line. */
static size_t text_escape(char *dst, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = 0;

	for (; *s; s++) {
		if (*s < 0x20 || *s == 0x7f)
			len += (size_t)sprintf(dst + len, "\\x%02x", *s);
		else
			dst[len++] = (char)*s;
	}
	dst[len] = '\0';
	return len;
}

static size_t format_text(char *line, enum rt_log_level level, const char *func, int lineno,
			  const char *msg)
{
	char ts[RT_LOG_TS_LEN];
	size_t n;

	rt_log_timestamp(ts);
	n = (size_t)snprintf(line, LOG_LINE_MAX, "%s %s %.*s: ", ts, level_names[level],
			     LOG_NAME_MAX, log_prog);
	if (level == RT_LOG_DEBUG)
		n += (size_t)snprintf(line + n, LOG_LINE_MAX - n, "%.*s:%d: ", LOG_NAME_MAX,
				      func, lineno);
	n += text_escape(line + n, msg);
	line[n++] = '\n';
	return n;
}

static size_t format_json(char *line, enum rt_log_level level, const char *func, int lineno,
			  const char *msg)
{
	char ts[RT_LOG_TS_LEN], prog[LOG_NAME_MAX + 1], fn[LOG_NAME_MAX + 1];
	struct rt_json j;

	rt_log_timestamp(ts);
	snprintf(prog, sizeof(prog), "%s", log_prog);
	snprintf(fn, sizeof(fn), "%s", func);
	rt_json_begin(&j, line, LOG_LINE_MAX);
	rt_json_str(&j, "ts", ts);
	rt_json_str(&j, "level", level_names[level]);
	rt_json_str(&j, "prog", prog);
	rt_json_str(&j, "func", fn);
	rt_json_int(&j, "line", lineno);
	rt_json_str(&j, "msg", msg);
	return rt_json_end(&j);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

void rt_log_vwrite(enum rt_log_level level, const char *func, int lineno, const char *fmt,
		   va_list ap)
{
	char msg[RT_LOG_MSG_MAX], line[LOG_LINE_MAX];
	int saved = errno, n;
	size_t len;

	if (level < RT_LOG_ERR || level > RT_LOG_DEBUG || !rt_log_enabled(level))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format \"%s\")", fmt);
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	if (atomic_load_explicit(&log_json, memory_order_relaxed))
		len = format_json(line, level, func ? func : "?", lineno, msg);
	else
		len = format_text(line, level, func ? func : "?", lineno, msg);
	write_all(atomic_load_explicit(&log_fd, memory_order_relaxed), line, len);
	errno = saved;
}

void rt_log_write(enum rt_log_level level, const char *func, int lineno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_log_vwrite(level, func, lineno, fmt, ap);
	va_end(ap);
}

int rt_log_setup(int level, int json, const char *file)
{
	int r;

	rt_log_set_level((enum rt_log_level)level);
	rt_log_set_json(json);
	if (!file || !file[0])
		return 0;
	r = rt_log_set_file(file);
	if (r)
		fprintf(stderr, "%s: log_file %s: %s\n", rt_log_prog(), file, strerror(-r));
	return r;
}
