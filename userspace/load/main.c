/* SPDX-License-Identifier: MIT */
/*
 * iomt-load: thousands of simulated sensors against iomt-gwd (and the
 * daemons behind it), built on the same lib/ state machines as the real
 * sensors. Modes: agree (seed-002 agreements with the MEC role), s2data
 * (S2_DATA frames to the MEC after one agreement each), ap (AP exchanges with the gateway role, tickets from
 * iomt-kdc), data (REC_PUT streams through the relay role), junk and flood
 * (malformed or random-content frames, for the ingress filter's tests).
 * Reports on stdout one key=value line: achieved rate, p50/p99 latency,
 * ok / refused / errors / timeouts; a progress line every second on stderr.
 * The engine is run.h; latencies lat.h (shared with tests/bench/kdc_load).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modes.h"
#include "run.h"
#include "s2_data.h"
#include "wire.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iomt-load MODE --target HOST:PORT [options]\n"
		"       iomt-load data --ble SRC,DST,PSM [options]\n"
		"Simulated sensors against iomt-gwd over UDP (or BLE: data); one result line\n"
		"on stdout.\n\n"
		"modes:\n"
		"  agree   seed-002 agreements (M1 -> M4) with the MEC role, one device of --prov\n"
		"          per sensor\n"
		"  s2data  one agreement per sensor (set-up), then S2_DATA frames of --samples\n"
		"          samples to the MEC (phase 4), no answer expected: rate = frames/s\n"
		"  ap      AP_REQ -> AP_REP with the gateway role; each sensor first gets a\n"
		"          ticket from iomt-kdc (--kdc, --keydir, --prefix, --clients, --service)\n"
		"  data    REC_PUT batches of --records sealed records -> REC_ACK (relay role)\n"
		"  junk    random and mis-sized datagrams, no answer expected (also --junk)\n"
		"  flood   well-sized frames of --flood-type with random content (also --flood)\n\n"
		"options:\n"
		"  --target HOST:PORT   the gateway's UDP address (its 'listen')\n"
		"  --ble SRC,DST,PSM    data only: over BLE instead, one L2CAP LE credit-based\n"
		"                       channel per sensor from the local adapter SRC to the\n"
		"                       gateway's adapter DST (AA:BB:CC:DD:EE:FF, LE public)\n"
		"                       on PSM (its ble_psm, 1..255: 128 or 0x80)\n"
		"  --sensors N          simulated sensors, one UDP socket (BLE channel) each\n"
		"                       (1000; also --devices)\n"
		"  --concurrency N      exchanges in flight at most (= sensors)\n"
		"  --rate R             new exchanges per second over all sensors (0: as fast\n"
		"                       as answers come, closed loop)\n"
		"  --seconds S          measured duration (5)\n"
		"  --timeout S          an exchange without an answer by then is a timeout (2)\n"
		"  --records N          data: records per batch (8)\n"
		"  --samples N          s2data: samples per S2_DATA frame, 1..200 (20)\n"
		"  --prov FILE          agree, s2data: the devices (did= dk= lines, iomt-user's\n"
		"                       devices.prov)\n"
		"  --prov-out FILE      agree, s2data: their rotated identities after the run (0600):\n"
		"                       the --prov of the next run\n"
		"  --kdc HOST:PORT      ap: iomt-kdc's UDP address\n"
		"  --keydir DIR         ap: key files DIR/PREFIXi.key (iomt-kdc admin export-key)\n"
		"  --prefix P           ap: principal names P0, P1, ... (s)\n"
		"  --clients N          ap: principals; sensor i uses P(i mod N) (= sensors)\n"
		"  --service NAME       ap: the gateway's principal\n"
		"  --flood-type T       flood: ap_req (default) or m1\n"
		"  --quiet              no progress lines\n"
		"output: mode= sensors= concurrency= seconds= target_rate= sent= ok= refused=\n"
		"  errors= timeouts= answers= send_errors= rate= p50_us= p99_us= setup_ok=\n"
		"  setup_errors= setup_timeouts= cpu= cookies= transport= closed=\n"
		"  (rate: completed exchanges per second; closed: BLE channels the gateway\n"
		"  closed)\n"
		"exit status: 0 after a run, 1 if the set-up failed (a BLE channel refused\n"
		"  included), 2 usage (a bad --ble, or no Bluetooth on this host)\n");
}

static const struct load_mode *mode_named(const char *n)
{
	static const struct load_mode *const all[] = {
		&load_mode_agree, &load_mode_ap, &load_mode_data, &load_mode_junk, &load_mode_flood,
		&load_mode_s2data,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, n))
			return all[i];
	return NULL;
}

static int num(const char *opt, const char *v, double lo, double hi, double *out)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || d < lo || d > hi) {
		fprintf(stderr, "iomt-load: --%s %s: expected a number in %g..%g\n", opt, v, lo,
			hi);
		return -1;
	}
	*out = d;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "target", 1, 0, 'T' }, { "sensors", 1, 0, 'n' }, { "concurrency", 1, 0, 'c' },
		{ "rate", 1, 0, 'r' }, { "seconds", 1, 0, 'd' }, { "timeout", 1, 0, 't' },
		{ "records", 1, 0, 'R' }, { "kdc", 1, 0, 'k' }, { "keydir", 1, 0, 'K' },
		{ "prefix", 1, 0, 'p' }, { "clients", 1, 0, 'C' }, { "service", 1, 0, 's' },
		{ "flood-type", 1, 0, 'F' }, { "quiet", 0, 0, 'q' }, { "junk", 0, 0, 'j' },
		{ "flood", 0, 0, 'f' }, { "mode", 1, 0, 'm' }, { "help", 0, 0, 'h' },
		{ "prov", 1, 0, 'P' }, { "prov-out", 1, 0, 'O' }, { "samples", 1, 0, 'S' },
		{ "ble", 1, 0, 'B' }, { "devices", 1, 0, 'n' }, { 0, 0, 0, 0 },
	};
	struct load_opts o = { .tr = &load_udp, .sensors = 1000, .seconds = 5, .timeout_s = 2 };
	struct load_args a = { .records = 8, .prefix = "s", .flood_type = IOMT_MSG_KDC_AP_REQ,
			       .samples = 20 };
	static struct load_run r;
	const struct load_mode *m = NULL;
	double v;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'T': o.target = optarg; break;
		case 'B': o.ble = optarg; o.tr = &load_ble; break;
		case 'n':
			if (num("sensors", optarg, 1, 60000, &v))
				return 2;
			o.sensors = (unsigned)v;
			break;
		case 'c':
			if (num("concurrency", optarg, 1, 60000, &v))
				return 2;
			o.concurrency = (unsigned)v;
			break;
		case 'r':
			if (num("rate", optarg, 0, 1e7, &o.rate))
				return 2;
			break;
		case 'd':
			if (num("seconds", optarg, 0.01, 86400, &o.seconds))
				return 2;
			break;
		case 't':
			if (num("timeout", optarg, 0.001, 600, &o.timeout_s))
				return 2;
			break;
		case 'R':
			if (num("records", optarg, 1, 16, &v))
				return 2;
			a.records = (unsigned)v;
			break;
		case 'S':
			if (num("samples", optarg, 1, IOMT_S2_DATA_SAMPLES_MAX, &v))
				return 2;
			a.samples = (unsigned)v;
			break;
		case 'C':
			if (num("clients", optarg, 1, 60000, &v))
				return 2;
			a.clients = (unsigned)v;
			break;
		case 'P': a.prov = optarg; break;
		case 'O': a.prov_out = optarg; break;
		case 'k': a.kdc = optarg; break;
		case 'K': a.keydir = optarg; break;
		case 'p': a.prefix = optarg; break;
		case 's': a.service = optarg; break;
		case 'F':
			if (!strcmp(optarg, "ap_req"))
				a.flood_type = IOMT_MSG_KDC_AP_REQ;
			else if (!strcmp(optarg, "m1"))
				a.flood_type = IOMT_MSG_S2_M1;
			else {
				fprintf(stderr, "iomt-load: --flood-type %s: ap_req or m1\n", optarg);
				return 2;
			}
			break;
		case 'q': o.quiet = 1; break;
		case 'j': m = &load_mode_junk; break;
		case 'f': m = &load_mode_flood; break;
		case 'm':
			if (!(m = mode_named(optarg))) {
				fprintf(stderr, "iomt-load: unknown mode '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		if (optind + 1 < argc || m || !(m = mode_named(argv[optind]))) {
			fprintf(stderr, "iomt-load: unexpected '%s' (try --help)\n", argv[optind]);
			return 2;
		}
	}
	if (!m || (!o.target && !o.ble)) {
		fprintf(stderr, "iomt-load: %s (try --help)\n", !m ? "no mode" : "--target is required");
		return 2;
	}
	if (o.ble && (o.target || m != &load_mode_data)) {
		fprintf(stderr, "iomt-load: --ble: %s\n", o.target ? "not with --target (one transport)"
			: "only the data mode runs over BLE (the relay role's path)");
		return 2;
	}
	if (!o.concurrency || o.concurrency > o.sensors)
		o.concurrency = o.sensors;
	if (!a.clients)
		a.clients = o.sensors;
	r.mctx = &a;
	c = load_run(&r, m, &o);
	if (c)
		return c == -2 ? 2 : 1;
	load_report(&r, stdout);
	if ((m == &load_mode_agree || m == &load_mode_s2data) && a.prov_out &&
	    load_agree_save(&r, a.prov_out))
		return 1;
	load_lat_free(&r.lat);
	return 0;
}
