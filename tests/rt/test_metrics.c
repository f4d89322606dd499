/* SPDX-License-Identifier: MIT */
/* rt_metrics: registry, exposition format (parsed back), HTTP responder. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"

static struct rt_metric rx_ok = RT_COUNTER("iomt_rx_packets_total", "verdict=\"pass\"",
					   "Packets received, by filter verdict");
static struct rt_metric sessions = RT_GAUGE("iomt_sessions", NULL,
					    "Open sessions\nwith a \\ in the help");
static struct rt_metric rx_drop = RT_COUNTER("iomt_rx_packets_total", "verdict=\"drop\"",
					     "Packets received, by filter verdict");

static void register_three(void)
{
	ASSERT_EQ(rt_metrics_register(&rx_ok), 0);
	ASSERT_EQ(rt_metrics_register(&sessions), 0);
	ASSERT_EQ(rt_metrics_register(&rx_drop), 0);
	rt_metric_add(&rx_ok, 41);
	rt_metric_inc(&rx_ok);
	rt_metric_inc(&rx_drop);
	rt_metric_set(&sessions, 10);
	rt_metric_sub(&sessions, 3);
}

static const char three_text[] =
	"# HELP iomt_rx_packets_total Packets received, by filter verdict\n"
	"# TYPE iomt_rx_packets_total counter\n"
	"iomt_rx_packets_total{verdict=\"pass\"} 42\n"
	"iomt_rx_packets_total{verdict=\"drop\"} 1\n"
	"# HELP iomt_sessions Open sessions\\nwith a \\\\ in the help\n"
	"# TYPE iomt_sessions gauge\n"
	"iomt_sessions 7\n";

TEST(render_exact_text)
{
	char buf[1024];

	register_three();
	ASSERT_EQ(rt_metrics_render(buf, sizeof(buf)), strlen(three_text));
	ASSERT_STREQ(buf, three_text);
}

TEST(render_counts_like_snprintf)
{
	char small[16];

	register_three();
	ASSERT_EQ(rt_metrics_render(small, sizeof(small)), strlen(three_text));
	ASSERT_EQ(strlen(small), sizeof(small) - 1);
	ASSERT_EQ(rt_metrics_render(NULL, 0), strlen(three_text));
}

TEST(empty_registry_renders_nothing)
{
	char buf[8] = "x";

	ASSERT_EQ(rt_metrics_render(buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "");
}

TEST(bad_registrations_are_refused)
{
	static struct rt_metric bad[] = {
		RT_COUNTER("1abc", NULL, ""),
		RT_COUNTER("a-b", NULL, ""),
		RT_COUNTER(NULL, NULL, ""),
		RT_COUNTER("ok", "a=b", ""),
		RT_COUNTER("ok", "a=\"x", ""),
		RT_COUNTER("ok", "__a=\"x\"", ""),
		RT_COUNTER("ok", "a=\"x\"b=\"y\"", ""),
		RT_COUNTER("ok", "a=\"x\",", ""),
		RT_COUNTER("ok", "a=\"\\q\"", ""),
		RT_COUNTER("ok", "a=\"new\nline\"", ""),
		RT_COUNTER("ok", "a b=\"x\"", ""),
	};
	static struct rt_metric good = RT_COUNTER("ns:ok_total", "a=\"x \\\" \\\\ \\n\",b_2=\"\"", "");
	static struct rt_metric same = RT_COUNTER("ns:ok_total", "a=\"x \\\" \\\\ \\n\",b_2=\"\"", "");
	static struct rt_metric gauge = RT_GAUGE("ns:ok_total", "c=\"1\"", "");
	size_t i;

	rt_log_set_file("/dev/null");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rt_metrics_register(&bad[i]) != -EINVAL) {
			TH_LOG("bad metric %zu was accepted", i);
			ASSERT_TRUE(0);
		}
	}
	ASSERT_EQ(rt_metrics_register(&good), 0);
	ASSERT_EQ(rt_metrics_register(&good), -EALREADY);
	ASSERT_EQ(rt_metrics_register(&same), -EINVAL);
	ASSERT_EQ(rt_metrics_register(&gauge), -EINVAL);
}

enum { FAMILIES = 7, PER_FAMILY = 9 };

/*
 * A reader of the text format, independent of the writer: each sample must
 * follow the # HELP and # TYPE of its own family, each family's header must
 * appear once, and every value must be what was set. Returns samples seen.
 */
