/* SPDX-License-Identifier: MIT */
/* Messages, passcodes, key files and the client set-up iomt-kclient shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ct.h"
#include "kclient.h"

static const char *cur_cmd = "";

void kc_set_cmd(const char *cmd)
{
	cur_cmd = cmd;
}

int kc_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iomt-kclient: %s: ", cur_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int kc_passcode_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return kc_fail(KC_EXIT_KEYFILE, "passcode file %s: %s", path, strerror(errno));
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!n)
		return kc_fail(KC_EXIT_KEYFILE, "passcode file %s: the first line is empty", path);
	return 0;
}

int kc_keyfile_load(const char *path, const char *passcode_file, struct rt_keyfile *kf)
{
	char pass[KC_PASSCODE_MAX], err[256];
	int r;

	pass[0] = '\0';
	if (passcode_file && (r = kc_passcode_read(passcode_file, pass, sizeof(pass))))
		return r;
	r = rt_keyfile_read(path, passcode_file ? pass : NULL, kf, err, sizeof(err));
	iomt_wipe(pass, sizeof(pass));
	if (r)
		return kc_fail(KC_EXIT_KEYFILE, "key file %s: %s", path, err);
	return 0;
}

static int parse_transport(const char *t, enum rt_kclient_transport *out)
{
	if (!t || !strcmp(t, "auto"))
		*out = RT_KCLIENT_AUTO;
	else if (!strcmp(t, "udp"))
		*out = RT_KCLIENT_UDP;
	else if (!strcmp(t, "tcp"))
		*out = RT_KCLIENT_TCP;
	else
		return kc_fail(KC_EXIT_USAGE, "--transport: '%s' is not auto, udp or tcp", t);
	return 0;
}

int kc_parse_offset(const char *t, int64_t *out)
{
	char *end;

	*out = 0;
	if (!t)
		return 0;
	errno = 0;
	*out = strtoll(t, &end, 10);
	if (!*t || *end || errno)
		return kc_fail(KC_EXIT_USAGE, "--clock-offset: '%s' is not a number of ms", t);
	return 0;
}

int kc_client_open(const struct kc_client_args *a, struct rt_kclient *k)
{
	struct rt_kclient_opts o = { .kdc = a->kdc };
	struct rt_keyfile kf;
	unsigned long timeout, retries;
	int r;

	if (kc_opt_uint("timeout", a->timeout, RT_KCLIENT_TIMEOUT_MS, 600000, &timeout) ||
	    kc_opt_uint("retries", a->retries, RT_KCLIENT_RETRIES, 20, &retries))
		return KC_EXIT_USAGE;
	if ((r = parse_transport(a->transport, &o.transport)) ||
	    (r = kc_parse_offset(a->clock_offset, &o.clock_offset_ms)))
		return r;
	o.timeout_ms = timeout ? (unsigned)timeout : 1;
	o.retries = (int)retries;
	if ((r = kc_keyfile_load(a->key, a->passcode_file, &kf)))
		return r;
	r = rt_kclient_init(k, &kf, &o);
	rt_keyfile_wipe(&kf);
	if (r)
		return kc_fail(r == -EINVAL && !strncmp(k->err, "KDC", 3) ? KC_EXIT_USAGE
									  : KC_EXIT_KEYFILE,
			       "%s", k->err);
	return 0;
}

int kc_client_status(const struct rt_kclient *k, int r)
{
	if (!r)
		return KC_EXIT_OK;
	if (r > 0 && k->last_code == r)
		return kc_fail(KC_EXIT_REFUSED, "%s", rt_kclient_error(k));
	if (r == -ETIMEDOUT || r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ENETUNREACH)
		return kc_fail(KC_EXIT_NO_ANSWER, "%s", rt_kclient_error(k));
	if (r == -EINVAL)
		return kc_fail(KC_EXIT_USAGE, "%s", rt_kclient_error(k));
	return kc_fail(KC_EXIT_FAIL, "%s", rt_kclient_error(k));
}

const char *kc_time_str(unsigned long long ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
	return buf;
}
