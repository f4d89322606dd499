/* SPDX-License-Identifier: MIT */
/* The command line every daemon shares (see rt_daemon.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_conf.h"
#include "rt_daemon.h"
#include "rt_log.h"

enum { KEY_NAME_MAX = 64 };

/* One setting from the command line, applied after the file. */
struct arg_op {
	const struct rt_conf_key *key;
	const char *value;
};

struct args {
	const struct rt_daemon_info *info;
	const char *config;
	int help, version, check;
	struct arg_op *ops;
	int nops;
	char *err;
	size_t errlen;
};

static int bad(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, a->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The table entry for a flag name, '-' and '_' alike; NULL if none. */
static const struct rt_conf_key *flag_key(const struct args *a, const char *name, size_t len)
{
	char key[KEY_NAME_MAX];
	size_t i;

	if (!len || len >= sizeof(key))
		return NULL;
	for (i = 0; i < len; i++)
		key[i] = name[i] == '-' ? '_' : name[i];
	key[len] = '\0';
	return rt_conf_find(a->info->keys, key);
}

/* The option's value: after '=' in the same word, else the next word. */
static int value_of(struct args *a, int argc, char *const argv[], int *i, const char *eq,
		    const char **val)
{
	if (eq) {
		*val = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return bad(a, "option '%s' needs a value", argv[*i]);
	*val = argv[++*i];
	return 0;
}

static int add_set(struct args *a, const char *kv)
{
	const char *eq = strchr(kv, '=');
	const struct rt_conf_key *k = eq ? flag_key(a, kv, (size_t)(eq - kv)) : NULL;

	if (!eq)
		return bad(a, "option '--set' needs KEY=VALUE, not '%s'", kv);
	if (!k)
		return bad(a, "command line: unknown key '%.*s'", (int)(eq - kv), kv);
	a->ops[a->nops++] = (struct arg_op){ k, eq + 1 };
	return 0;
}

/* --help, --version and --check: flags that answer a query. */
static int *query_flag(struct args *a, const char *name, size_t len)
{
	if (len == 4 && !strncmp(name, "help", 4))
		return &a->help;
	if (len == 7 && !strncmp(name, "version", 7))
		return &a->version;
	if (len == 5 && !strncmp(name, "check", 5))
		return &a->check;
	return NULL;
}

static int long_option(struct args *a, int argc, char *const argv[], int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '='), *val = NULL;
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct rt_conf_key *k;
	int r = 0, *flag = query_flag(a, name, len);

	if (flag) {
		if (eq)
			return bad(a, "option '--%.*s' takes no value", (int)len, name);
		*flag = 1;
	} else if (len == 6 && !strncmp(name, "config", 6)) {
		r = value_of(a, argc, argv, i, eq, &a->config);
	} else if (len == 3 && !strncmp(name, "set", 3)) {
		r = value_of(a, argc, argv, i, eq, &val);
		if (!r)
			r = add_set(a, val);
	} else if ((k = flag_key(a, name, len))) {
		/* A bare bool flag means yes; other keys need their value. */
		if (!eq && k->type == RT_CONF_BOOL)
			val = "yes";
		else
			r = value_of(a, argc, argv, i, eq, &val);
		if (!r)
			a->ops[a->nops++] = (struct arg_op){ k, val };
	} else {
		r = bad(a, "unknown option '--%.*s' (try --help)", (int)len, name);
	}
	return r;
}

/* -h, -V, -t, and -c FILE or -cFILE. */
static int short_option(struct args *a, int argc, char *const argv[], int *i)
{
	const char *opt = argv[*i];

	if (opt[1] == 'c') {
		if (opt[2]) {
			a->config = opt + 2;
			return 0;
		}
		return value_of(a, argc, argv, i, NULL, &a->config);
	}
	if (opt[2])
		return bad(a, "unknown option '%s' (try --help)", opt);
	switch (opt[1]) {
	case 'h':
		a->help = 1;
		return 0;
	case 'V':
		a->version = 1;
		return 0;
	case 't':
		a->check = 1;
		return 0;
	}
	return bad(a, "unknown option '%s' (try --help)", opt);
}

static int parse(struct args *a, int argc, char *const argv[])
{
	int i, r = 0, dashdash = 0;

	for (i = 1; !r && i < argc; i++) {
		const char *arg = argv[i];

		if (!dashdash && !strcmp(arg, "--"))
			dashdash = 1;
		else if (dashdash || arg[0] != '-' || !arg[1])
			r = bad(a, "unexpected argument '%s' (try --help)", arg);
		else if (arg[1] == '-')
			r = long_option(a, argc, argv, &i);
		else
			r = short_option(a, argc, argv, &i);
	}
	return r;
}

static void usage(const struct rt_daemon_info *info, FILE *out)
{
	fprintf(out, "Usage: %s [options]\n", info->prog);
	if (info->summary)
		fprintf(out, "%s\n", info->summary);
	fprintf(out, "\nOptions:\n");
	fprintf(out, "  -c, --config FILE  configuration file");
	if (info->default_config)
		fprintf(out, " (default %s, if present)", info->default_config);
	fprintf(out, "\n"
		"  --set KEY=VALUE    set a configuration key; wins over the file\n"
		"  --KEY VALUE        the same ('-' and '_' alike; a bare --KEY sets a bool)\n"
		"  -t, --check        check the configuration, print it and exit\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n"
		"\nConfiguration keys:\n");
	rt_conf_help(info->keys, out);
}

/* Defaults, then the file, then the command line: the last word wins. */
static int configure(struct args *a, void *cfg)
{
	const struct rt_daemon_info *info = a->info;
	const char *path = a->config;
	char msg[512];
	int i, r = rt_conf_defaults(info->keys, cfg, a->err, a->errlen);

	if (r)
		return r;
	if (!path && info->default_config && access(info->default_config, F_OK) == 0)
		path = info->default_config;
	if (path) {
		r = rt_conf_load(path, info->keys, cfg, a->err, a->errlen);
		if (r)
			return r;
	}
	for (i = 0; i < a->nops; i++) {
		r = rt_conf_parse_value(a->ops[i].key, a->ops[i].value, cfg, msg, sizeof(msg));
		if (r)
			return bad(a, "command line: %s", msg);
	}
	return 0;
}

int rt_daemon_args(const struct rt_daemon_info *info, void *cfg, int argc, char *const argv[],
		   char *err, size_t errlen)
{
	struct args a = { .info = info, .err = err, .errlen = errlen };
	FILE *out = info->out ? info->out : stdout;
	int r;

	a.ops = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*a.ops));
	if (!a.ops) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = parse(&a, argc, argv);
	if (!r && a.help) {
		usage(info, out);
		r = RT_DAEMON_EXIT;
	} else if (!r && a.version) {
		fprintf(out, "%s %s\n", info->prog, info->version ? info->version : "");
		r = RT_DAEMON_EXIT;
	} else if (!r) {
		r = configure(&a, cfg);
		if (!r && a.check) {
			fprintf(out, "# %s: configuration OK\n", info->prog);
			rt_conf_dump(info->keys, cfg, out);
			r = RT_DAEMON_EXIT;
		}
	}
	free(a.ops);
	return r;
}

int rt_daemon_args_log(const struct rt_daemon_info *info, void *cfg, int argc,
		       char *const argv[])
{
	char err[512];
	int r = rt_daemon_args(info, cfg, argc, argv, err, sizeof(err));

	if (r < 0) {
		rt_err("%s", err);
		return -1;
	}
	return r;
}
