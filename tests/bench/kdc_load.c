/* SPDX-License-Identifier: MIT */
/*
 * kdc_load: one UDP load generator for two KDCs, so that the client's cost
 * is the same for both: our iomt-kdc (lib/kdc.h) and MIT Kerberos' krb5kdc
 * (libkrb5's non-blocking step APIs: the library builds and parses the
 * packets, this program does all the socket I/O itself).
 *
 *   kdc_load --mode iomt|mit --op as|tgs --port P [options]
 *
 * A fixed window of W exchanges is in flight at all times: W connected,
 * non-blocking UDP sockets to 127.0.0.1:P, one request outstanding on each;
 * when a reply verifies, the slot starts its next exchange at once (a
 * closed loop). After a warm-up, completed exchanges are counted for D
 * seconds. An exchange is complete when the client library accepted the
 * reply (ticket and encrypted part opened, nonce matched); every error,
 * refusal or timeout is counted and reported, and makes the exit status 1.
 *
 *   --op as   AS exchanges (a new TGT each), principals taken round-robin.
 *   --op tgs  TGS exchanges for --service, reusing one TGT per principal
 *             (obtained by an AS exchange each before the warm-up).
 *
 * Principals are PREFIX0 .. PREFIX(N-1) (--prefix, --clients).
 *   iomt: long-term keys in KEYDIR/NAME.key (rt_keyfile_read), the TGS
 *         target is --service (a registered principal of the same patient).
 *   mit:  keys in --keytab (copied into a MEMORY keytab), realm and
 *         enctypes from the krb5.conf named by KRB5_CONFIG, TGTs in one
 *         MEMORY ccache per principal; --service is a principal name.
 *
 * Output on stdout, one line of key=value pairs (rate: exchanges/s over the
 * measured window), e.g.
 *   mode=mit op=as window=64 clients=64 seconds=3.000 ok=... rate=...
 *   errors=0 timeouts=0 extra_rtt=0 late=0 in_flight_end=0 p50_us=...
 *   p99_us=... client_cpu=0.45 [kdc_cpu=0.98 kdc_cpu_us_per_op=...]
 * (client_cpu: this program's share of its core in the window; with
 * --kdc-pids, kdc_cpu: the KDC processes' CPU seconds per second in the
 * window, and per completed exchange). extra_rtt counts exchanges that
 * needed a second round trip (none expected). Notes go to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <krb5/krb5.h>

#include "bench/bench.h"

#include "kdc.h"
#include "wire.h"
#include "lib/rt_keyfile.h"     /* userspace/lib */
#include "load/lat.h"           /* latencies and CPU time, shared with iomt-load */
#include "load/rnd.h"           /* pooled random bytes, likewise */

/* ---- options and shared state ------------------------------------------- */

enum { MODE_IOMT, MODE_MIT };
enum { OP_AS, OP_TGS };

static struct {
	int mode, op;
	const char *addr;
	int port;
	unsigned window, clients;
	double seconds, warmup, timeout_s;
	const char *prefix, *service, *keydir, *keytab;
	int kdc_pids[16], nkdc_pids;
	int verbose;
} opt = {
	.mode = -1, .op = -1, .addr = "127.0.0.1", .port = 0, .window = 64, .clients = 64,
	.seconds = 3, .warmup = 1, .timeout_s = 2, .prefix = "c", .service = NULL,
};

struct slot {
	int fd;
	int busy;
	unsigned principal;
	double sent_ns, start_ns;       /* this datagram; this exchange */
	/* mit */
	krb5_init_creds_context icc;
	krb5_tkt_creds_context tcc;
	struct iomt_kdc_client c;
};

