/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "ct.h"
#include "decrypt.h"
#include "iomt_err.h"
#include "kchan.h"
#include "lib/rt_conf.h"
#include "lib/rt_consent.h"
#include "lib/rt_keyfile.h"
#include "record.h"
#include "release.h"
#include "select.h"

enum {
	PPD_MAX = 16,
	EXIT_ERR = 1,
	EXIT_USAGE = 2,
	EXIT_DENIED = 3,
	EXIT_PARTIAL = 4,
	DEFAULT_TIMEOUT_MS = 120000,
};

struct ppd_addr {
	char name[IOMT_KDC_NAME_LEN + 1];
	const char *addr;
};

struct args {
	const char *db, *kdc, *key, *app_key, *out, *note;
	struct ppd_addr ppd[PPD_MAX];
	int nppd;
	uint8_t key_id[IOMT_KEYTREE_ID_LEN], sensor[IOMT_KEYTREE_ID_LEN];
	struct store_filter f;
	uint64_t from, to;
	int have_from, have_to;
	enum store_cover cover;
	struct release_opts ro;
};

static int usage(void)
{
	fprintf(stderr,
		"usage: iomt-store decrypt --db F --kdc HOST:PORT --key CLOUD_KEYFILE\n"
		"         --app-key APP.pem --ppd NAME=HOST:PORT [--ppd ...]\n"
		"         [--sensor HEX|--key-id HEX] --from T --to T\n"
		"         --purpose treatment|emergency|research|quality --decrypt-for 1h\n"
		"         [--note TEXT] [--cover exact|single] [--out FILE] [--timeout 2m]\n");
	return EXIT_USAGE;
}

/* A duration through the runtime's parser ("1h", "30m", a bare number is seconds). */
static int parse_duration(const char *name, const char *text, uint64_t min_ms, uint64_t *ms)
{
	struct holder { uint64_t v; } h;
	const struct rt_conf_key key = { name, RT_CONF_DURATION, RT_CONF_AT(struct holder, v),
					 .min = (long long)min_ms, .max = 366LL * 86400000 };
	char err[256];

	if (rt_conf_parse_value(&key, text, &h, err, sizeof(err))) {
		fprintf(stderr, "iomt-store decrypt: --%s\n", err);
		return -EINVAL;
	}
	*ms = h.v;
	return 0;
}

static int parse_purpose(const char *s, uint8_t *out)
{
	for (unsigned p = 1; p <= IOMT_PURPOSE_MAX; p++)
		if (!strcmp(s, iomt_consent_purpose_name(p))) {
			*out = (uint8_t)p;
			return 0;
		}
	fprintf(stderr, "iomt-store decrypt: --purpose: '%s' is not treatment, emergency,"
			" research or quality\n", s);
	return -EINVAL;
}

static int add_ppd(struct args *a, const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || (size_t)(eq - s) > IOMT_KDC_NAME_LEN || !eq[1] || a->nppd == PPD_MAX) {
		fprintf(stderr, "iomt-store decrypt: --ppd: NAME=HOST:PORT, not '%s'\n", s);
		return -EINVAL;
	}
	memcpy(a->ppd[a->nppd].name, s, (size_t)(eq - s));
	a->ppd[a->nppd].name[eq - s] = '\0';
	a->ppd[a->nppd++].addr = eq + 1;
	return 0;
}

static int parse(struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "kdc", required_argument, NULL, 'K' },
		{ "key", required_argument, NULL, 'k' }, { "app-key", required_argument, NULL, 'a' },
		{ "ppd", required_argument, NULL, 'p' }, { "sensor", required_argument, NULL, 's' },
		{ "key-id", required_argument, NULL, 'i' }, { "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' }, { "purpose", required_argument, NULL, 'P' },
		{ "decrypt-for", required_argument, NULL, 'D' },
		{ "note", required_argument, NULL, 'n' }, { "cover", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' }, { "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t ms;
	int o, r = 0;

	a->ro.timeout_ms = DEFAULT_TIMEOUT_MS;
	while (!r && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': a->db = optarg; break;
		case 'K': a->kdc = optarg; break;
		case 'k': a->key = optarg; break;
		case 'a': a->app_key = optarg; break;
		case 'o': a->out = optarg; break;
		case 'n': a->note = optarg; break;
		case 'p': r = add_ppd(a, optarg); break;
		case 'P': r = parse_purpose(optarg, &a->ro.purpose); break;
		case 's':
		case 'i':
			r = store_parse_id(optarg, o == 's' ? a->sensor : a->key_id);
			if (r)
				fprintf(stderr, "iomt-store decrypt: --%s: 32 hex digits\n",
					o == 's' ? "sensor" : "key-id");
			else if (o == 's')
				a->f.sensor_id = a->sensor;
			else
				a->f.key_id = a->key_id;
			break;
		case 'f':
		case 't':
			r = store_parse_time(optarg, o == 'f' ? &a->from : &a->to);
			if (r)
				fprintf(stderr, "iomt-store decrypt: --%s: '%s' is not a time\n",
					o == 'f' ? "from" : "to", optarg);
			*(o == 'f' ? &a->have_from : &a->have_to) = 1;
			break;
		case 'D':
			r = parse_duration("decrypt-for", optarg, 1000, &ms);
			a->ro.decrypt_for_s = (uint32_t)(ms / 1000);
			break;
		case 'T':
			r = parse_duration("timeout", optarg, 100, &ms);
			a->ro.timeout_ms = (unsigned)ms;
			break;
		case 'c':
			if (!strcmp(optarg, "exact") || !strcmp(optarg, "single"))
				a->cover = optarg[0] == 's' ? STORE_COVER_SINGLE : STORE_COVER_EXACT;
			else
				r = -EINVAL, fprintf(stderr, "iomt-store decrypt: --cover: exact or single\n");
			break;
		case 'h': usage(); return 1;
		default: return -EINVAL;
		}
	}
	if (r)
		return r;
	if (optind != argc || !a->db || !a->kdc || !a->key || !a->app_key || !a->nppd ||
	    !a->have_from || !a->have_to || !a->ro.purpose || !a->ro.decrypt_for_s ||
	    a->from > a->to) {
		usage();
		return -EINVAL;
	}
	if (a->note && strlen(a->note) > IOMT_CONSENT_NOTE_MAX) {
		fprintf(stderr, "iomt-store decrypt: --note: at most %d bytes\n",
			IOMT_CONSENT_NOTE_MAX);
		return -EINVAL;
	}
	a->ro.note = a->note;
	return 0;
}

