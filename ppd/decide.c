/* SPDX-License-Identifier: MIT */
/*
 * The patient's decision on a consent request: the policy file, the
 * prompt, or the policy first and the prompt for what it leaves open
 * (config 'consent'). With no prompt to ask, "ask" is a refusal.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/rt_daemon.h"
#include "lib/rt_knet.h"
#include "lib/rt_log.h"
#include "ppd.h"
#include "prompt.h"

enum { SUMMARY_MAX = 2048 };

static void when(uint64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The note is the requester's text: only printable ASCII reaches the
 * terminal, so it cannot carry escape sequences. */
static void clean(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 1 < cap; in++)
		out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[n] = '\0';
}

/* What the keys open: from the first node's start to the last node's end
 * (Unix ms), which may reach past [from, to] to whole nodes. */
static void span(const struct iomt_consent_req *q, uint64_t *lo, uint64_t *hi)
{
	const struct iomt_keytree_conf *c = &q->meta.conf;

	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < q->count; i++) {
		uint64_t first, count, a, b;

		if (iomt_keytree_node_range(c, &q->nodes[i].node, &first, &count))
			continue;
		a = (c->epoch_start + first * c->leaf_period_s) * 1000;
		b = a + count * c->leaf_period_s * 1000 - 1;
		*lo = a < *lo ? a : *lo;
		*hi = b > *hi ? b : *hi;
	}
}

static void summary(const struct iomt_consent_req *q, char *out, size_t cap)
{
	char from[40], to[40], until[40], req[IOMT_KDC_NAME_LEN + 1], sensor[IOMT_KDC_NAME_LEN + 1];
	char klo[40], khi[40];
	uint64_t lo, hi;
	char note[IOMT_CONSENT_NOTE_MAX + 1];
	uint64_t s = q->decrypt_for_s;

	ppd_name(q->requester, req);
	ppd_name(q->meta.sensor_id, sensor);
	when(q->from_ms, from, sizeof(from));
	when(q->to_ms, to, sizeof(to));
	when(q->expires_ms, until, sizeof(until));
	clean(q->note, note, sizeof(note));
	span(q, &lo, &hi);
	when(lo, klo, sizeof(klo));
	when(hi, khi, sizeof(khi));
	snprintf(out, cap,
		 "\n=== Request to read your health data ===\n"
		 "  Who:        %s\n"
		 "  Why:        %s\n"
		 "  Sensor:     %s\n"
		 "  Data from:  %s\n"
		 "  Data to:    %s\n"
		 "  Decrypted:  for %llu h %02llu min after release\n"
		 "  Keys:       %u, opening data from %s to %s\n"
		 "  Note:       %s\n"
		 "  (request valid until %s)\n",
		 req, iomt_consent_purpose_name(q->purpose), sensor[0] ? sensor : "(any)", from, to,
		 (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60), q->count, klo, khi,
		 note[0] ? note : "(none)", until);
}

static void ask(struct ppd *p, const struct iomt_consent_req *q, struct ppd_decision *d)
{
	static char text[SUMMARY_MAX];
	enum ppd_answer a;

	uint64_t end = rt_knet_mono_ms() + p->cfg->prompt_timeout, now;

	d->by = "prompt";
	d->rule = 0;
	summary(q, text, sizeof(text));
	for (;;) {
		now = rt_knet_mono_ms();
		a = ppd_prompt_ask(p->tty, text, now < end ? end - now : 0, p->sfd);
		if (a != PPD_ANSWER_INTERRUPTED)
			break;
		/* A signal while the patient reads: a stop ends the question
		 * (refused); a reload waits for the answer. */
		p->pending |= rt_daemon_signal_read(p->sfd);
		if (p->pending & RT_SIG_STOP) {
			rt_warn("stopping: the open question is refused");
			a = PPD_ANSWER_TIMEOUT;
			break;
		}
	}
	d->approve = a == PPD_ANSWER_YES;
	d->reason = a == PPD_ANSWER_NO ? IOMT_RELEASE_R_PATIENT : IOMT_RELEASE_R_TIMEOUT;
	if (a == PPD_ANSWER_GONE)
		rt_warn("prompt_tty %s: the terminal is gone: refused", p->cfg->prompt_tty);
}

void ppd_decide(struct ppd *p, const struct iomt_consent_req *q, struct ppd_decision *d)
{
	enum ppd_verdict v;
	unsigned line;

	memset(d, 0, sizeof(*d));
	if (p->cfg->consent_mode == PPD_CONSENT_PROMPT) {
		ask(p, q, d);
		return;
	}
	v = ppd_policy_decide(&p->policy, q->requester, q->purpose,
			      q->to_ms - q->from_ms, &line);
	if (v == PPD_ASK && p->cfg->consent_mode == PPD_CONSENT_POLICY_PROMPT && p->tty >= 0) {
		ask(p, q, d);
		return;
	}
	d->by = "policy";
	d->rule = line;
	d->approve = v == PPD_ALLOW;
	d->reason = IOMT_RELEASE_R_POLICY;
}
