/* SPDX-License-Identifier: MIT */
/*
 * Analysis access policies (seed 002 phases 5 and 6): the grammar of the
 * phase-2 `policy` text and its evaluation at the TTP against a user's
 * certificate (role and attributes). docs/PROTOCOL.md §9.1.
 *
 *   policy  = [ item *( ";" item ) ]
 *   item    = *SP ( rule / setting ) *SP
 *   rule    = verb ":" 1*( 1*SP cond )          verb = "read" / "alert"
 *   setting = cond                               kept, never evaluated (study=, retain=)
 *   cond    = key "=" value *( "," value )       alternatives
 *   key     = 1*( a-z / 0-9 / "_" / "-" )
 *   value   = 1*( A-Z / a-z / 0-9 / "." / "_" / "-" / "@" )
 *
 * A user may read (alert) when the user is the analysis's patient, or when
 * one read (alert) rule has every condition satisfied: "role" against the
 * certificate's role name (patient, doctor, mec, device, other), any other
 * key against the certificate attributes, read as key=value pairs separated
 * by ',', ';' or ' '. No rule of a verb: nobody but the patient.
 */
#ifndef IOMT_S2_POLICY_H
#define IOMT_S2_POLICY_H
#include <stddef.h>
#include <stdint.h>

#include "ecqv.h"

enum {
	S2_POLICY_RULES_MAX = 8,
	S2_POLICY_CONDS_MAX = 8,
	S2_POLICY_TOKEN_MAX = 32,	/* key or value list */
};

enum s2_policy_verb { S2_POLICY_READ = 1, S2_POLICY_ALERT = 2 };

struct s2_policy_cond {
	char key[S2_POLICY_TOKEN_MAX + 1];
	char values[S2_POLICY_TOKEN_MAX + 1];	/* "a,b,c" */
};

struct s2_policy_rule {
	uint8_t verb;				/* enum s2_policy_verb */
	uint8_t n;
	struct s2_policy_cond cond[S2_POLICY_CONDS_MAX];
};

struct s2_policy {
	uint8_t n;
	struct s2_policy_rule rule[S2_POLICY_RULES_MAX];
};

/* Strict parse: 0, or IOMT_EMALFORMED with a reason in err (may be NULL). */
int s2_policy_parse(const char *text, struct s2_policy *out, char *err, size_t errlen);

/* 1 if a rule of this verb matches the certificate, else 0. The patient
 * clause (owner) is the caller's. */
int s2_policy_allows(const struct s2_policy *p, uint8_t verb, const struct ecqv_cert *cert);

/* "patient", "doctor", "mec", "device", "other"; NULL for another value. */
const char *s2_role_name(uint8_t role);

#endif
