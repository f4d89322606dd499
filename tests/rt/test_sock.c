/* SPDX-License-Identifier: MIT */
/* rt_sock and rt_loop: listeners, one port for TCP and UDP, the port file,
 * epoll interest and a listener's close. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_log.h"
#include "lib/rt_loop.h"
#include "lib/rt_sock.h"
#include "rt_test.h"

static struct rt_endpoint loopback(const char *text)
{
	struct rt_endpoint ep;

	rt_endpoint_parse(text, &ep);
	return ep;
}

TEST(sock_listen_port0_reports_bound_port)
{
	struct rt_endpoint ep = loopback("127.0.0.1:0");
	char name[80];
	int fd = rt_sock_listen(&ep, 16, "test");

	ASSERT_GE(fd, 0);
	ASSERT_GT(rt_sock_port(fd), 0);
	rt_sock_name(fd, name, sizeof(name));
	EXPECT_EQ(strncmp(name, "127.0.0.1:", 10), 0);
	EXPECT_EQ(rt_sock_port(-1), 0);
	close(fd);
}

TEST(sock_listen_refuses_taken_port)
{
	struct rt_endpoint ep = loopback("127.0.0.1:0");
	int fd = rt_sock_listen(&ep, 16, "first"), fd2;

	ASSERT_GE(fd, 0);
	rt_endpoint_set_port(&ep, rt_sock_port(fd));
	/* SO_REUSEADDR does not let a second listener share a live one. */
	fd2 = rt_sock_listen(&ep, 16, "second");
	EXPECT_EQ(fd2, -EADDRINUSE);
	close(fd);
}

TEST(sock_pair_binds_tcp_and_udp_on_one_port)
{
	struct rt_endpoint ep = loopback("127.0.0.1:0");
	int tcp = -1, udp = -1, type;
	socklen_t len = sizeof(type);
	char name[80];

	ASSERT_EQ(rt_sock_bind_pair(&ep, 16, &tcp, &udp, name, sizeof(name)), 0);
	EXPECT_EQ(rt_sock_port(tcp), rt_sock_port(udp));
	ASSERT_EQ(getsockopt(udp, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	EXPECT_EQ(type, SOCK_DGRAM);
	rt_sock_rcvbuf(udp, 1 << 16);
	close(tcp);
	close(udp);
}

TEST(sock_pair_fixed_port_in_use_fails)
{
	struct rt_endpoint ep = loopback("127.0.0.1:0");
	int busy = -1, tcp = -1, udp = -1;
	char name[80];

	ASSERT_EQ(rt_sock_bind(SOCK_DGRAM, &ep, 0, &busy), 0);
	rt_endpoint_set_port(&ep, rt_sock_port(busy));
	EXPECT_EQ(rt_sock_bind_pair(&ep, 16, &tcp, &udp, name, sizeof(name)), -EADDRINUSE);
	EXPECT_EQ(tcp, -1);
	EXPECT_EQ(rt_sock_open(SOCK_DGRAM, &ep, 0, "udp", &udp), -EADDRINUSE);
	close(busy);
}

TEST(sock_write_ports_replaces_whole)
{
	char dir[64], path[128], buf[64];

	ASSERT_EQ(rt_test_mkdtemp(dir, sizeof(dir), "sock"), 0);
	snprintf(path, sizeof(path), "%s/ports", dir);
	ASSERT_EQ(rt_sock_write_ports(path, "a=1\n"), 0);
	ASSERT_EQ(rt_sock_write_ports(path, "listen=7\nmetrics=0\n"), 0);
	ASSERT_EQ(rt_test_read(path, buf, sizeof(buf)), 19);
	EXPECT_STREQ(buf, "listen=7\nmetrics=0\n");
	snprintf(path, sizeof(path), "%s/none/ports", dir);
	EXPECT_EQ(rt_sock_write_ports(path, "x\n"), -ENOENT);
	rt_test_rmtree(dir);
}

TEST(loop_add_mod_close)
{
	struct rt_endpoint ep = loopback("127.0.0.1:0");
	int ep_fd = epoll_create1(EPOLL_CLOEXEC), fd = rt_sock_listen(&ep, 16, "loop");
	struct epoll_event ev;

	ASSERT_GE(ep_fd, 0);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(rt_loop_add(ep_fd, fd, &fd, EPOLLIN), 0);
	EXPECT_EQ(rt_loop_add(ep_fd, fd, &fd, EPOLLIN), -EEXIST);
	EXPECT_EQ(rt_loop_mod(ep_fd, fd, &fd, EPOLLIN | EPOLLOUT), 0);
	EXPECT_EQ(epoll_wait(ep_fd, &ev, 1, 0), 0);
	rt_loop_close(ep_fd, &fd);
	EXPECT_EQ(fd, -1);
	rt_loop_close(ep_fd, &fd);
	EXPECT_EQ(rt_loop_mod(ep_fd, 12345, NULL, EPOLLIN), -EBADF);
	close(ep_fd);
}

TEST(loop_clocks_move_forward)
{
	int64_t a = rt_mono_us(), b;

	usleep(2000);
	b = rt_mono_us();
	EXPECT_GE(b - a, 2000);
	EXPECT_GT(rt_unix_ms(), INT64_C(1600000000000));
	EXPECT_GE(rt_mono_ms(), a / 1000);
}

TEST(loop_wait_times_out_and_reports_errors)
{
	struct epoll_event ev[2];
	int ep_fd = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_GE(ep_fd, 0);
	EXPECT_EQ(rt_loop_wait(ep_fd, ev, 2, 0), 0);
	close(ep_fd);
	EXPECT_EQ(rt_loop_wait(ep_fd, ev, 2, 0), -EBADF);
}
