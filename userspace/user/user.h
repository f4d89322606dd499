/* SPDX-License-Identifier: MIT */
/*
 * iomt-user: the patient's, doctor's and MEC operator's tool for seed 002
 * phases 1 (ECQV registration) and 2 (analysis set-up). One file per
 * subcommand; this header holds what they share. File formats and messages:
 * docs/PROTOCOL.md §4.
 *
 * Exit status: 0 done, 1 failed (a message on stderr says why), 2 usage.
 */
#ifndef IOMT_USER_H
#define IOMT_USER_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/types.h>
#include "hex.h"
#include "lib/ecqv.h"

enum {
	USER_EXIT_OK = 0,
	USER_EXIT_FAIL = 1,
	USER_EXIT_USAGE = 2,
	USER_REQ_LEN = ECQV_POINT_LEN,			/* REQ: R_U */
	USER_SECRET_LEN = ECQV_SCALAR_LEN,		/* REQ.secret: k_U */
	USER_ISSUED_LEN = ECQV_CERT_LEN + ECQV_SCALAR_LEN,	/* cert || r */
	USER_KEYFILE_MAGIC_LEN = 4,			/* "IUK" || version */
	USER_KEYFILE_VERSION = 1,
	USER_KEYFILE_LEN = USER_KEYFILE_MAGIC_LEN + ECQV_CERT_LEN + ECQV_SCALAR_LEN,
	USER_TIMEOUT_S = 10,				/* connect, send, reply */
};

/* ---- subcommands (cmd_*.c) ---- */
struct user_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};
int cmd_keygen(int argc, char **argv);
int cmd_finish(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_create_analysis(int argc, char **argv);
int cmd_unseal(int argc, char **argv);
int cmd_request(int argc, char **argv);		/* phase 5 (cmd_request.c) */
int cmd_alerts(int argc, char **argv);		/* phase 6 (cmd_alerts.c) */
/* A USER_ERR / LINK_ERR code's name and meaning, phases 2, 5 and 6. */
const char *p56_code_text(uint8_t code);

/* ---- messages (util.c) ---- */
/* "iomt-user: <cmd>: <message>" on stderr; returns USER_EXIT_FAIL. */
int user_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void user_set_cmd(const char *cmd);

/* ---- options (opts.c) ---- */
/* One "--name VALUE" option; *value stays NULL when absent. */
struct user_opt {
	const char *name;	/* without the leading "--" */
	const char **value;
	int required;
};
/*
 * Parses argv[1..) against opts ("--name VALUE" or "--name=VALUE"); --help
 * prints usage to stdout. Returns -1 to go on, else the exit status to
 * return (USER_EXIT_OK after --help, USER_EXIT_USAGE after an error, which
 * is printed with the usage).
 */
int user_opts_parse(int argc, char **argv, const struct user_opt *opts, const char *usage);

/* ---- files (files.c) ---- */
/*
 * Reads a whole file of at most cap bytes. 0, or -1 with a message printed
 * that names the file (missing, unreadable, larger than cap).
 */
int file_read(const char *what, const char *path, uint8_t *buf, size_t cap, size_t *len);
/* The same for a file that must be exactly len bytes. */
int file_read_exact(const char *what, const char *path, uint8_t *buf, size_t len);
/*
 * Writes a new file with this mode, atomically: a temporary file in the
 * same directory, fsync, then link(2) so an existing path is never
 * overwritten (an error, printed, if it exists). 0 or -1.
 */
int file_create(const char *what, const char *path, const void *buf, size_t len, unsigned mode);
/* Overwrites the file with zeros, fsyncs and unlinks it. 0 or -1. */
int file_shred(const char *path);
/* "dir/name" into out; -1 (printed) if it does not fit. */
int path_join(char *out, size_t cap, const char *dir, const char *name);

/* ---- keys (keyfile.c) ---- */
struct user_key {
	struct ecqv_cert cert;
	EVP_PKEY *key;		/* P-256 pair: d and Q = d*G */
};
/* Reads and checks KEYFILE (docs/PROTOCOL.md §4.1); -1 with a message. */
int keyfile_load(const char *path, struct user_key *k);
/* Writes a new KEYFILE, mode 0600, from the certificate and the pair. */
int keyfile_store(const char *path, const struct ecqv_cert *cert, EVP_PKEY *key);
void keyfile_free(struct user_key *k);
/* Checks the pair is the one the certificate names under ca_pub at now. */
int keyfile_check_cert(const struct user_key *k, const EVP_PKEY *ca_pub, uint64_t now);
/* CA.pem: a PEM SubjectPublicKeyInfo for a P-256 key; -1 with a message. */
int ca_pub_load(const char *path, EVP_PKEY **pub);
/* Compressed public point of a P-256 key; 0 or -1. */
int key_pub33(const EVP_PKEY *key, uint8_t out[ECQV_POINT_LEN]);
/* One line each about a certificate's validity: message for an error. */
void cert_window_explain(const struct ecqv_cert *cert, uint64_t now);

/* ---- text (util.c) ---- */
/* UTC "2026-01-01T00:00:00Z"; out holds 32. */
void time_format(char out[32], uint64_t t);
uint64_t user_now(void);
/* An id as text when it is printable ASCII (NUL padding dropped), else hex;
 * out holds 2 * ECQV_ID_LEN + 1. */
void id_format(char *out, const uint8_t id[ECQV_ID_LEN]);
const char *role_name(uint8_t role);
/* Decimal in lo..hi; 0 or -1. */
int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out);

/* ---- the TTP connection (net.c) ---- */
/* "host:port" or "[v6]:port"; connects within timeout_ms. fd or -1 (printed). */
int net_connect(const char *hostport, int timeout_ms);
/* Sends one frame; 0 or -1 (printed). */
int net_send_frame(int fd, uint8_t type, const uint8_t *payload, size_t len, int timeout_ms);
/* Receives one frame into buf (header included); payload and its type out.
 * 0 or -1 (printed: timeout, closed, corrupt). */
int net_recv_frame(int fd, uint8_t *buf, size_t cap, uint8_t *type, const uint8_t **payload,
		   size_t *plen, int timeout_ms);

#endif