static int parse_back(char *text, uint64_t want[FAMILIES][PER_FAMILY])
{
	char *line, *save = NULL, family[64] = "", seen[FAMILIES] = { 0 };
	int samples = 0, state = 0;	/* 0: expect HELP, 1: TYPE, 2: samples or HELP */
	unsigned f, i;
	uint64_t v;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			ASSERT_EQ(sscanf(line, "# HELP fam_%u_total Family %u", &f, &i), 2);
			ASSERT_EQ(f, i);
			ASSERT_LT(f, FAMILIES);
			ASSERT_EQ(seen[f], 0);
			seen[f] = 1;
			snprintf(family, sizeof(family), "fam_%u_total", f);
			ASSERT_TRUE(state == 0 || state == 2);
			state = 1;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			ASSERT_EQ(state, 1);
			ASSERT_EQ(strncmp(line + 7, family, strlen(family)), 0);
			ASSERT_STREQ(line + 7 + strlen(family), " counter");
			state = 2;
		} else {
			ASSERT_EQ(state, 2);
			ASSERT_EQ(strncmp(line, family, strlen(family)), 0);
			ASSERT_EQ(sscanf(line + strlen(family), "{lane=\"%u\"} %" SCNu64, &i, &v), 2);
			ASSERT_LT(i, PER_FAMILY);
			sscanf(family, "fam_%u", &f);
			ASSERT_EQ(v, want[f][i]);
			want[f][i] = UINT64_MAX;	/* each sample once */
			samples++;
		}
	}
	return samples;
}

TEST(text_format_parses_back)
{
	static struct rt_metric m[PER_FAMILY][FAMILIES];
	static char names[FAMILIES][32], help[FAMILIES][32], labels[PER_FAMILY][32];
	static uint64_t want[FAMILIES][PER_FAMILY];
	static char text[65536];
	unsigned f, i;

	/* Registered lane-major, so families arrive interleaved. */
	for (i = 0; i < PER_FAMILY; i++) {
		snprintf(labels[i], sizeof(labels[i]), "lane=\"%u\"", i);
		for (f = 0; f < FAMILIES; f++) {
			snprintf(names[f], sizeof(names[f]), "fam_%u_total", f);
			snprintf(help[f], sizeof(help[f]), "Family %u", f);
			m[i][f] = (struct rt_metric)RT_COUNTER(names[f], labels[i], help[f]);
			ASSERT_EQ(rt_metrics_register(&m[i][f]), 0);
			want[f][i] = (uint64_t)f * 1000003u + i * 7919u + (f == 3 ? UINT64_MAX / 2 : 0);
			rt_metric_add(&m[i][f], want[f][i]);
		}
	}
	ASSERT_LT(rt_metrics_render(text, sizeof(text)), sizeof(text));
	ASSERT_EQ(parse_back(text, want), FAMILIES * PER_FAMILY);
}

enum { THREADS = 4, INCS = 200000 };

static void *bump(void *arg)
{
	int i;

	for (i = 0; i < INCS; i++)
		rt_metric_inc(arg);
	return NULL;
}

TEST(increments_from_threads_are_exact)
{
	static struct rt_metric c = RT_COUNTER("c_total", NULL, "c");
	pthread_t th[THREADS];
	int t;

	ASSERT_EQ(rt_metrics_register(&c), 0);
	for (t = 0; t < THREADS; t++)
		ASSERT_EQ(pthread_create(&th[t], NULL, bump, &c), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	ASSERT_EQ(rt_metric_get(&c), (uint64_t)THREADS * INCS);
}

/* ---- HTTP ---- */

/* A connected loopback TCP pair: *client and the accepted *server. */
static void tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ASSERT_GE(l, 0);
	ASSERT_EQ(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(l, 4), 0);
	ASSERT_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(*client, 0);
	ASSERT_EQ(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_GE(*server, 0);
	close(l);
}

/* Everything the peer sends until it closes (or 2 s pass). */
static size_t read_all(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got + 1 < len && poll(&p, 1, 2000) > 0) {
		n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

/* Sends req, serves it, returns the status; the response lands in resp. */
static int exchange(const char *req, size_t reqlen, char *resp, size_t resplen)
{
	int c, s, status;

	tcp_pair(&c, &s);
	ASSERT_EQ(write(c, req, reqlen), (ssize_t)reqlen);
	status = rt_metrics_serve(s);
	close(s);
	read_all(c, resp, resplen);
	close(c);
	return status;
}

#define EXCHANGE(req, resp) exchange(req, strlen(req), resp, sizeof(resp))

TEST(http_get_metrics)
{
	char head[256], resp[4096];

	register_three();
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n"
		 "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", strlen(three_text));
	ASSERT_EQ(EXCHANGE("GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
			   "Accept: text/plain\r\n\r\n", resp), 200);
	ASSERT_EQ(strncmp(resp, head, strlen(head)), 0);
	ASSERT_STREQ(resp + strlen(head), three_text);
	/* Bare-LF clients and query strings are served too. */
	ASSERT_EQ(EXCHANGE("GET /metrics?x=1 HTTP/1.0\n\n", resp), 200);
}

TEST(http_anything_else_is_404)
{
	static const char *const reqs[] = {
		"GET / HTTP/1.0\r\n\r\n",
		"GET /metricsX HTTP/1.0\r\n\r\n",
		"GET /metrics/ HTTP/1.0\r\n\r\n",
		"POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		"HEAD /metrics HTTP/1.1\r\n\r\n",
	};
	char resp[1024];
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		ASSERT_EQ(EXCHANGE(reqs[i], resp), 404);
		ASSERT_EQ(strncmp(resp, "HTTP/1.0 404 Not Found\r\n", 24), 0);
		ASSERT_NONNULL(strstr(resp, "\r\nContent-Length: 9\r\n"));
		ASSERT_NONNULL(strstr(resp, "\r\n\r\nNot Found"));
	}
}

