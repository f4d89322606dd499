// SPDX-License-Identifier: MIT
/* Analysis access policies: strict parser and evaluation (s2_policy.h). */
#include <stdio.h>
#include <string.h>

#include "iomt_err.h"
#include "s2_policy.h"

static int is_key_ch(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int is_val_ch(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '@';
}

static int fail(char *err, size_t errlen, size_t at, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "policy, at byte %zu: %s", at, why);
	return IOMT_EMALFORMED;
}

/* cond = key "=" value *("," value), from s[*i]; advances *i. */
static int cond_parse(const char *s, size_t *i, struct s2_policy_cond *c, char *err,
		      size_t errlen)
{
	size_t k = 0, v = 0;

	while (is_key_ch(s[*i])) {
		if (k == S2_POLICY_TOKEN_MAX)
			return fail(err, errlen, *i, "key longer than 32 characters");
		c->key[k++] = s[(*i)++];
	}
	c->key[k] = '\0';
	if (!k)
		return fail(err, errlen, *i, "expected a key (a-z, 0-9, _ or -)");
	if (s[*i] != '=')
		return fail(err, errlen, *i, "expected '=' after the key");
	(*i)++;
	for (;;) {
		size_t start = v;

		while (is_val_ch(s[*i])) {
			if (v == S2_POLICY_TOKEN_MAX)
				return fail(err, errlen, *i, "values longer than 32 characters");
			c->values[v++] = s[(*i)++];
		}
		if (v == start)
			return fail(err, errlen, *i, "expected a value");
		if (s[*i] != ',')
			break;
		if (v == S2_POLICY_TOKEN_MAX)
			return fail(err, errlen, *i, "values longer than 32 characters");
		c->values[v++] = s[(*i)++];
	}
	c->values[v] = '\0';
	return 0;
}

static int verb_of(const char *s, size_t len)
{
	if (len == 4 && !memcmp(s, "read", 4))
		return S2_POLICY_READ;
	if (len == 5 && !memcmp(s, "alert", 5))
		return S2_POLICY_ALERT;
	return 0;
}

static int item_parse(const char *s, size_t *i, struct s2_policy *p, char *err, size_t errlen)
{
	struct s2_policy_cond setting;
	struct s2_policy_rule *r;
	size_t k = *i;
	int verb;

	while (is_key_ch(s[k]))
		k++;
	if (s[k] != ':') {
		memset(&setting, 0, sizeof(setting));
		return cond_parse(s, i, &setting, err, errlen);
	}
	verb = verb_of(s + *i, k - *i);
	if (!verb)
		return fail(err, errlen, *i, "unknown rule (expected read: or alert:)");
	if (p->n == S2_POLICY_RULES_MAX)
		return fail(err, errlen, *i, "more than 8 rules");
	r = &p->rule[p->n++];
	memset(r, 0, sizeof(*r));
	r->verb = (uint8_t)verb;
	*i = k + 1;
	while (s[*i] == ' ') {
		while (s[*i] == ' ')
			(*i)++;
		if (!s[*i] || s[*i] == ';')
			break;
		if (r->n == S2_POLICY_CONDS_MAX)
			return fail(err, errlen, *i, "more than 8 conditions in a rule");
		if (cond_parse(s, i, &r->cond[r->n++], err, errlen))
			return IOMT_EMALFORMED;
	}
	if (!r->n)
		return fail(err, errlen, *i, "a rule needs at least one condition");
	return 0;
}

int s2_policy_parse(const char *s, struct s2_policy *out, char *err, size_t errlen)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!s || !s[0])
		return 0;
	for (;;) {
		while (s[i] == ' ')
			i++;
		if (!s[i] || s[i] == ';')
			return fail(err, errlen, i, "empty item");
		if (item_parse(s, &i, out, err, errlen))
			return IOMT_EMALFORMED;
		while (s[i] == ' ')
			i++;
		if (!s[i])
			return 0;
		if (s[i] != ';')
			return fail(err, errlen, i, "expected ';' or the end");
		i++;
	}
}

const char *s2_role_name(uint8_t role)
{
	static const char *const names[] = { NULL, "patient", "doctor", "mec", "device",
					     "other" };

	return role < sizeof(names) / sizeof(names[0]) ? names[role] : NULL;
}

/* value is one of the comma-separated alternatives. */
static int in_list(const char *list, const char *v, size_t vlen)
{
	while (*list) {
		size_t n = strcspn(list, ",");

		if (n == vlen && !memcmp(list, v, n))
			return 1;
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

/* key=value pairs of the attribute blob separated by ',', ';' or ' '. */
static int attr_matches(const struct ecqv_cert *cert, const struct s2_policy_cond *c)
{
	char a[ECQV_ATTR_MAX + 1];
	size_t i = 0, klen = strlen(c->key);

	memcpy(a, cert->attr, cert->attr_len);
	a[cert->attr_len] = '\0';
	while (a[i]) {
		size_t n = strcspn(a + i, ",; ");
		const char *eq = memchr(a + i, '=', n);

		if (eq && (size_t)(eq - (a + i)) == klen && !memcmp(a + i, c->key, klen) &&
		    in_list(c->values, eq + 1, n - klen - 1))
			return 1;
		i += n;
		while (a[i] == ',' || a[i] == ';' || a[i] == ' ')
			i++;
	}
	return 0;
}

static int cond_matches(const struct s2_policy_cond *c, const struct ecqv_cert *cert)
{
	const char *role;

	if (!strcmp(c->key, "role")) {
		role = s2_role_name(cert->role);
		return role && in_list(c->values, role, strlen(role));
	}
	return attr_matches(cert, c);
}

int s2_policy_allows(const struct s2_policy *p, uint8_t verb, const struct ecqv_cert *cert)
{
	for (uint8_t i = 0; i < p->n; i++) {
		const struct s2_policy_rule *r = &p->rule[i];
		uint8_t ok = r->verb == verb && r->n > 0;

		for (uint8_t j = 0; ok && j < r->n; j++)
			ok = (uint8_t)cond_matches(&r->cond[j], cert);
		if (ok)
			return 1;
	}
	return 0;
}
