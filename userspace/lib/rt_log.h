/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging: one line per record, to stderr (default) or a file.
 *
 *   2025-01-31T12:00:00.123Z warn iomt-kdc: ticket for unknown device 7
 *   2025-01-31T12:00:00.124Z debug iomt-kdc: tgs_issue:212: lifetime 3600 s
 *
 * Text lines carry function:line for debug records only; JSON-lines records
 * (rt_log_set_json(1)) carry them always, as fields "func" and "line":
 *
 *   {"ts":"...","level":"warn","prog":"iomt-kdc","func":"tgs","line":88,"msg":"..."}
 *
 * Each record is formatted on the stack and written with one write(2) to an
 * O_APPEND descriptor, so threads and processes sharing the file never
 * interleave within a line. Control characters in messages are escaped (as
 * \xNN in text, per rt_json.h in JSON) so a peer-supplied string cannot forge
 * a second log line. Messages longer than RT_LOG_MSG_MAX - 1 bytes are cut
 * and end in "...". Logging preserves errno, and "%m" works.
 *
 * Set-up (rt_log_init, rt_log_set_*) belongs to the main thread; only
 * rt_log_reopen() may run while other threads log (it swaps the file under
 * the same descriptor number, for log rotation on SIGHUP).
 */
#ifndef IOMT_RT_LOG_H
#define IOMT_RT_LOG_H

#include <stdarg.h>

enum rt_log_level {
	RT_LOG_ERR = 0,
	RT_LOG_WARN = 1,
	RT_LOG_INFO = 2,
	RT_LOG_DEBUG = 3,
};

enum {
	RT_LOG_MSG_MAX = 1024,
	RT_LOG_TS_LEN = 32,
};

/* Program name shown in every record (not copied: pass a literal or argv[0]). */
void rt_log_init(const char *prog);
const char *rt_log_prog(void);

void rt_log_set_level(enum rt_log_level level);
enum rt_log_level rt_log_get_level(void);
void rt_log_set_json(int on);

/* "error", "warn", "info", "debug" (and "warning"): 0, or -EINVAL. */
int rt_log_level_parse(const char *name, enum rt_log_level *level);
const char *rt_log_level_name(enum rt_log_level level);

/*
 * Log to a file (created 0640, appended) instead of stderr; NULL goes back to
 * stderr. 0 or -errno, in which case the destination is unchanged.
 */
int rt_log_set_file(const char *path);

/*
 * A daemon's logging from its configuration in one call: level, JSON lines
 * or text, and the file ("" or NULL = stderr). On failure the reason goes to
 * stderr ("prog: log_file PATH: ...") and -errno is returned.
 */
int rt_log_setup(int level, int json, const char *file);

/* Reopen the current log file (after rotation); no-op for stderr. */
int rt_log_reopen(void);

/* Current time as ISO-8601 UTC with milliseconds: 2025-01-31T12:00:00.123Z */
void rt_log_timestamp(char out[RT_LOG_TS_LEN]);

static inline int rt_log_enabled(enum rt_log_level level)
{
	return level <= rt_log_get_level();
}

void rt_log_write(enum rt_log_level level, const char *func, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rt_log_vwrite(enum rt_log_level level, const char *func, int line, const char *fmt,
		   va_list ap) __attribute__((format(printf, 4, 0)));

/* Arguments are not evaluated when the level is filtered out. */
#define rt_log_at(level, ...)                                                  \
	do {                                                                   \
		if (rt_log_enabled(level))                                     \
			rt_log_write(level, __func__, __LINE__, __VA_ARGS__); \
	} while (0)

#define rt_err(...) rt_log_at(RT_LOG_ERR, __VA_ARGS__)
#define rt_warn(...) rt_log_at(RT_LOG_WARN, __VA_ARGS__)
#define rt_info(...) rt_log_at(RT_LOG_INFO, __VA_ARGS__)
#define rt_dbg(...) rt_log_at(RT_LOG_DEBUG, __VA_ARGS__)

#endif
