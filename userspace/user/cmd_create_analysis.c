// SPDX-License-Identifier: MIT
/*
 * iomt-user create-analysis: seed 002 phase 2 from the patient's or doctor's
 * side. One signed S2_ANALYSIS_REQ to the TTP, one S2_ANALYSIS_RESP (sealed
 * to our key) or S2_USER_ERR back; the device keys go to DIR/devices.prov
 * for 'iomt-sensor provision'.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ct.h"
#include "iomt_err.h"
#include "lib/rt_rng.h"
#include "lib/s2_phase2.h"
#include "wire.h"
#include "user.h"

static const char usage[] =
	"Usage: iomt-user create-analysis --key KEYFILE --ca-pub CA.pem --ttp HOST:PORT\n"
	"                                 --devices N [--policy TEXT] --out-dir DIR\n"
	"                                 [--timeout SECONDS]\n"
	"\n"
	"Phase 2 (monitoring initialisation): asks the TTP for an analysis with N\n"
	"devices (1..64), signed with KEYFILE; the TTP checks the certificate and the\n"
	"policy (at most 512 printable ASCII characters) and answers with the analysis\n"
	"id and one (DID, DK) per device, sealed to this key. Writes\n"
	"  DIR/analysis.id   the analysis id ID_a, 32 hex digits\n"
	"  DIR/devices.prov  'did=<32 hex> dk=<32 hex>' per device, mode 0600,\n"
	"                    for 'iomt-sensor provision'\n"
	"DIR is created (mode 0700) if missing; existing files are never overwritten.\n"
	"Connecting, sending and waiting for the reply each time out after\n"
	"--timeout seconds (default 10).\n";

enum {
	PROV_LINE_LEN = 4 + 2 * S2_ID_LEN + 4 + 2 * S2_KEY_LEN + 1,	/* did= dk= \n */
	REPLY_CAP = IOMT_WIRE_HDR_LEN + S2_ANALYSIS_RESP_MAX,
	PATH_LEN = 4096,
};

struct analysis {
	const char *key_path, *ca_path, *ttp, *devices, *policy, *dir, *timeout;
	char id_path[PATH_LEN], prov_path[PATH_LEN];
	unsigned long ndevices, timeout_s;
	struct user_key key;
	EVP_PKEY *ca_pub;
	uint8_t nonce[S2_NONCE_LEN];
	uint8_t id_a[S2_ID_LEN];
	uint8_t did[S2_NDEVICES_MAX][S2_ID_LEN], dk[S2_NDEVICES_MAX][S2_KEY_LEN];
	uint16_t n;
};

static const char *s2_code_text(uint8_t code)
{
	switch (code) {
	case IOMT_S2_ERR_MALFORMED: return "MALFORMED (the TTP could not parse the request)";
	case IOMT_S2_ERR_BUSY: return "BUSY (the TTP is overloaded or shutting down: retry later)";
	case IOMT_S2_ERR_INTERNAL: return "INTERNAL (the TTP could not commit: retry later)";
	case IOMT_S2_ERR_DENIED:
		return "DENIED (signature, certificate or policy not accepted)";
	case IOMT_S2_ERR_UNKNOWN_DEVICE: return "UNKNOWN_DEVICE";
	case IOMT_S2_ERR_UNKNOWN_MEC: return "UNKNOWN_MEC";
	case IOMT_S2_ERR_BAD_DEVICE: return "BAD_DEVICE";
	case IOMT_S2_ERR_BAD_MEC: return "BAD_MEC";
	}
	return "unknown code";
}

/* The outputs must be new: a second analysis never replaces the first's keys. */
static int out_dir_ready(struct analysis *a)
{
	struct stat st;

	if (mkdir(a->dir, 0700) && errno != EEXIST)
		return user_fail("--out-dir %s: %m", a->dir);
	if (stat(a->dir, &st) || !S_ISDIR(st.st_mode))
		return user_fail("--out-dir %s: not a directory", a->dir);
	if (path_join(a->id_path, sizeof(a->id_path), a->dir, "analysis.id") ||
	    path_join(a->prov_path, sizeof(a->prov_path), a->dir, "devices.prov"))
		return USER_EXIT_FAIL;
	if (!access(a->prov_path, F_OK) || !access(a->id_path, F_OK))
		return user_fail("%s already holds an analysis: choose another --out-dir",
				 a->dir);
	return 0;
}

static int analysis_args(struct analysis *a)
{
	if (parse_uint(a->devices, 1, S2_NDEVICES_MAX, &a->ndevices))
		return user_fail("--devices %s: expected a number of devices, 1..%d", a->devices,
				 S2_NDEVICES_MAX);
	a->timeout_s = USER_TIMEOUT_S;
	if (a->timeout && parse_uint(a->timeout, 1, 600, &a->timeout_s))
		return user_fail("--timeout %s: expected seconds, 1..600", a->timeout);
	return 0;
}

/* Key, CA key and certificate: all checked before anything goes out. */
static int analysis_keys(struct analysis *a, uint64_t now)
{
	if (keyfile_load(a->key_path, &a->key) || ca_pub_load(a->ca_path, &a->ca_pub) ||
	    keyfile_check_cert(&a->key, a->ca_pub, now))
		return USER_EXIT_FAIL;
	return 0;
}

