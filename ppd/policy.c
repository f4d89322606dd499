/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "ct.h"
#include "lib/rt_conf.h"
#include "policy.h"

const char *ppd_verdict_name(enum ppd_verdict v)
{
	return v == PPD_ALLOW ? "allow" : v == PPD_DENY ? "deny" : "ask";
}

static int duration(const char *text, uint64_t *ms, char *why, size_t len)
{
	struct { uint64_t v; } holder;
	const struct rt_conf_key k = { "max_range", RT_CONF_DURATION, 0, sizeof(uint64_t),
				       .min = 0, .max = 0 };

	if (rt_conf_parse_value(&k, text, &holder, why, len))
		return -EINVAL;
	*ms = holder.v;
	return 0;
}

static int field(struct ppd_rule *r, char *word, char *why, size_t len)
{
	char *eq = strchr(word, '=');
	const char *v;

	if (!eq) {
		snprintf(why, len, "'%s' is not KEY=VALUE", word);
		return -EINVAL;
	}
	*eq = '\0';
	v = eq + 1;
	if (!strcmp(word, "requester")) {
		r->any_requester = !strcmp(v, "*");
		if (!r->any_requester && iomt_kdc_name_from_text(r->requester, v)) {
			snprintf(why, len, "requester '%s' is not a KDC name", v);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(word, "purpose")) {
		r->purpose = 0;
		if (strcmp(v, "*")) {
			for (unsigned p = 1; p <= IOMT_PURPOSE_MAX; p++)
				if (!strcmp(v, iomt_consent_purpose_name(p)))
					r->purpose = (uint8_t)p;
			if (!r->purpose) {
				snprintf(why, len, "purpose '%s' is not treatment, emergency, "
					 "research, quality or *", v);
				return -EINVAL;
			}
		}
		return 0;
	}
	if (!strcmp(word, "max_range"))
		return duration(v, &r->max_range_ms, why, len);
	snprintf(why, len, "unknown field '%s'", word);
	return -EINVAL;
}

static int parse_line(struct ppd_rule *r, char *text, char *why, size_t len)
{
	char *save = NULL, *w = strtok_r(text, " \t", &save);
	int have_req = 0, have_purpose = 0;

	if (!strcmp(w, "allow"))
		r->verdict = PPD_ALLOW;
	else if (!strcmp(w, "deny"))
		r->verdict = PPD_DENY;
	else if (!strcmp(w, "ask"))
		r->verdict = PPD_ASK;
	else {
		snprintf(why, len, "'%s': a rule starts with allow, deny or ask", w);
		return -EINVAL;
	}
	while ((w = strtok_r(NULL, " \t", &save))) {
		have_req |= !strncmp(w, "requester=", 10);
		have_purpose |= !strncmp(w, "purpose=", 8);
		if (field(r, w, why, len))
			return -EINVAL;
	}
	if (!have_req || !have_purpose) {
		snprintf(why, len, "a rule names requester= and purpose= (use * for any)");
		return -EINVAL;
	}
	return 0;
}

int ppd_policy_load(const char *path, struct ppd_policy *p, char *err, size_t errlen)
{
	char text[1024], why[256];
	unsigned no = 0;
	FILE *f;
	int r = 0;

	memset(p, 0, sizeof(*p));
	f = fopen(path, "re");
	if (!f && errno == ENOENT)
		return 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (!r && fgets(text, sizeof(text), f)) {
		struct ppd_rule rule = { .line = ++no }, *v;

		text[strcspn(text, "#\r\n")] = '\0';
		if (!text[strspn(text, " \t")])
			continue;
		if (parse_line(&rule, text, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, no, why);
			r = -EINVAL;
			break;
		}
		v = realloc(p->v, (p->n + 1) * sizeof(*v));
		if (!v) {
			r = -ENOMEM;
			break;
		}
		p->v = v;
		p->v[p->n++] = rule;
	}
	fclose(f);
	if (r)
		ppd_policy_free(p);
	return r;
}

enum ppd_verdict ppd_policy_decide(const struct ppd_policy *p,
				   const uint8_t requester[IOMT_KDC_NAME_LEN], unsigned purpose,
				   uint64_t range_ms, unsigned *line)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct ppd_rule *r = &p->v[i];

		if (!r->any_requester && !iomt_ct_eq(r->requester, requester, IOMT_KDC_NAME_LEN))
			continue;
		if (r->purpose && r->purpose != purpose)
			continue;
		if (r->max_range_ms && range_ms > r->max_range_ms)
			continue;
		*line = r->line;
		return (enum ppd_verdict)r->verdict;
	}
	*line = 0;
	return PPD_ASK;
}

void ppd_policy_free(struct ppd_policy *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}