TEST(http_garbage_is_400)
{
	char resp[1024];

	ASSERT_EQ(EXCHANGE("hello\r\n\r\n", resp), 400);
	ASSERT_EQ(strncmp(resp, "HTTP/1.0 400 Bad Request\r\n", 26), 0);
	ASSERT_EQ(EXCHANGE("GET /metrics SSH-2.0\r\n\r\n", resp), 400);
	ASSERT_EQ(EXCHANGE("\r\n\r\n", resp), 400);
}

TEST(http_oversized_request_is_431)
{
	char req[RT_METRICS_REQ_MAX + 512], resp[1024];

	memset(req, 'a', sizeof(req));
	memcpy(req, "GET /metrics HTTP/1.0\r\nX-Pad: ", 30);
	memcpy(req + sizeof(req) - 4, "\r\n\r\n", 4);
	ASSERT_EQ(exchange(req, sizeof(req), resp, sizeof(resp)), 431);
	ASSERT_EQ(strncmp(resp, "HTTP/1.0 431 Request Header Fields Too Large\r\n", 46), 0);
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(http_silent_client_does_not_hold_the_caller)
{
	long long t0, took;
	int c, s;

	tcp_pair(&c, &s);
	ASSERT_EQ(write(c, "GET /metrics HT", 15), 15);
	t0 = ms_now();
	ASSERT_EQ(rt_metrics_serve(s), -ETIMEDOUT);
	took = ms_now() - t0;
	ASSERT_GE(took, RT_METRICS_TIMEOUT_MS - 5);
	ASSERT_LT(took, RT_METRICS_TIMEOUT_MS + 300);
	close(s);
	close(c);
}

TEST(http_client_gone)
{
	int c, s;

	tcp_pair(&c, &s);
	close(c);
	ASSERT_EQ(rt_metrics_serve(s), -ECONNRESET);
	close(s);
}

struct reader {
	int fd;
	char *buf;
	size_t len, got;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;

	r->got = read_all(r->fd, r->buf, r->len);
	return NULL;
}

/* Bigger than the socket buffers: exercises partial sends. */
TEST(http_large_body)
{
	enum { N = 4000 };
	static struct rt_metric m[N];
	static char labels[N][32], resp[1 << 20];
	struct reader rd = { .buf = resp, .len = sizeof(resp) };
	pthread_t th;
	char *body;
	int s, i, lines = 0;

	for (i = 0; i < N; i++) {
		snprintf(labels[i], sizeof(labels[i]), "sensor=\"%d\"", i);
		m[i] = (struct rt_metric)RT_GAUGE("iomt_sensor_last_seen_seconds", labels[i],
						  "Seconds since each sensor was last heard from");
		ASSERT_EQ(rt_metrics_register(&m[i]), 0);
		rt_metric_set(&m[i], 1700000000000ull + (uint64_t)i);
	}
	tcp_pair(&rd.fd, &s);
	ASSERT_EQ(write(rd.fd, "GET /metrics HTTP/1.0\r\n\r\n", 25), 25);
	ASSERT_EQ(pthread_create(&th, NULL, reader_thread, &rd), 0);
	ASSERT_EQ(rt_metrics_serve(s), 200);
	close(s);
	pthread_join(th, NULL);
	close(rd.fd);
	body = strstr(resp, "\r\n\r\n");
	ASSERT_NONNULL(body);
	for (body += 4; (body = strchr(body, '\n')); body++)
		lines++;
	ASSERT_EQ(lines, N + 2);
	ASSERT_GT(rd.got, 200000);
}
