/* SPDX-License-Identifier: MIT */
/* The 'PROG admin' front: options, configuration, dispatch (rt_admin.h). */
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rt_admin.h"
#include "rt_audit.h"
#include "rt_log.h"

int rt_admin_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
{
	vsnprintf(err, errlen, fmt, ap);
	return 1;
}

int rt_admin_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_admin_vfail(err, errlen, fmt, ap);
	va_end(ap);
	return 1;
}

static char *err_of(const struct rt_admin *a, void *o)
{
	return (char *)o + a->err_off;
}

static const char **slot_at(void *o, size_t off)
{
	return (const char **)(void *)((char *)o + off);
}

/* The option's slot in o, by its name with '-' or '_'. */
static const char **opt_slot(const struct rt_admin *a, void *o, const char *name, size_t len)
{
	char key[32];

	if (len >= sizeof(key))
		return NULL;
	for (size_t i = 0; i < len; i++)
		key[i] = name[i] == '_' ? '-' : name[i];
	key[len] = '\0';
	for (const struct rt_admin_opt *p = a->opts; p->name; p++)
		if (!strcmp(key, p->name))
			return slot_at(o, p->off);
	return NULL;
}

/* A flag command c takes: 1 when a was one (and is now set). */
static int take_flag(const struct rt_admin *a, void *o, const struct rt_admin_cmd *c,
		     const char *name)
{
	for (const struct rt_admin_flag *f = a->flags; f && f->name; f++) {
		if (!strcmp(name, f->name) && !strcmp(c->name, f->cmd)) {
			*(int *)(void *)((char *)o + f->off) = 1;
			return 1;
		}
	}
	return 0;
}

/* NAME, --opt VALUE, --opt=VALUE, flags: 0, or 2 with a message. */
static int parse(const struct rt_admin *a, void *o, const struct rt_admin_cmd *c, int argc,
		 char **argv)
{
	char *err = err_of(a, o);

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *eq, **slot;
		size_t len;

		if (strncmp(arg, "--", 2)) {
			slot = slot_at(o, a->name_off);
			if (!c->positional || *slot)
				return rt_admin_fail(err, a->errlen, "unexpected argument '%s'",
						     arg) + 1;
			*slot = arg;
			continue;
		}
		arg += 2;
		if (take_flag(a, o, c, arg))
			continue;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		slot = opt_slot(a, o, arg, len);
		if (!slot)
			return rt_admin_fail(err, a->errlen, "unknown option '--%.*s'", (int)len,
					     arg) + 1;
		if (!eq && i + 1 >= argc)
			return rt_admin_fail(err, a->errlen, "option '--%s' needs a value",
					     arg) + 1;
		*slot = eq ? eq + 1 : argv[++i];
	}
	return 0;
}

/* Values the daemon's configuration gives, where no option did. */
static int apply_config(const struct rt_admin *a, void *o)
{
	const char *path = *opt_slot(a, o, "config", 6);
	char err[512];

	if (!path && !*opt_slot(a, o, "db", 2) && access(a->default_config, R_OK) == 0)
		path = a->default_config;
	if (!path)
		return 0;
	if (rt_conf_defaults(a->conf_keys, a->cfg, err, sizeof(err)) ||
	    rt_conf_load(path, a->conf_keys, a->cfg, err, sizeof(err)))
		return rt_admin_fail(err_of(a, o), a->errlen, "%s", err) + 1;
	a->from_config(o, a->cfg);
	return 0;
}

static int check_required(const struct rt_admin *a, void *o, const struct rt_admin_cmd *c)
{
	char list[64], *save = NULL;

	snprintf(list, sizeof(list), "%s", c->required);
	for (char *n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		const char **slot = opt_slot(a, o, n, strlen(n));

		if (!*slot || !**slot)
			return rt_admin_fail(err_of(a, o), a->errlen, "missing --%s", n) + 1;
	}
	return a->check ? a->check(o, c, err_of(a, o), a->errlen) : 0;
}

int rt_admin_audit_open(const char **audit_log, const char *db, const char *default_name,
			char *err, size_t errlen)
{
	static char path[PATH_MAX + 32];
	char dir[PATH_MAX];
	int e;

	if (!*audit_log) {
		snprintf(dir, sizeof(dir), "%s", db);
		snprintf(path, sizeof(path), "%s/%s", dirname(dir), default_name);
		*audit_log = path;
	}
	e = rt_audit_open(*audit_log);
	if (e)
		return rt_admin_fail(err, errlen, "audit log %s: cannot open: %s", *audit_log,
				     strerror(-e));
	return 0;
}

static void usage(const struct rt_admin *a, FILE *f)
{
	fprintf(f, "Usage: %s admin %s", a->prog, a->intro);
	for (const struct rt_admin_cmd *c = a->cmds; c->name; c++)
		fprintf(f, "  %s\n\n", c->usage);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int rt_admin_begin(const struct rt_admin *a, void *o, int argc, char **argv, int *code)
{
	const struct rt_admin_cmd *c;
	int i = 0;

	rt_log_init(a->prog);
	if (argc < 2 || !strcmp(argv[1], "help") || wants_help(1, argv + 1)) {
		usage(a, argc < 2 ? stderr : stdout);
		*code = argc < 2 ? 2 : 0;
		return -1;
	}
	while (a->cmds[i].name && strcmp(a->cmds[i].name, argv[1]))
		i++;
	c = &a->cmds[i];
	if (!c->name) {
		fprintf(stderr, "%s admin: unknown command '%s'\n\n", a->prog, argv[1]);
		usage(a, stderr);
		*code = 2;
		return -1;
	}
	if (wants_help(argc - 2, argv + 2)) {
		printf("Usage: %s admin %s\n", a->prog, c->usage);
		*code = 0;
		return -1;
	}
	*code = parse(a, o, c, argc - 2, argv + 2);
	if (!*code)
		*code = apply_config(a, o);
	if (!*code)
		*code = check_required(a, o, c);
	if (*code) {
		fprintf(stderr, "%s admin %s: %s\nUsage: %s admin %s\n", a->prog, c->name,
			err_of(a, o), a->prog, c->usage);
		return -1;
	}
	return i;
}

int rt_admin_end(const struct rt_admin *a, void *o, int i, int r)
{
	rt_audit_close();
	if (r)
		fprintf(stderr, "%s admin %s: %s\n", a->prog, a->cmds[i].name, err_of(a, o));
	return r ? 1 : 0;
}
