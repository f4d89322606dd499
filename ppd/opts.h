/* SPDX-License-Identifier: MIT */
/* Options of the offline subcommands (init, backup, restore, log). */
#ifndef IOMT_PPD_OPTS_H
#define IOMT_PPD_OPTS_H
#include <stddef.h>

enum { PPD_SHARES_MAX = 255 };

struct ppd_opts {
	const char *dir, *passphrase_file, *out_dir, *log, *pub, *out, *threshold, *shares;
	const char *share[PPD_SHARES_MAX];
	int nshare;
	int json;
	const char *prog;	/* "iomt-ppd backup", for messages */
};

/* --name VALUE or --name=VALUE; --share repeats. 0, or -1 after printing
 * what is wrong to stderr. */
int ppd_opts_parse(struct ppd_opts *o, const char *prog, int argc, char **argv);
/* Prints "prog: message" to stderr; returns 1 (the exit status). */
int ppd_fail(const struct ppd_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks that every option named in the space-separated list was given. */
int ppd_opts_require(struct ppd_opts *o, const char *names);

/* The passphrase from --passphrase-file, else the first line of stdin:
 * 0, or 1 after saying why. */
int ppd_passphrase(const struct ppd_opts *o, char *buf, size_t cap);

int ppd_cmd_init(int argc, char **argv);
int ppd_cmd_backup(int argc, char **argv);
int ppd_cmd_restore(int argc, char **argv);
int ppd_cmd_log(int argc, char **argv);
int ppd_cmd_serve(int argc, char **argv);

#endif