/* The address of the PPD meta_Kdata names, from --ppd. */
static const char *ppd_of(const struct args *a, const struct iomt_keytree_meta *m, char *name)
{
	if (!iomt_kdc_name_valid(m->ppd_id) || iomt_kdc_name_is_empty(m->ppd_id))
		return NULL;
	memcpy(name, m->ppd_id, IOMT_KDC_NAME_LEN);
	name[IOMT_KDC_NAME_LEN] = '\0';
	for (int i = 0; i < a->nppd; i++)
		if (!strcmp(a->ppd[i].name, name))
			return a->ppd[i].addr;
	return NULL;
}

static void print_data(FILE *f, const struct plan *p, const struct plan_row *row,
		       const uint8_t *data, size_t n)
{
	char id[2 * IOMT_KEYTREE_ID_LEN + 1];
	int text = 1;

	iomt_hex_encode(p->trees[row->tree].meta.key_id, IOMT_KEYTREE_ID_LEN, id);
	for (size_t i = 0; i < n; i++)
		text &= data[i] >= 0x20 && data[i] < 0x7f;
	fprintf(f, "%s %u %llu %u %s", id, row->epoch, (unsigned long long)row->leaf, row->seq,
		text ? "text:" : "hex:");
	for (size_t i = 0; i < n; i++)
		fprintf(f, text ? "%c" : "%02x", data[i]);
	fputc('\n', f);
}

/* Opens every row: the number that did not open. */
static size_t open_all(const struct plan *p, FILE *out, FILE *rep)
{
	uint8_t k_enc[IOMT_KEYTREE_KEY_LEN], *data = malloc(IOMT_RECORD_MAX_DATA);
	struct iomt_record_hdr h;
	size_t failed = 0, n;

	for (size_t i = 0; data && i < p->nrows; i++) {
		const struct plan_row *row = &p->rows[i];
		int e = plan_leaf_key(p, row, k_enc);

		if (!e)
			e = iomt_record_open(k_enc, row->rec, row->len, &h, data,
					     IOMT_RECORD_MAX_DATA, &n);
		iomt_wipe(k_enc, sizeof(k_enc));
		if (e) {
			fprintf(rep, "record epoch %u leaf %llu seq %u did not open: %s\n",
				row->epoch, (unsigned long long)row->leaf, row->seq,
				e == -ENOKEY ? "no released key holds its leaf" : iomt_strerror(e));
			failed++;
			continue;
		}
		print_data(out, p, row, data, n);
		iomt_wipe(data, n);
	}
	if (!data)
		failed = p->nrows;
	free(data);
	return failed;
}

static void report_req(FILE *rep, const struct plan *p, const struct plan_req *q,
		       enum store_cover how)
{
	char id[2 * IOMT_CONSENT_ID_LEN + 1], a[STORE_TIME_TEXT], b[STORE_TIME_TEXT];

	iomt_hex_encode(q->request_id, IOMT_CONSENT_ID_LEN, id);
	fprintf(rep, "request %s: %u nodes for %llu leaves (%s to %s)", id, q->count,
		(unsigned long long)q->leaves, store_fmt_time(q->from_s, a),
		store_fmt_time(q->to_s, b));
	if (how == STORE_COVER_SINGLE)
		fprintf(rep, ", over-share %llu leaves", (unsigned long long)q->overshare);
	if (q->status < 0)
		fprintf(rep, ": not answered\n");
	else if (q->status == IOMT_KCHAN_OK)
		fprintf(rep, ": released\n");
	else
		fprintf(rep, ": %s (reason: %s)\n", iomt_kchan_strstatus(q->status),
			q->reason ? iomt_release_reason_name(q->reason) : "none given");
	(void)p;
}

