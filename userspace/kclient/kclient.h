/* SPDX-License-Identifier: MIT */
/*
 * iomt-kclient: the KDC client and a simple AP service, for operators,
 * tests and scripts. One file per subcommand; this header holds what they
 * share.
 *
 * Exit status (every subcommand):
 *   0  done
 *   1  refused: the KDC or the service answered with an error code
 *      (printed as "code N (text)")
 *   2  usage: bad or missing options
 *   3  key file: missing, unreadable, corrupted, passcode needed or wrong
 *   4  no answer: the KDC or service did not answer in time
 *   5  other failure: answers that did not verify, local errors
 */
#ifndef IOMT_KCLIENT_H
#define IOMT_KCLIENT_H

#include <stddef.h>

#include "lib/rt_kclient.h"
#include "lib/rt_keyfile.h"

enum {
	KC_EXIT_OK = 0,
	KC_EXIT_REFUSED = 1,
	KC_EXIT_USAGE = 2,
	KC_EXIT_KEYFILE = 3,
	KC_EXIT_NO_ANSWER = 4,
	KC_EXIT_FAIL = 5,
	KC_PASSCODE_MAX = 1024,
};

struct kc_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};
int cmd_ticket(int argc, char **argv);
int cmd_ap(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* "iomt-kclient: <cmd>: <message>" on stderr; returns status. */
int kc_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kc_set_cmd(const char *cmd);

/* One "--name VALUE" option; *value stays NULL when absent. */
struct kc_opt {
	const char *name;	/* without the leading "--" */
	const char **value;
	int required;
};
/* -1 to go on, else the exit status (KC_EXIT_OK after --help). */
int kc_opts_parse(int argc, char **argv, const struct kc_opt *opts, const char *usage);
/* A non-negative integer option (NULL: def) within max: 0, or -1 (message). */
int kc_opt_uint(const char *name, const char *text, unsigned long def, unsigned long max,
		unsigned long *out);

/* The first line of a passcode file into buf (wipe it after use): 0 or an
 * exit status (message printed). */
int kc_passcode_read(const char *path, char *buf, size_t len);
/* Reads a key file (passcode from path, or none): 0 or KC_EXIT_KEYFILE. */
int kc_keyfile_load(const char *path, const char *passcode_file, struct rt_keyfile *kf);

/* The client options every KDC-facing command takes. */
struct kc_client_args {
	const char *key, *passcode_file, *kdc, *transport, *timeout, *retries, *clock_offset;
};
#define KC_CLIENT_OPTS(a)                                                   \
	{ "key", &(a).key, 1 }, { "passcode-file", &(a).passcode_file, 0 }, \
	{ "kdc", &(a).kdc, 1 }, { "transport", &(a).transport, 0 },         \
	{ "timeout", &(a).timeout, 0 }, { "retries", &(a).retries, 0 },     \
	{ "clock-offset", &(a).clock_offset, 0 }
#define KC_CLIENT_USAGE                                                                   \
	"  --key FILE             this principal's key file (iomt-kdc admin export-key)\n" \
	"  --passcode-file FILE   its passcode, first line (passcode-wrapped key files)\n" \
	"  --kdc HOST:PORT        the KDC (UDP; TCP when asked or when UDP gets no answer)\n" \
	"  --transport auto|udp|tcp   default auto\n"                                          \
	"  --timeout MS           first wait for an answer (doubles per retry; default 500)\n" \
	"  --retries N            UDP retries per exchange (default 3)\n"                   \
	"  --clock-offset MS      add MS to our clock (testing clock skew; may be negative)\n"
/* --clock-offset MS: 0, or KC_EXIT_USAGE (message printed). */
int kc_parse_offset(const char *t, int64_t *out);
/* A ready client from the options: 0 or an exit status (message printed). */
int kc_client_open(const struct kc_client_args *a, struct rt_kclient *k);
/* The exit status for an rt_kclient result (message printed on failure). */
int kc_client_status(const struct rt_kclient *k, int r);

/* One line of facts about the ticket k holds (cmd_ticket.c). */
void kc_print_ticket(const struct rt_kclient *k);

/* Unix ms as ISO-8601 UTC: buf of 32 bytes. */
const char *kc_time_str(unsigned long long ms, char *buf, size_t len);

#endif
