/* SPDX-License-Identifier: MIT */
/* rt_metrics registration helpers and the accept-all responder of the
 * epoll daemons. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_metrics.h"
#include "lib/rt_sock.h"

static struct rt_metric fam[2] = {
	RT_COUNTER("iomt_t_total", "r=\"a\"", "By r"),
	RT_COUNTER("iomt_t_total", "r=\"b\"", "By r"),
};
static struct rt_metric one = RT_GAUGE("iomt_t_open", NULL, "Open");
static struct rt_metric bad = RT_GAUGE("iomt_t_total", "r=\"c\"", "Type differs");

TEST(register_array_and_list_in_order)
{
	struct rt_metric *const list[] = { &one };
	char text[512];

	ASSERT_EQ(rt_metrics_register_array(fam, RT_METRICS_LEN(fam)), 0);
	ASSERT_EQ(rt_metrics_register_list(list, RT_METRICS_LEN(list)), 0);
	rt_metric_inc(&fam[1]);
	ASSERT_LT(rt_metrics_render(text, sizeof(text)), sizeof(text));
	EXPECT_NONNULL(strstr(text, "iomt_t_total{r=\"a\"} 0\niomt_t_total{r=\"b\"} 1\n"));
	EXPECT_NONNULL(strstr(text, "iomt_t_open 0\n"));
}

TEST(register_stops_at_first_failure)
{
	struct rt_metric *const list[] = { &fam[0], &bad, &one };

	ASSERT_EQ(rt_metrics_register(&fam[0]), 0);
	/* fam[0] twice: refused before bad or one are tried. */
	EXPECT_EQ(rt_metrics_register_list(list, 3), -EALREADY);
	EXPECT_EQ(rt_metrics_register(&one), 0);
}

TEST(accept_all_answers_every_waiting_client)
{
	struct rt_endpoint ep;
	char resp[2][256] = { "", "" };
	int lfd, c[2];

	ASSERT_EQ(rt_endpoint_parse("127.0.0.1:0", &ep), 0);
	lfd = rt_sock_listen(&ep, 8, "metrics");
	ASSERT_GE(lfd, 0);
	rt_endpoint_set_port(&ep, rt_sock_port(lfd));
	for (int i = 0; i < 2; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_EQ(connect(c[i], (struct sockaddr *)&ep.addr, ep.len), 0);
		ASSERT_EQ(write(c[i], "GET /metrics HTTP/1.0\r\n\r\n", 25), 25);
	}
	rt_metrics_accept_all(lfd);     /* returns once none is waiting */
	for (int i = 0; i < 2; i++) {
		ASSERT_GT(read(c[i], resp[i], sizeof(resp[i]) - 1), 0);
		EXPECT_EQ(strncmp(resp[i], "HTTP/1.0 200 OK\r\n", 17), 0);
		close(c[i]);
	}
	close(lfd);
}
