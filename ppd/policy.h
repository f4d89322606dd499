/* SPDX-License-Identifier: MIT */
/*
 * The patient's consent policy (ppd/README.md): lines
 *   allow|deny|ask requester=NAME|* purpose=treatment|emergency|research|quality|* [max_range=DURATION]
 * first match wins; no match: ask. max_range makes a rule match only
 * requests whose data range (to - from) is at most that long.
 */
#ifndef IOMT_PPD_POLICY_H
#define IOMT_PPD_POLICY_H
#include <stddef.h>
#include <stdint.h>

#include "kdc.h"

enum ppd_verdict {
	PPD_ASK = 0,
	PPD_ALLOW = 1,
	PPD_DENY = 2,
};

struct ppd_rule {
	uint8_t verdict;                        /* enum ppd_verdict */
	uint8_t any_requester;
	uint8_t requester[IOMT_KDC_NAME_LEN];
	uint8_t purpose;                        /* 0: any */
	uint64_t max_range_ms;                  /* 0: no limit */
	unsigned line;
};

struct ppd_policy {
	struct ppd_rule *v;
	size_t n;
};

/* 0, or -errno with "path:line: why" in err; an absent file is an empty policy. */
int ppd_policy_load(const char *path, struct ppd_policy *p, char *err, size_t errlen);
/* The verdict of the first rule that matches (*line its line), else ASK (*line 0). */
enum ppd_verdict ppd_policy_decide(const struct ppd_policy *p,
				   const uint8_t requester[IOMT_KDC_NAME_LEN], unsigned purpose,
				   uint64_t range_ms, unsigned *line);
const char *ppd_verdict_name(enum ppd_verdict v);
void ppd_policy_free(struct ppd_policy *p);

#endif