static struct {
	/* phase: 0 setup (one AS per principal, no counting), 1 run */
	int phase;
	unsigned next_principal;        /* round-robin / setup cursor */
	unsigned setup_done;
	int counting;
	uint64_t ok, errors, timeouts, extra_rtt, late;
	struct load_lat lat;            /* latencies of counted exchanges, us */
	unsigned errors_shown;
} st;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("kdc_load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void note_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note_error(const char *fmt, ...)
{
	va_list ap;

	st.errors++;
	if (st.errors_shown++ >= 10)
		return;
	fputs("kdc_load: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void send_dgram(struct slot *s, const void *p, size_t n)
{
	ssize_t w;

	s->sent_ns = bench_now_ns();
	do
		w = send(s->fd, p, n, 0);
	while (w < 0 && errno == EINTR);
	/* A full socket buffer or an ICMP error: the timeout restarts it. */
	if (w < 0 && opt.verbose)
		fprintf(stderr, "kdc_load: send: %s\n", strerror(errno));
}

/* ---- MIT Kerberos (libkrb5 step APIs) ------------------------------------ */

static krb5_context kctx;
static krb5_keytab mkt;
static krb5_principal *mprinc, msvc;
static krb5_ccache *mcc;

/* libkrb5's message for ret, in a static buffer. */
static const char *kmsg(krb5_error_code ret)
{
	static char buf[256];
	const char *m = krb5_get_error_message(kctx, ret);

	snprintf(buf, sizeof(buf), "%s", m ? m : "unknown error");
	krb5_free_error_message(kctx, m);
	return buf;
}

static void kfail(const char *what, krb5_error_code ret)
{
	die("%s: %s", what, kmsg(ret));
}

static void mit_setup(void)
{
	krb5_error_code ret;
	krb5_keytab file;
	krb5_kt_cursor cur;
	krb5_keytab_entry e;
	char name[256];

	if ((ret = krb5_init_context(&kctx)))
		die("krb5_init_context: error %d", (int)ret);
	if (!opt.keytab)
		die("--keytab is required with --mode mit");
	/* The keys in memory: the client reads no file per exchange. */
	if ((ret = krb5_kt_resolve(kctx, opt.keytab, &file)))
		kfail("keytab", ret);
	if ((ret = krb5_kt_resolve(kctx, "MEMORY:kdc_load", &mkt)))
		kfail("MEMORY keytab", ret);
	if ((ret = krb5_kt_start_seq_get(kctx, file, &cur)))
		kfail(opt.keytab, ret);
	while (krb5_kt_next_entry(kctx, file, &e, &cur) == 0) {
		if ((ret = krb5_kt_add_entry(kctx, mkt, &e)))
			kfail("krb5_kt_add_entry", ret);
		krb5_free_keytab_entry_contents(kctx, &e);
	}
	krb5_kt_end_seq_get(kctx, file, &cur);
	krb5_kt_close(kctx, file);

	mprinc = calloc(opt.clients, sizeof(*mprinc));
	mcc = calloc(opt.clients, sizeof(*mcc));
	if (!mprinc || !mcc)
		die("out of memory");
	for (unsigned i = 0; i < opt.clients; i++) {
		snprintf(name, sizeof(name), "%s%u", opt.prefix, i);
		if ((ret = krb5_parse_name(kctx, name, &mprinc[i])))
			kfail(name, ret);
	}
	if (opt.op == OP_TGS) {
		if (!opt.service)
			die("--service is required with --op tgs");
		if ((ret = krb5_parse_name(kctx, opt.service, &msvc)))
			kfail(opt.service, ret);
		for (unsigned i = 0; i < opt.clients; i++) {
			snprintf(name, sizeof(name), "MEMORY:kdc_load_%u", i);
			if ((ret = krb5_cc_resolve(kctx, name, &mcc[i])))
				kfail(name, ret);
			if ((ret = krb5_cc_initialize(kctx, mcc[i], mprinc[i])))
				kfail("krb5_cc_initialize", ret);
		}
	}
}

static void mit_send_out(struct slot *s, krb5_data *out, krb5_data *realm)
{
	send_dgram(s, out->data, out->length);
	krb5_free_data_contents(kctx, out);
	krb5_free_data_contents(kctx, realm);
}

static int mit_start_as(struct slot *s)
{
	krb5_error_code ret;
	krb5_data in = { 0 }, out = { 0 }, realm = { 0 };
	unsigned flags = 0;

	ret = krb5_init_creds_init(kctx, mprinc[s->principal], NULL, NULL, 0, NULL, &s->icc);
	if (!ret)
		ret = krb5_init_creds_set_keytab(kctx, s->icc, mkt);
	if (!ret)
		ret = krb5_init_creds_step(kctx, s->icc, &in, &out, &realm, &flags);
	if (ret || !(flags & KRB5_INIT_CREDS_STEP_FLAG_CONTINUE)) {
		note_error("AS start: %s", ret ? kmsg(ret) : "no request");
		krb5_free_data_contents(kctx, &out);
		krb5_free_data_contents(kctx, &realm);
		if (s->icc)
			krb5_init_creds_free(kctx, s->icc);
		s->icc = NULL;
		return -1;
	}
	mit_send_out(s, &out, &realm);
	return 0;
}

static int mit_start_tgs(struct slot *s)
{
	krb5_error_code ret;
	krb5_creds in_creds;
	krb5_data in = { 0 }, out = { 0 }, realm = { 0 };
	unsigned flags = 0;

	memset(&in_creds, 0, sizeof(in_creds));
	in_creds.client = mprinc[s->principal];
	in_creds.server = msvc;
	/* NO_STORE: the ticket is not cached, so every exchange asks the KDC. */
	ret = krb5_tkt_creds_init(kctx, mcc[s->principal], &in_creds, KRB5_GC_NO_STORE, &s->tcc);
	if (!ret)
		ret = krb5_tkt_creds_step(kctx, s->tcc, &in, &out, &realm, &flags);
	if (ret || !(flags & KRB5_TKT_CREDS_STEP_FLAG_CONTINUE)) {
		note_error("TGS start: %s", ret ? kmsg(ret) : "no request");
		krb5_free_data_contents(kctx, &out);
		krb5_free_data_contents(kctx, &realm);
		if (s->tcc)
			krb5_tkt_creds_free(kctx, s->tcc);
		s->tcc = NULL;
		return -1;
	}
	mit_send_out(s, &out, &realm);
	return 0;
}

static void mit_abort(struct slot *s)
{
	if (s->icc)
		krb5_init_creds_free(kctx, s->icc);
	if (s->tcc)
		krb5_tkt_creds_free(kctx, s->tcc);
	s->icc = NULL;
	s->tcc = NULL;
}

/* 1: exchange complete and verified; 0: another request was sent; -1 error. */
static int mit_recv(struct slot *s, uint8_t *buf, size_t n, int as)
{
	krb5_error_code ret;
	krb5_data in, out = { 0 }, realm = { 0 };
	unsigned flags = 0;

	in.magic = KV5M_DATA;
	in.length = (unsigned)n;
	in.data = (char *)buf;     /* libkrb5 does not write to it */
	if (as)
		ret = krb5_init_creds_step(kctx, s->icc, &in, &out, &realm, &flags);
	else
		ret = krb5_tkt_creds_step(kctx, s->tcc, &in, &out, &realm, &flags);
	if (ret) {
		note_error("%s step: %s", as ? "AS" : "TGS", kmsg(ret));
		krb5_free_data_contents(kctx, &out);
		krb5_free_data_contents(kctx, &realm);
		mit_abort(s);
		return -1;
	}
	if (flags & (as ? KRB5_INIT_CREDS_STEP_FLAG_CONTINUE : KRB5_TKT_CREDS_STEP_FLAG_CONTINUE)) {
		/* Another round trip (a KDC error the library recovers from, or a
		 * referral): counted, the exchange goes on. */
		st.extra_rtt++;
		mit_send_out(s, &out, &realm);
		return 0;
	}
	if (as && st.phase == 0 && opt.op == OP_TGS) {
		krb5_creds cr;

		if ((ret = krb5_init_creds_get_creds(kctx, s->icc, &cr)))
			kfail("krb5_init_creds_get_creds", ret);
		if ((ret = krb5_cc_store_cred(kctx, mcc[s->principal], &cr)))
			kfail("krb5_cc_store_cred", ret);
		krb5_free_cred_contents(kctx, &cr);
	}
	mit_abort(s);
	return 1;
}

/* ---- ours (lib/kdc.h) ---------------------------------------------------- */

static struct iomt_kdc_client *itpl;    /* per principal: key; then its TGT */
static uint8_t isvc[IOMT_KDC_NAME_LEN];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void iomt_setup(void)
{
	char name[64], path[4096];

	if (!opt.keydir)
		die("--keydir is required with --mode iomt");
	itpl = calloc(opt.clients, sizeof(*itpl));
	if (!itpl)
		die("out of memory");
	for (unsigned i = 0; i < opt.clients; i++) {
		uint8_t n[IOMT_KDC_NAME_LEN];
		struct rt_keyfile kf;
		char err[256];
		int r;

		snprintf(name, sizeof(name), "%s%u", opt.prefix, i);
		snprintf(path, sizeof(path), "%s/%s.key", opt.keydir, name);
		if (iomt_kdc_name_from_text(n, name))
			die("%s: not a valid principal name", name);
		if ((r = rt_keyfile_read(path, NULL, &kf, err, sizeof(err))))
			die("%s: %s", path, err[0] ? err : strerror(-r));
		if (memcmp(kf.name, n, sizeof(n)))
			die("%s: the key of another principal", path);
		if (iomt_kdc_client_init(&itpl[i], kf.name, kf.kvno, kf.key))
			die("%s: iomt_kdc_client_init failed", name);
		rt_keyfile_wipe(&kf);
	}
	if (opt.op == OP_TGS) {
		if (!opt.service)
			die("--service is required with --op tgs");
		if (iomt_kdc_name_from_text(isvc, opt.service))
			die("%s: not a valid principal name", opt.service);
	}
}

static int iomt_start(struct slot *s, int as)
{
	uint8_t r[IOMT_KDC_AS_REQ_RAND > IOMT_KDC_TGS_REQ_RAND ? IOMT_KDC_AS_REQ_RAND
							       : IOMT_KDC_TGS_REQ_RAND];
	uint8_t f[IOMT_WIRE_HDR_LEN + IOMT_KDC_TGS_REQ_LEN];
	int rc;

	s->c = itpl[s->principal];
	if (as) {
		load_random(r, IOMT_KDC_AS_REQ_RAND);
		rc = iomt_kdc_client_as_req(&s->c, now_ms(), r, f + IOMT_WIRE_HDR_LEN);
		if (!rc) {
			iomt_wire_put_hdr(f, IOMT_MSG_KDC_AS_REQ, IOMT_KDC_AS_REQ_LEN);
			send_dgram(s, f, IOMT_WIRE_HDR_LEN + IOMT_KDC_AS_REQ_LEN);
		}
	} else {
		load_random(r, IOMT_KDC_TGS_REQ_RAND);
		rc = iomt_kdc_client_tgs_req(&s->c, isvc, now_ms(), r, f + IOMT_WIRE_HDR_LEN);
		if (!rc) {
			iomt_wire_put_hdr(f, IOMT_MSG_KDC_TGS_REQ, IOMT_KDC_TGS_REQ_LEN);
			send_dgram(s, f, IOMT_WIRE_HDR_LEN + IOMT_KDC_TGS_REQ_LEN);
		}
	}
	if (rc)
		note_error("%s request: %s", as ? "AS" : "TGS", iomt_kdc_strcode(rc));
	return rc ? -1 : 0;
}

static int iomt_recv(struct slot *s, const uint8_t *buf, size_t n, int as)
{
	uint8_t type;
	const uint8_t *p;
	size_t plen;
	int rc;

	if (iomt_wire_parse(buf, n, &type, &p, &plen)) {
		note_error("%s: malformed frame (%zu bytes)", as ? "AS" : "TGS", n);
		return -1;
	}
	rc = iomt_kdc_client_recv(&s->c, type, p, plen);
	if (rc) {
		note_error("%s reply: %s", as ? "AS" : "TGS", iomt_kdc_strcode(rc));
		return -1;
	}
	if (as && st.phase == 0 && opt.op == OP_TGS)
		itpl[s->principal] = s->c;      /* HAVE_TGT: the template now */
	return 1;
}

/* ---- the loop ------------------------------------------------------------ */

static int cur_as(void)
{
	return st.phase == 0 || opt.op == OP_AS;
}

static int start_exchange(struct slot *s)
{
	int as = cur_as();

	if (st.phase == 0) {
		if (st.next_principal >= opt.clients)
			return 1;               /* setup: every principal has its slot */
		s->principal = st.next_principal++;
	} else {
		s->principal = st.next_principal;
		st.next_principal = (st.next_principal + 1) % opt.clients;
	}
	s->busy = 1;
	s->start_ns = bench_now_ns();
	if (opt.mode == MODE_MIT)
		return as ? mit_start_as(s) : mit_start_tgs(s);
	return iomt_start(s, as);
}

static void abort_exchange(struct slot *s)
{
	if (opt.mode == MODE_MIT)
		mit_abort(s);
	s->busy = 0;
}

static void record(double lat_us)
{
	if (!st.counting)
		return;
	st.ok++;
	if (load_lat_add(&st.lat, lat_us))
		die("out of memory");
}

/* Starts exchanges on the slot until one is in flight (an exchange that
 * cannot even be started is an error, and the next one is tried). */
static void restart(struct slot *s, int *stopping)
{
	int tries = 0;

	s->busy = 0;
	if (*stopping)
		return;
	while (tries++ < 3) {
		int r = start_exchange(s);

		if (r == 0)
			return;
		s->busy = 0;
		if (r > 0)
			return;                 /* setup: nothing left to start */
	}
	die("cannot start exchanges (see the errors above)");
}

/* One datagram per readiness event: one request is in flight per socket,
 * and epoll (level-triggered) reports the socket again if more is queued. */
static void handle(struct slot *s, int *stopping)
{
	static uint8_t buf[65536];
	ssize_t n;
	int r;

	do
		n = recv(s->fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* ECONNREFUSED: nothing listens (an ICMP came back). */
		note_error("recv: %s", strerror(errno));
		if (s->busy) {
			abort_exchange(s);
			restart(s, stopping);
		}
		return;
	}
	if (!s->busy) {
		st.late++;              /* the reply to a timed-out request */
		return;
	}
	if (opt.mode == MODE_MIT)
		r = mit_recv(s, buf, (size_t)n, cur_as());
	else
		r = iomt_recv(s, buf, (size_t)n, cur_as());
	if (r == 0)
		return;                 /* another request in flight */
	if (r > 0) {
		if (st.phase == 0)
			st.setup_done++;
		else
			record((bench_now_ns() - s->start_ns) / 1e3);
	}
	restart(s, stopping);
}

/* CPU seconds (user + system) the KDC's processes (--kdc-pids) used so far:
 * its load during the measured window, read from /proc. */
static double kdc_cpu_s(void)
{
	double t = 0;

	for (int i = 0; i < opt.nkdc_pids; i++) {
		char path[64], buf[1024], *p;
		unsigned long ut, stt;
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/stat", opt.kdc_pids[i]);
		f = fopen(path, "r");
		if (!f)
			die("%s: %s", path, strerror(errno));
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		/* After the command name in parentheses: state is field 3,
		 * utime and stime are fields 14 and 15. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				 &ut, &stt) != 2)
			die("%s: cannot parse", path);
		t += (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
	}
	return t;
}

static int in_flight(const struct slot *sl, unsigned n)
{
	int k = 0;

	for (unsigned i = 0; i < n; i++)
		k += sl[i].busy;
	return k;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kdc_load --mode iomt|mit --op as|tgs --port PORT [--addr 127.0.0.1]\n"
		"         [--window 64] [--clients 64] [--prefix c] [--seconds 3] [--warmup 1]\n"
		"         [--timeout 2] [--service NAME] [--keydir DIR (iomt)] [--keytab FILE (mit)]\n"
		"         [--kdc-pids PID,PID... (report their CPU use in the window)]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", 1, 0, 'm' }, { "op", 1, 0, 'o' }, { "addr", 1, 0, 'a' },
		{ "port", 1, 0, 'p' }, { "window", 1, 0, 'w' }, { "clients", 1, 0, 'n' },
		{ "prefix", 1, 0, 'P' }, { "seconds", 1, 0, 'd' }, { "warmup", 1, 0, 'W' },
		{ "timeout", 1, 0, 't' }, { "service", 1, 0, 's' }, { "keydir", 1, 0, 'k' },
		{ "keytab", 1, 0, 'K' }, { "kdc-pids", 1, 0, 'C' }, { "verbose", 0, 0, 'v' },
		{ 0, 0, 0, 0 },
	};
	struct sockaddr_in sa;
	struct slot *sl;
	struct epoll_event ev, evs[256];
	int ep, c, stopping = 0;
	double t0, tw = 0, te = 0, cpu0 = 0, cpu1 = 0, kcpu0 = 0, kcpu1 = 0, tscan = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			opt.mode = !strcmp(optarg, "iomt") ? MODE_IOMT : !strcmp(optarg, "mit") ? MODE_MIT : -2;
			break;
		case 'o':
			opt.op = !strcmp(optarg, "as") ? OP_AS : !strcmp(optarg, "tgs") ? OP_TGS : -2;
			break;
		case 'a': opt.addr = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'w': opt.window = (unsigned)atoi(optarg); break;
		case 'n': opt.clients = (unsigned)atoi(optarg); break;
		case 'P': opt.prefix = optarg; break;
		case 'd': opt.seconds = atof(optarg); break;
		case 'W': opt.warmup = atof(optarg); break;
		case 't': opt.timeout_s = atof(optarg); break;
		case 's': opt.service = optarg; break;
		case 'k': opt.keydir = optarg; break;
		case 'K': opt.keytab = optarg; break;
		case 'C':
			for (char *t = strtok(optarg, ","); t; t = strtok(NULL, ",")) {
				if (opt.nkdc_pids == 16 || atoi(t) <= 0)
					usage();
				opt.kdc_pids[opt.nkdc_pids++] = atoi(t);
			}
			break;
		case 'v': opt.verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || opt.mode < 0 || opt.op < 0 || opt.port <= 0 || opt.port > 65535 ||
	    opt.window < 1 || opt.window > 4096 || opt.clients < 1 || opt.seconds <= 0 ||
	    opt.warmup < 0 || opt.timeout_s <= 0)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)opt.port);
	if (inet_pton(AF_INET, opt.addr, &sa.sin_addr) != 1)
		die("%s: not an IPv4 address", opt.addr);
	/* This is a benchmark for loopback: refuse to load anything else. */
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127)
		die("%s: only loopback addresses (127.0.0.0/8) are allowed", opt.addr);

	if (opt.mode == MODE_MIT)
		mit_setup();
	else
		iomt_setup();
	if (opt.mode == MODE_MIT && opt.op == OP_AS)
		fprintf(stderr, "kdc_load: MIT AS exchanges without pre-authentication "
				"(principals without requires_preauth, MIT's default): "
				"MIT's cheapest AS path\n");

	sl = calloc(opt.window, sizeof(*sl));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!sl || ep < 0)
		die("setup: %s", strerror(errno));
	for (unsigned i = 0; i < opt.window; i++) {
		sl[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (sl[i].fd < 0 || connect(sl[i].fd, (struct sockaddr *)&sa, sizeof(sa)))
			die("socket: %s", strerror(errno));
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, sl[i].fd, &ev))
			die("epoll_ctl: %s", strerror(errno));
	}

	/* Phase 0 (TGS only): one AS exchange per principal for its TGT. */
	st.phase = opt.op == OP_TGS ? 0 : 1;
	for (;;) {
		for (unsigned i = 0; i < opt.window; i++)
			restart(&sl[i], &stopping);
		t0 = bench_now_ns();
		if (st.phase == 1) {
			tw = t0 + opt.warmup * 1e9;
			te = tw + opt.seconds * 1e9;
		}
		for (;;) {
			double now;
			int k = epoll_wait(ep, evs, 256, 5);

			if (k < 0 && errno != EINTR)
				die("epoll_wait: %s", strerror(errno));
			for (int j = 0; j < k; j++)
				handle(&sl[evs[j].data.u32], &stopping);
			now = bench_now_ns();
			/* Timeouts: a scan of the window every 10 ms. */
			for (unsigned i = 0; now - tscan > 10e6 && i < opt.window; i++) {
				if (i == opt.window - 1)
					tscan = now;
				if (sl[i].busy && now - sl[i].sent_ns > opt.timeout_s * 1e9) {
					st.timeouts++;
					if (st.timeouts <= 10)
						fprintf(stderr, "kdc_load: timeout (no reply in %.1f s)\n",
							opt.timeout_s);
					abort_exchange(&sl[i]);
					restart(&sl[i], &stopping);
				}
			}
			if (st.phase == 0) {
				if (st.setup_done == opt.clients && !in_flight(sl, opt.window))
					break;
				if (now - t0 > 30e9)
					die("setup: TGTs not obtained in 30 s");
				continue;
			}
			if (!st.counting && !stopping && now >= tw) {
				st.counting = 1;
				cpu0 = load_cpu_s();
				kcpu0 = kdc_cpu_s();
				tw = now;
				te = tw + opt.seconds * 1e9;
			}
			if (st.counting && now >= te) {
				st.counting = 0;
				cpu1 = load_cpu_s();
				kcpu1 = kdc_cpu_s();
				te = now;
				stopping = 1;
			}
			/* Drain what is in flight (up to the timeout) so the next
			 * round starts with an idle KDC. */
			if (stopping && (!in_flight(sl, opt.window) || now - te > opt.timeout_s * 1e9))
				break;
		}
		if (st.phase == 1)
			break;
		if (st.errors || st.timeouts)
			die("setup: %llu errors, %llu timeouts while getting the TGTs",
			    (unsigned long long)st.errors, (unsigned long long)st.timeouts);
		st.phase = 1;
		st.next_principal = 0;
	}

	{
		double secs = (te - tw) / 1e9, p50 = 0, p99 = 0;

		p50 = load_lat_pct(&st.lat, 0.50);
		p99 = load_lat_pct(&st.lat, 0.99);
		printf("mode=%s op=%s window=%u clients=%u seconds=%.3f ok=%llu rate=%.1f "
		       "errors=%llu timeouts=%llu extra_rtt=%llu late=%llu in_flight_end=%d "
		       "p50_us=%.0f p99_us=%.0f client_cpu=%.2f",
		       opt.mode == MODE_MIT ? "mit" : "iomt", opt.op == OP_AS ? "as" : "tgs",
		       opt.window, opt.clients, secs, (unsigned long long)st.ok,
		       (double)st.ok / secs, (unsigned long long)st.errors,
		       (unsigned long long)st.timeouts, (unsigned long long)st.extra_rtt,
		       (unsigned long long)st.late, in_flight(sl, opt.window), p50, p99,
		       (cpu1 - cpu0) / secs);
		if (opt.nkdc_pids)
			printf(" kdc_cpu=%.2f kdc_cpu_us_per_op=%.1f", (kcpu1 - kcpu0) / secs,
			       st.ok ? (kcpu1 - kcpu0) * 1e6 / (double)st.ok : 0.0);
		printf("\n");
	}
	for (unsigned i = 0; i < opt.window; i++) {
		if (sl[i].busy)
			abort_exchange(&sl[i]);
		close(sl[i].fd);
	}
	return st.errors || st.timeouts ? 1 : 0;
}
