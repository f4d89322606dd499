/* SPDX-License-Identifier: MIT */
/* rt_knet_recv_frame: one whole frame at a time, never a byte of the next. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "harness.h"
#include "lib/rt_knet.h"
#include "wire.h"

static size_t frame(uint8_t *out, uint8_t type, size_t plen, uint8_t fill)
{
	iomt_wire_put_hdr(out, type, plen);
	memset(out + IOMT_WIRE_HDR_LEN, fill, plen);
	return IOMT_WIRE_HDR_LEN + plen;
}

static long recv1(int fd, uint8_t *buf, size_t cap)
{
	return rt_knet_recv_frame(fd, buf, cap, rt_knet_mono_ms() + 2000);
}

TEST(pipelined_frames_arrive_one_by_one)
{
	uint8_t out[3 * 300], in[600];
	size_t n = 0;
	int sv[2];

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	n += frame(out + n, IOMT_MSG_KCHAN_REP, 200, 0xa1);
	n += frame(out + n, IOMT_MSG_KCHAN_REP, 0, 0);
	n += frame(out + n, IOMT_MSG_REC_PUT, 90, 0xc3);
	ASSERT_EQ(write(sv[1], out, n), (ssize_t)n);  /* all three in one write */
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), 204);
	ASSERT_EQ(in[IOMT_WIRE_HDR_LEN + 199], 0xa1);
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), 4);
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), 94);
	ASSERT_EQ(in[1], IOMT_MSG_REC_PUT);
	ASSERT_EQ(in[IOMT_WIRE_HDR_LEN + 89], 0xc3);
	close(sv[1]);
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), -ECONNRESET);
	close(sv[0]);
}

TEST(errors_say_what)
{
	uint8_t out[600], in[100];
	int sv[2];

	/* Announces more than the caller's buffer holds. */
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(write(sv[1], out, frame(out, IOMT_MSG_KCHAN_REP, 200, 1)), 204);
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
	/* Not our protocol. */
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ASSERT_EQ(write(sv[1], "GET / HTTP/1.0\r\n\r\n", 18), 18);
	ASSERT_EQ(recv1(sv[0], in, sizeof(in)), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	/* Half a frame, then silence: the deadline. */
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	frame(out, IOMT_MSG_KCHAN_REP, 50, 1);
	ASSERT_EQ(write(sv[1], out, 10), 10);
	ASSERT_EQ(rt_knet_recv_frame(sv[0], in, sizeof(in), rt_knet_mono_ms() + 100), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}
