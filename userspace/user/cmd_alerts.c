// SPDX-License-Identifier: MIT
/*
 * iomt-user alerts: seed 002 phase 6 from the patient's or doctor's side.
 * A P6_FETCH to the MEC naming our public key Q_U, signed with it (no
 * certificate: the MEC matches alerts by Q_U and learns no name); each pending alert arrives as P6_ALERT
 * (sealed to our key, signed by the MEC inside), is recorded in the state
 * file (alert ids already seen), printed once, and acknowledged (P6_ACK);
 * P6_END closes the exchange. An alert delivered again (the connection
 * broke before its acknowledgement) is acknowledged and not printed again.
 */
#define OPENSSL_API_COMPAT 0x30000000L
#define OPENSSL_NO_DEPRECATED
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bytes.h"
#include "ct.h"
#include "iomt_err.h"
#include "lib/analysis.h"
#include "lib/rt_rng.h"
#include "lib/s2_p56.h"
#include "user.h"
#include "wire.h"

static const char usage[] =
	"Usage: iomt-user alerts --mec HOST:PORT --key KEYFILE --ca-pub CA.pem\n"
	"                        [--state FILE] [--timeout SECONDS] [--drop-after N]\n"
	"\n"
	"Phase 6: receives this user's pending emergency alerts from the MEC, checks\n"
	"each (sealed to KEYFILE's key, signed by a MEC certified under CA.pem), prints\n"
	"each new one and acknowledges it. Alert ids are kept in --state (default\n"
	"KEYFILE.alerts) before the acknowledgement, so an alert delivered again is\n"
	"acknowledged without being printed twice. The MEC is shown KEYFILE's public\n"
	"key and a signature with it, never the certificate. --drop-after N (tests)\n"
	"closes the connection after the Nth alert, before acknowledging it.\n";

enum { STATE_LINE = 33, FRAME_CAP = IOMT_WIRE_HDR_LEN + P56_ALERT_MAX, PATH_LEN = 4096 };

static int seen(const char *state, const char hex[33])
{
	char line[64];
	FILE *f = fopen(state, "re");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, hex, 32) && line[32] == '\n';
	fclose(f);
	return found;
}

static int remember(const char *state, const char hex[33])
{
	char line[STATE_LINE];
	int fd = open(state, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), ok;

	if (fd < 0)
		return user_fail("--state %s: %m", state);
	memcpy(line, hex, 32);
	line[32] = '\n';
	ok = write(fd, line, sizeof(line)) == (ssize_t)sizeof(line) && !fsync(fd);
	close(fd);
	return ok ? 0 : user_fail("--state %s: cannot record the alert: %m", state);
}

static void print_alert(const struct p56_alert *a, const char *hex)
{
	char id_a[33], mec[2 * ECQV_ID_LEN + 1], when[32];
	struct an_result r;
	const struct analysis_ops *ops;

	iomt_hex_encode(a->id_a, sizeof(a->id_a), id_a);
	id_format(mec, a->mec_cert.subject);
	time_format(when, a->ts);
	printf("ALERT %s: analysis %s, from MEC %s at %s", hex, id_a, mec, when);
	if (a->res_len >= AN_RESULT_LEN && !an_result_decode(a->result, &r)) {
		ops = an_find(r.analysis);
		printf(": %s verdict %u, window %llu..%llu ms, metrics %lld %lld", ops ? ops->name : "?",
		       r.verdict, (unsigned long long)r.win_start_ms,
		       (unsigned long long)r.win_end_ms, (long long)r.metric[0],
		       (long long)r.metric[1]);
	}
	printf("\n");
	fflush(stdout);
}