static int request_build(struct analysis *a, uint64_t now, uint8_t *req, size_t *len)
{
	int err;

	if (rt_random(a->nonce, sizeof(a->nonce)))
		return user_fail("getrandom: %m");
	err = s2_analysis_req_build(a->key.key, &a->key.cert, now, a->nonce,
				    (uint16_t)a->ndevices, a->policy, req, S2_ANALYSIS_REQ_MAX,
				    len);
	if (err == IOMT_EINVAL && a->policy)
		return user_fail("--policy: at most %d printable ASCII characters",
				 S2_POLICY_MAX);
	if (err)
		return user_fail("cannot sign the request: %s", iomt_strerror(err));
	return 0;
}

/* The reply's payload: ours, opened, with as many devices as asked. */
static int reply_take(struct analysis *a, uint8_t type, const uint8_t *p, size_t len)
{
	int err;

	if (type == IOMT_MSG_S2_USER_ERR)
		return user_fail("the TTP refused the request: %s", s2_code_text(p[0]));
	if (type != IOMT_MSG_S2_ANALYSIS_RESP)
		return user_fail("the TTP answered with message type 0x%02x, not a response",
				 type);
	err = s2_analysis_resp_open(a->key.key, a->nonce, p, len, a->id_a, &a->n, a->did,
				    a->dk, S2_NDEVICES_MAX);
	if (err)
		return user_fail("the TTP's response does not open with this key and request "
				 "(%s)", iomt_strerror(err));
	if (a->n != a->ndevices)
		return user_fail("the TTP provisioned %u devices, %lu were asked for", a->n,
				 a->ndevices);
	return 0;
}

static int exchange(struct analysis *a, const uint8_t *req, size_t len)
{
	static uint8_t reply[REPLY_CAP];
	const uint8_t *p;
	size_t plen;
	uint8_t type;
	int ms = (int)a->timeout_s * 1000, fd = net_connect(a->ttp, ms), rc;

	if (fd < 0)
		return USER_EXIT_FAIL;
	rc = net_send_frame(fd, IOMT_MSG_S2_ANALYSIS_REQ, req, len, ms) ||
	     net_recv_frame(fd, reply, sizeof(reply), &type, &p, &plen, ms);
	close(fd);
	if (!rc)
		rc = reply_take(a, type, p, plen);
	iomt_wipe(reply, sizeof(reply));
	return rc ? USER_EXIT_FAIL : 0;
}

static int outputs_write(struct analysis *a)
{
	static char prov[S2_NDEVICES_MAX * PROV_LINE_LEN + 1];
	char id_line[2 * S2_ID_LEN + 2], did[2 * S2_ID_LEN + 1], dk[2 * S2_KEY_LEN + 1];
	size_t off = 0;
	int rc;

	for (uint16_t i = 0; i < a->n; i++) {
		iomt_hex_encode(a->did[i], S2_ID_LEN, did);
		iomt_hex_encode(a->dk[i], S2_KEY_LEN, dk);
		off += (size_t)snprintf(prov + off, sizeof(prov) - off, "did=%s dk=%s\n", did, dk);
	}
	iomt_hex_encode(a->id_a, S2_ID_LEN, id_line);
	strcat(id_line, "\n");
	rc = file_create("device provisioning", a->prov_path, prov, off, 0600) ||
	     file_create("analysis id", a->id_path, id_line, strlen(id_line), 0644);
	iomt_wipe(dk, sizeof(dk));
	iomt_wipe(prov, sizeof(prov));
	if (!rc)
		printf("analysis %.*s: %u devices provisioned in %s\n", 2 * S2_ID_LEN, id_line,
		       a->n, a->prov_path);
	return rc ? USER_EXIT_FAIL : 0;
}

int cmd_create_analysis(int argc, char **argv)
{
	static struct analysis a;
	const struct user_opt opts[] = {
		{ "key", &a.key_path, 1 }, { "ca-pub", &a.ca_path, 1 }, { "ttp", &a.ttp, 1 },
		{ "devices", &a.devices, 1 }, { "policy", &a.policy, 0 },
		{ "out-dir", &a.dir, 1 }, { "timeout", &a.timeout, 0 }, { NULL, NULL, 0 } };
	uint8_t req[S2_ANALYSIS_REQ_MAX];
	size_t len;
	uint64_t now = user_now();
	int rc = user_opts_parse(argc, argv, opts, usage);

	if (rc >= 0)
		return rc;
	rc = analysis_args(&a);
	if (!rc)
		rc = analysis_keys(&a, now);
	if (!rc)
		rc = out_dir_ready(&a);
	if (!rc)
		rc = request_build(&a, now, req, &len);
	if (!rc)
		rc = exchange(&a, req, len);
	if (!rc)
		rc = outputs_write(&a);
	keyfile_free(&a.key);
	EVP_PKEY_free(a.ca_pub);
	iomt_wipe(&a, sizeof(a));
	return rc;
}