/* Every request to its PPD; stops at the first that fails to get an answer. */
static int ask_all(struct args *a, struct plan *p, struct rt_kclient *k, EVP_PKEY *app,
		   FILE *rep)
{
	char name[IOMT_KDC_NAME_LEN + 1], err[512];
	int denied = 0;

	for (size_t i = 0; i < p->nreqs; i++) {
		struct plan_req *q = &p->reqs[i];
		const char *addr = ppd_of(a, &p->trees[q->tree].meta, name);
		int r;

		if (!addr) {
			fprintf(stderr, "iomt-store decrypt: the records' meta_Kdata names PPD '%s',"
					" which no --ppd gives an address for\n",
				iomt_kdc_name_valid(p->trees[q->tree].meta.ppd_id) ? name : "?");
			return EXIT_ERR;
		}
		err[0] = '\0';
		r = release_call(p, q, k, app, name, addr, &a->ro, err, sizeof(err));
		report_req(rep, p, q, a->cover);
		if (r) {
			fprintf(stderr, "iomt-store decrypt: %s\n", err);
			return EXIT_ERR;
		}
		if (q->status == IOMT_KCHAN_DENIED || q->status == IOMT_KCHAN_REFUSED)
			denied = 1;
		else if (q->status != IOMT_KCHAN_OK) {
			fprintf(stderr, "iomt-store decrypt: %s answered %s\n", name,
				iomt_kchan_strstatus(q->status));
			return EXIT_ERR;
		}
	}
	if (denied) {
		fprintf(stderr, "iomt-store decrypt: the patient's PPD did not release the keys:"
				" nothing was decrypted\n");
		return EXIT_DENIED;
	}
	return 0;
}

/* Plaintext health data: a file only we may read (0600, even when it
 * existed with another mode). */
static FILE *open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fchmod(fd, 0600) || !(f = fdopen(fd, "w"))) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	return f;
}

static int load(struct args *a, struct rt_kclient *k, EVP_PKEY **app, struct plan *p)
{
	struct rt_kclient_opts ko = { .kdc = a->kdc };
	struct rt_keyfile kf;
	struct store_db *db = NULL;
	char err[600];
	int r = rt_keyfile_read(a->key, NULL, &kf, err, sizeof(err));

	if (r)
		return fprintf(stderr, "iomt-store decrypt: %s: %s\n", a->key, err), EXIT_ERR;
	r = rt_kclient_init(k, &kf, &ko);
	rt_keyfile_wipe(&kf);
	if (r)
		return fprintf(stderr, "iomt-store decrypt: %s\n", rt_kclient_error(k)), EXIT_ERR;
	if (rt_consent_key_load(a->app_key, app, err, sizeof(err)))
		return fprintf(stderr, "iomt-store decrypt: %s: %s\n", a->app_key, err), EXIT_ERR;
	if (store_db_open(a->db, 0, &db, err, sizeof(err)))
		return fprintf(stderr, "iomt-store decrypt: %s\n", err), EXIT_ERR;
	r = plan_load(p, db, &a->f, a->from, a->to, err, sizeof(err));
	store_db_close(db);
	if (!r)
		r = plan_cover(p, a->cover, err, sizeof(err));
	if (r)
		return fprintf(stderr, "iomt-store decrypt: %s\n", err), EXIT_ERR;
	return 0;
}

int store_decrypt_main(int argc, char **argv)
{
	static struct args a;
	struct rt_kclient k;
	struct plan p = { 0 };
	EVP_PKEY *app = NULL;
	FILE *out = stdout, *rep;
	size_t failed = 0;
	int rc;

	rc = parse(&a, argc, argv);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	memset(&k, 0, sizeof(k));
	rep = a.out ? stdout : stderr;
	rc = load(&a, &k, &app, &p);
	if (!rc && !p.nrows) {
		fprintf(rep, "no records selected: nothing to ask for\n");
		goto done;
	}
	if (!rc)
		fprintf(rep, "%zu records of %zu key trees selected: %zu consent requests\n",
			p.nrows, p.ntrees, p.nreqs);
	if (!rc)
		rc = ask_all(&a, &p, &k, app, rep);
	if (!rc && a.out && !(out = open_private(a.out))) {
		fprintf(stderr, "iomt-store decrypt: %s: %s\n", a.out, strerror(errno));
		rc = EXIT_ERR;
	}
	if (!rc) {
		failed = open_all(&p, out, rep);
		fprintf(rep, "%zu records decrypted, %zu failed\n", p.nrows - failed, failed);
		if (out != stdout && fclose(out)) {
			fprintf(stderr, "iomt-store decrypt: %s: %s\n", a.out, strerror(errno));
			rc = EXIT_ERR;
		}
		if (!rc && failed)
			rc = EXIT_PARTIAL;
	}
done:
	plan_free(&p);
	rt_kclient_wipe(&k);
	EVP_PKEY_free(app);
	return rc;
}