int cmd_alerts(int argc, char **argv)
{
	static uint8_t buf[FRAME_CAP];
	static struct p56_alert a;
	const char *mec = NULL, *key_path = NULL, *ca_path = NULL, *state = NULL,
		   *timeout = NULL, *drop = NULL;
	const struct user_opt opts[] = {
		{ "mec", &mec, 1 }, { "key", &key_path, 1 }, { "ca-pub", &ca_path, 1 },
		{ "state", &state, 0 }, { "timeout", &timeout, 0 }, { "drop-after", &drop, 0 },
		{ NULL, NULL, 0 } };
	char state_buf[PATH_LEN], hex[33];
	unsigned long timeout_s = USER_TIMEOUT_S, drop_after = 0, got = 0, fresh = 0;
	uint8_t msg[P56_FETCH_MAX], nonce[P56_NONCE_LEN], ack[P56_ACK_LEN], type;
	struct user_key key = { 0 };
	EVP_PKEY *ca_pub = NULL;
	const uint8_t *p;
	size_t len, plen;
	uint64_t now = user_now();
	int rc = user_opts_parse(argc, argv, opts, usage), fd = -1, ms, err;

	if (rc >= 0)
		return rc;
	if (timeout && parse_uint(timeout, 1, 600, &timeout_s))
		return user_fail("--timeout %s: expected seconds, 1..600", timeout);
	if (drop && parse_uint(drop, 1, 65535, &drop_after))
		return user_fail("--drop-after %s: expected a count, 1..65535", drop);
	if (!state) {
		if ((size_t)snprintf(state_buf, sizeof(state_buf), "%s.alerts", key_path) >=
		    sizeof(state_buf))
			return user_fail("--key: path too long");
		state = state_buf;
	}
	ms = (int)timeout_s * 1000;
	rc = keyfile_load(key_path, &key) || ca_pub_load(ca_path, &ca_pub) ||
	     keyfile_check_cert(&key, ca_pub, now) ? USER_EXIT_FAIL : 0;
	if (!rc && rt_random(nonce, sizeof(nonce)))
		rc = user_fail("getrandom: %m");
	if (!rc && (err = p56_fetch_build(key.key, now, nonce, msg, sizeof(msg), &len)))
		rc = user_fail("cannot sign the request: %s", iomt_strerror(err));
	if (!rc && (fd = net_connect(mec, ms)) < 0)
		rc = USER_EXIT_FAIL;
	if (!rc && net_send_frame(fd, IOMT_MSG_P6_FETCH, msg, len, ms))
		rc = USER_EXIT_FAIL;
	while (!rc) {
		if (net_recv_frame(fd, buf, sizeof(buf), &type, &p, &plen, ms)) {
			rc = USER_EXIT_FAIL;
			break;
		}
		if (type == IOMT_MSG_S2_USER_ERR && plen == 1) {
			rc = user_fail("refused: %s", p56_code_text(p[0]));
			break;
		}
		if (type == IOMT_MSG_P6_END && plen == 2) {
			printf("%lu alerts received, %lu new\n", got, fresh);
			break;
		}
		if (type != IOMT_MSG_P6_ALERT) {
			rc = user_fail("the MEC sent message type 0x%02x, not an alert", type);
			break;
		}
		err = p56_alert_open(key.key, ca_pub, user_now(), p, plen, &a);
		if (err) {
			rc = user_fail("an alert does not open or verify (%s): not acknowledged",
				       iomt_strerror(err));
			break;
		}
		got++;
		iomt_hex_encode(a.alert_id, sizeof(a.alert_id), hex);
		if (!seen(state, hex)) {
			if (remember(state, hex)) {
				rc = USER_EXIT_FAIL;
				break;
			}
			print_alert(&a, hex);
			fresh++;
		}
		if (drop_after && got >= drop_after) {
			printf("connection dropped before acknowledging (--drop-after %lu)\n",
			       drop_after);
			break;
		}
		memcpy(ack, a.alert_id, P56_ID_LEN);
		if (p56_ack_tag(a.ack_secret, a.alert_id, ack + P56_ID_LEN) ||
		    net_send_frame(fd, IOMT_MSG_P6_ACK, ack, sizeof(ack), ms))
			rc = USER_EXIT_FAIL;
	}
	if (fd >= 0)
		close(fd);
	iomt_wipe(&a, sizeof(a));
	keyfile_free(&key);
	EVP_PKEY_free(ca_pub);
	return rc;
}
