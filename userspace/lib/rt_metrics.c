/* SPDX-License-Identifier: MIT */
/* Metric registry and the Prometheus text exposition format 0.0.4. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_log.h"
#include "rt_metrics.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rt_metric *reg_head;

static int is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static int valid_name(const char *s)
{
	if (!s || !(is_alpha_(*s) || *s == ':'))
		return 0;
	for (s++; *s; s++)
		if (!is_alpha_(*s) && !is_digit(*s) && *s != ':')
			return 0;
	return 1;
}

/* One label="value" at *sp; names starting "__" are Prometheus's own. */
static int valid_label(const char **sp)
{
	const char *s = *sp;

	if (!is_alpha_(*s) || (s[0] == '_' && s[1] == '_'))
		return 0;
	while (is_alpha_(*s) || is_digit(*s))
		s++;
	if (*s++ != '=' || *s++ != '"')
		return 0;
	for (; *s && *s != '"' && *s != '\n'; s++)
		if (*s == '\\' && *++s != '\\' && *s != '"' && *s != 'n')
			return 0;
	if (*s != '"')
		return 0;
	*sp = s + 1;
	return 1;
}

/* Comma-separated label="value" pairs, exactly as they go inside {}. */
static int valid_labels(const char *s)
{
	if (!s || !*s)
		return 1;
	for (;;) {
		if (!valid_label(&s))
			return 0;
		if (!*s)
			return 1;
		if (*s++ != ',')
			return 0;
	}
}

static int same_labels(const struct rt_metric *a, const struct rt_metric *b)
{
	return !strcmp(a->labels ? a->labels : "", b->labels ? b->labels : "");
}

/* Called with reg_lock held: where m goes (after the last of its family). */
static int find_slot(struct rt_metric *m, struct rt_metric ***slot)
{
	struct rt_metric **p, **after = NULL;

	for (p = &reg_head; *p; p = &(*p)->next) {
		if (*p == m)
			return -EALREADY;
		if (strcmp((*p)->name, m->name))
			continue;
		if ((*p)->type != m->type || same_labels(*p, m))
			return -EINVAL;
		after = &(*p)->next;
	}
	*slot = after ? after : p;
	return 0;
}

int rt_metrics_register(struct rt_metric *m)
{
	struct rt_metric **slot;
	int r;

	if (!valid_name(m->name) || !valid_labels(m->labels) ||
	    (m->type != RT_METRIC_COUNTER && m->type != RT_METRIC_GAUGE)) {
		rt_err("metric '%s' {%s}: bad name, labels or type", m->name ? m->name : "",
		       m->labels ? m->labels : "");
		return -EINVAL;
	}
	pthread_mutex_lock(&reg_lock);
	r = find_slot(m, &slot);
	if (!r) {
		m->next = *slot;
		*slot = m;
	}
	pthread_mutex_unlock(&reg_lock);
	if (r == -EINVAL)
		rt_err("metric '%s' {%s}: clashes with one registered", m->name,
		       m->labels ? m->labels : "");
	return r;
}

void rt_metrics_reset(void)
{
	pthread_mutex_lock(&reg_lock);
	reg_head = NULL;
	pthread_mutex_unlock(&reg_lock);
}

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->cap)
			o->buf[o->len] = s[i];
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* HELP text may hold anything; the format allows only \\ and \n escapes. */
static void put_help(struct out *o, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\')
			puts_(o, "\\\\");
		else if (*s == '\n')
			puts_(o, "\\n");
		else
			put(o, s, 1);
	}
}

static void put_family_head(struct out *o, struct rt_metric *m)
{
	puts_(o, "# HELP ");
	puts_(o, m->name);
	puts_(o, " ");
	put_help(o, m->help);
	puts_(o, "\n# TYPE ");
	puts_(o, m->name);
	puts_(o, m->type == RT_METRIC_COUNTER ? " counter\n" : " gauge\n");
}

static void put_sample(struct out *o, struct rt_metric *m)
{
	char num[24];

	puts_(o, m->name);
	if (m->labels && *m->labels) {
		puts_(o, "{");
		puts_(o, m->labels);
		puts_(o, "}");
	}
	snprintf(num, sizeof(num), " %" PRIu64 "\n", rt_metric_get(m));
	puts_(o, num);
}

size_t rt_metrics_render(char *buf, size_t len)
{
	struct out o = { buf, len, 0 };
	struct rt_metric *m, *prev = NULL;

	pthread_mutex_lock(&reg_lock);
	for (m = reg_head; m; prev = m, m = m->next) {
		if (!prev || strcmp(prev->name, m->name))
			put_family_head(&o, m);
		put_sample(&o, m);
	}
	pthread_mutex_unlock(&reg_lock);
	if (len)
		buf[o.len < len ? o.len : len - 1] = '\0';
	return o.len;
}

void rt_metrics_accept_all(int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		rt_metrics_serve(fd);
		close(fd);
	}
}

int rt_metrics_register_array(struct rt_metric *m, size_t n)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i++)
		r = rt_metrics_register(&m[i]);
	return r;
}

int rt_metrics_register_list(struct rt_metric *const *list, size_t n)
{
	int r = 0;

	for (size_t i = 0; !r && i < n; i++)
		r = rt_metrics_register(list[i]);
	return r;
}
