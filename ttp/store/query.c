/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "query.h"
#include "select.h"

struct query {
	uint64_t from, to;
	unsigned long rows;
	uint64_t bytes;
};

static int print_row(void *arg, const struct store_row *r)
{
	struct query *q = arg;
	char id[2 * IOMT_KEYTREE_ID_LEN + 1], a[STORE_TIME_TEXT], b[STORE_TIME_TEXT];
	uint64_t start, end;

	if (!store_leaf_selected(&r->meta.conf, r->leaf, q->from, q->to))
		return 0;
	store_leaf_range(&r->meta.conf, r->leaf, &start, &end);
	iomt_hex_encode(r->meta.key_id, IOMT_KEYTREE_ID_LEN, id);
	printf("%s %u %llu %u %s %s %zu\n", id, r->epoch, (unsigned long long)r->leaf, r->seq,
	       store_fmt_time(start, a), store_fmt_time(end, b), r->len);
	q->rows++;
	q->bytes += r->len;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: iomt-store query --db F [--sensor HEX|--key-id HEX]"
			" [--from T --to T]\n");
	return 2;
}

int store_query_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "sensor", required_argument, NULL, 's' },
		{ "key-id", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct query q = { .from = 0, .to = UINT64_MAX };
	uint8_t key_id[IOMT_KEYTREE_ID_LEN], sensor[IOMT_KEYTREE_ID_LEN];
	struct store_filter f = { 0 };
	struct store_db *db;
	const char *path = NULL;
	char err[600];
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': path = optarg; break;
		case 's':
			if (store_parse_id(optarg, sensor))
				return fprintf(stderr, "iomt-store query: --sensor: 32 hex digits\n"), 2;
			f.sensor_id = sensor;
			break;
		case 'k':
			if (store_parse_id(optarg, key_id))
				return fprintf(stderr, "iomt-store query: --key-id: 32 hex digits\n"), 2;
			f.key_id = key_id;
			break;
		case 'f':
		case 't':
			if (store_parse_time(optarg, o == 'f' ? &q.from : &q.to))
				return fprintf(stderr, "iomt-store query: --%s: '%s' is not a time\n",
					       o == 'f' ? "from" : "to", optarg), 2;
			break;
		case 'h': usage(); return 0;
		default: return usage();
		}
	}
	if (!path || optind != argc || q.from > q.to)
		return usage();
	r = store_db_open(path, 0, &db, err, sizeof(err));
	if (r) {
		fprintf(stderr, "iomt-store query: %s\n", err);
		return 1;
	}
	printf("# key_id epoch leaf seq leaf_start leaf_end bytes\n");
	r = store_db_select(db, &f, print_row, &q);
	store_db_close(db);
	if (r) {
		fprintf(stderr, "iomt-store query: %s: cannot read the records\n", path);
		return 1;
	}
	printf("# %lu records, %llu bytes\n", q.rows, (unsigned long long)q.bytes);
	return 0;
}
