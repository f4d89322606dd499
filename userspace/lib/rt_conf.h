/* SPDX-License-Identifier: MIT */
/*
 * Configuration driven by a keyword table, in the OpenSSH manner. A file is
 * lines of "key value"; blank lines and "#" comments are ignored, a comment
 * may also follow a value. A value is one word or a "double-quoted string"
 * (with \" and \\). Keys match case-insensitively. Every error names the file
 * and line:
 *
 *   iomt.conf:12: unknown key 'prot'
 *   iomt.conf:3: port: 70000 is out of range 1..65535
 *   iomt.conf:7: duplicate key 'port' (first set on line 3)
 *   iomt.conf:8: listen: missing value
 *   iomt.conf:9: port: trailing garbage '7001'
 *
 * Command-line flags go through the same table and checks (rt_conf_set), so a
 * value accepted in the file is accepted on the command line and vice versa.
 *
 *   struct kdc_cfg { struct rt_endpoint listen; int workers; uint64_t ttl_ms; };
 *   static const struct rt_conf_key kdc_keys[] = {
 *	{ "listen", RT_CONF_ENDPOINT, RT_CONF_AT(struct kdc_cfg, listen),
 *	  .def = "127.0.0.1:7000", .help = "address the KDC listens on" },
 *	{ "workers", RT_CONF_INT, RT_CONF_AT(struct kdc_cfg, workers),
 *	  .min = 1, .max = 64, .def = "2", .help = "worker threads" },
 *	{ NULL }
 *   };
 *   rt_conf_defaults(kdc_keys, &cfg, err, sizeof(err));
 *   rt_conf_load("/etc/iomt/kdc.conf", kdc_keys, &cfg, err, sizeof(err));
 *
 * Functions return 0, or a negative errno with a message in err (-EINVAL for
 * anything wrong with the text, -errno when the file cannot be read). A
 * member is written only with a fully valid value.
 */
#ifndef IOMT_RT_CONF_H
#define IOMT_RT_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* Member types each key type writes. */
enum rt_conf_type {
	RT_CONF_STRING,		/* char[N]: any word, at most N - 1 bytes */
	RT_CONF_PATH,		/* char[N]: an absolute path (daemons chdir to /) */
	RT_CONF_INT,		/* int in min..max (0..0 means INT_MIN..INT_MAX) */
	RT_CONF_BOOL,		/* int 0/1: yes/no, true/false, on/off, 1/0 */
	RT_CONF_SIZE,		/* uint64_t bytes: 512, 64k, 16M, 2G (powers of 1024) */
	RT_CONF_DURATION,	/* uint64_t ms: 250ms, 30s, 5m, 2h; a bare number is seconds */
	RT_CONF_ENDPOINT,	/* struct rt_endpoint: 192.0.2.1:7000 or [2001:db8::1]:7000 */
	RT_CONF_LOGLEVEL,	/* int (enum rt_log_level): error, warn, info, debug */
};

/* A numeric address and port; port 0 asks a listener for any free port. */
struct rt_endpoint {
	struct sockaddr_storage addr;
	socklen_t len;
};

struct rt_conf_key {
	const char *name;
	enum rt_conf_type type;
	size_t offset;		/* of the member in the config struct */
	size_t size;		/* of the member, checked against the type */
	long long min, max;	/* INT, SIZE, DURATION (in bytes / ms); 0, 0 = no bound */
	const char *def;	/* default as written in a file; NULL = zero */
	const char *help;	/* one line, for --help */
};

/* Fills .offset and .size of a table entry from the config struct's member. */
#define RT_CONF_AT(type, member) offsetof(type, member), sizeof(((type *)0)->member)

enum { RT_CONF_LINE_MAX = 4096 };

/* Catches programming errors: a member of the wrong size, a name used twice. */
int rt_conf_check_table(const struct rt_conf_key *table, char *err, size_t errlen);

/* Every member set to its default (or zero); fails only on a bad table. */
int rt_conf_defaults(const struct rt_conf_key *table, void *cfg, char *err, size_t errlen);

/* Parse a file over the current values; "path:line: " starts every message. */
int rt_conf_load(const char *path, const struct rt_conf_key *table, void *cfg, char *err,
		 size_t errlen);

/* One key from elsewhere (command line): the file's checks, without location. */
int rt_conf_set(const struct rt_conf_key *table, void *cfg, const char *key, const char *value,
		char *err, size_t errlen);

/* The entry for name, or NULL. */
const struct rt_conf_key *rt_conf_find(const struct rt_conf_key *table, const char *name);

/* One line per key: name, type, description, default (for --help). */
void rt_conf_help(const struct rt_conf_key *table, FILE *out);

/* The effective configuration as a valid config file (for --check). */
void rt_conf_dump(const struct rt_conf_key *table, const void *cfg, FILE *out);

/* Single values (rt_conf_value.c); messages are "key: problem". */
int rt_conf_parse_value(const struct rt_conf_key *key, const char *value, void *cfg, char *err,
			size_t errlen);
void rt_conf_format_value(const struct rt_conf_key *key, const void *cfg, char *buf,
			  size_t len);
/* "int 1..65535", "duration", ...; for --help. */
void rt_conf_type_name(const struct rt_conf_key *key, char *buf, size_t len);

int rt_endpoint_parse(const char *text, struct rt_endpoint *ep);
/* "192.0.2.1:7000" or "[2001:db8::1]:7000"; returns buf. */
const char *rt_endpoint_str(const struct rt_endpoint *ep, char *buf, size_t len);
uint16_t rt_endpoint_port(const struct rt_endpoint *ep);

#endif
