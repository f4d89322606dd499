/* SPDX-License-Identifier: MIT */
/* rt_ble on the host (no Bluetooth here): the socket filter attached to an
 * AF_UNIX SOCK_SEQPACKET pair (which runs sk_filter; LE channels do not, see
 * rt_ble.h): every verdict, the kernel's counts, agreement with
 * iomt_wire_parse and rt_ble_judge for every type; the channel table with
 * adopted socket pairs (slots, generations, a full table, send and receive
 * of one frame per SDU, a peer's close). Real L2CAP LE channels, iomt-gwd
 * and btvirt: tests/qemu/test_ble.sh. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "lib/rt_ble.h"
#include "wire.h"

FIXTURE(bf) {
	struct rt_ble_filter f;
	int sv[2];
};

FIXTURE_SETUP(bf)
{
	char err[256];
	int r = rt_ble_filter_open(&self->f, err, sizeof(err));

	if (r == -EPERM)
		SKIP(return, "loading a BPF socket filter needs CAP_BPF: %s", err);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, self->sv), 0);
	ASSERT_EQ(rt_ble_filter_attach(&self->f, self->sv[1]), 0);
}

FIXTURE_TEARDOWN(bf)
{
	close(self->sv[0]);
	close(self->sv[1]);
	rt_ble_filter_close(&self->f);
}

/* Sends len bytes of buf; 1 if they arrived, whole, on the other end. */
static int through(int sv[2], const uint8_t *buf, size_t len)
{
	uint8_t got[2048];
	ssize_t n;

	if (send(sv[0], buf, len, 0) != (ssize_t)len)
		return -1;
	n = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
	if (n < 0)
		return 0;
	return (size_t)n == len && !memcmp(got, buf, len);
}

static size_t frame(uint8_t *buf, uint8_t type, size_t plen)
{
	iomt_wire_put_hdr(buf, type, plen);
	memset(buf + IOMT_WIRE_HDR_LEN, 0xa5, plen);
	return IOMT_WIRE_HDR_LEN + plen;
}

TEST_F(bf, each_verdict_is_counted)
{
	uint8_t b[512];
	uint64_t c[RT_BLE_NVERDICTS];
	size_t n;

	n = frame(b, IOMT_MSG_KDC_AP_REQ, IOMT_WIRE_KDC_AP_REQ_LEN);
	EXPECT_EQ(through(self->sv, b, n), 1);
	n = frame(b, IOMT_MSG_REC_PUT, 100);			/* variable size */
	EXPECT_EQ(through(self->sv, b, n), 1);
	EXPECT_EQ(through(self->sv, b, 3), 0);			/* short */
	n = frame(b, IOMT_MSG_S2_M1, IOMT_WIRE_S2_M1_LEN);
	b[0] = 2;
	EXPECT_EQ(through(self->sv, b, n), 0);			/* version */
	b[0] = 1;
	EXPECT_EQ(through(self->sv, b, n - 1), 0);		/* length field */
	EXPECT_EQ(through(self->sv, b, n + 0), 1);
	n = frame(b, 0xee, 8);
	EXPECT_EQ(through(self->sv, b, n), 0);			/* unknown type */
	n = frame(b, IOMT_MSG_S2_M1, IOMT_WIRE_S2_M1_LEN + 1);
	EXPECT_EQ(through(self->sv, b, n), 0);			/* fixed size */
	ASSERT_EQ(rt_ble_filter_counts(&self->f, c), 0);
	EXPECT_EQ(c[RT_BLE_PASS], 3);
	EXPECT_EQ(c[RT_BLE_PASS] + c[RT_BLE_DROP_SHORT] + c[RT_BLE_DROP_VERSION] +
		  c[RT_BLE_DROP_LENGTH] + c[RT_BLE_DROP_TYPE] + c[RT_BLE_DROP_SIZE], 8);
	EXPECT_EQ(c[RT_BLE_DROP_SHORT], 1);
	EXPECT_EQ(c[RT_BLE_DROP_VERSION], 1);
	EXPECT_EQ(c[RT_BLE_DROP_LENGTH], 1);
	EXPECT_EQ(c[RT_BLE_DROP_TYPE], 1);
	EXPECT_EQ(c[RT_BLE_DROP_SIZE], 1);
}

/* For every type and a spread of sizes around its own, the filter keeps
 * exactly what iomt_wire_parse accepts as to header and size (the daemon
 * parses again; variable-size types pass to it whole). */
TEST_F(bf, agrees_with_wire_parse_for_every_type)
{
	static uint8_t b[IOMT_WIRE_HDR_LEN + 400];
	const size_t sizes[] = { 0, 1, 16, 17, 37, 48, 64, 92, 132, 163, 167, 187, 300 };
	unsigned checked = 0;

	for (unsigned t = 0; t < 256; t++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t fl = iomt_wire_fixed_len((uint8_t)t), n = frame(b, (uint8_t)t, sizes[k]);
			const uint8_t *pl;
			size_t plen;
			uint8_t ty;
			int parse = iomt_wire_parse(b, n, &ty, &pl, &plen) == 0;
			/* parse may refuse a variable type's content later: the
			 * filter checks only the header and fixed sizes. */
			int want = fl == (size_t)-1 ? 0 : fl == 0 ? 1 : fl == sizes[k];

			if (fl != 0)
				ASSERT_EQ(parse, want);
			ASSERT_EQ(through(self->sv, b, n), want);
			ASSERT_EQ(rt_ble_judge(b, n) == RT_BLE_PASS, want);
			checked++;
		}
	ASSERT_EQ(checked, 256 * 13);
}

/* The daemon's twin of the filter gives each kind its own verdict. */
TEST(judge_names_each_verdict)
{
	uint8_t b[128];
	size_t n = frame(b, IOMT_MSG_S2_M1, IOMT_WIRE_S2_M1_LEN);

	EXPECT_EQ(rt_ble_judge(b, n), RT_BLE_PASS);
	EXPECT_EQ(rt_ble_judge(b, 3), RT_BLE_DROP_SHORT);
	EXPECT_EQ(rt_ble_judge(b, n - 1), RT_BLE_DROP_LENGTH);
	b[0] = 0;
	EXPECT_EQ(rt_ble_judge(b, n), RT_BLE_DROP_VERSION);
	n = frame(b, 0xee, 4);
	EXPECT_EQ(rt_ble_judge(b, n), RT_BLE_DROP_TYPE);
	n = frame(b, IOMT_MSG_S2_M1, 63);
	EXPECT_EQ(rt_ble_judge(b, n), RT_BLE_DROP_SIZE);
	n = frame(b, IOMT_MSG_REC_PUT, 0);
	EXPECT_EQ(rt_ble_judge(b, n), RT_BLE_PASS);
}

TEST(addr_text_round_trip)
{
	bdaddr_t a;
	char s[18];

	ASSERT_EQ(rt_ble_addr_parse("00:AA:01:00:00:23", &a), 0);
	EXPECT_EQ(a.b[0], 0x23);
	EXPECT_EQ(a.b[5], 0x00);
	EXPECT_STREQ(rt_ble_addr_str(&a, s), "00:AA:01:00:00:23");
	EXPECT_EQ(rt_ble_addr_parse("00:AA:01:00:00", &a), -EINVAL);
	EXPECT_EQ(rt_ble_addr_parse("00:AA:01:00:00:23:", &a), -EINVAL);
	EXPECT_EQ(rt_ble_addr_parse("zz:AA:01:00:00:23", &a), -EINVAL);
}

TEST(bad_psm_is_refused_before_any_socket)
{
	struct rt_ble_server s;
	char err[128];

	EXPECT_EQ(rt_ble_server_open(&s, 0, 4, err, sizeof(err)), -EINVAL);
	EXPECT_EQ(rt_ble_server_open(&s, 0x100, 4, err, sizeof(err)), -EINVAL);
	EXPECT_NONNULL(strstr(err, "0x01..0xff"));
}

/* The host kernel has no Bluetooth: a clear error, not a crash. */
TEST(no_bluetooth_is_a_clear_error)
{
	struct rt_ble_server s;
	char err[256];
	int r = rt_ble_server_open(&s, RT_BLE_PSM_DEFAULT, 4, err, sizeof(err));

	if (r == 0) {
		rt_ble_server_close(&s);
		SKIP(return, "this kernel has Bluetooth: tests/qemu/test_ble.sh covers it");
	}
	if (r == -EPERM)
		SKIP(return, "no CAP_BPF: %s", err);
	EXPECT_NONNULL(strstr(err, "BLE PSM 0x80"));
	EXPECT_EQ(s.lfd, -1);
}

/* ---- the channel table, with AF_UNIX pairs for channels ---- */

FIXTURE(tab) {
	struct rt_ble_server s;
	int peer[4];
	struct sockaddr_l2 a;
};

FIXTURE_SETUP(tab)
{
	char err[256];
	int r = rt_ble_server_init(&self->s, 2, err, sizeof(err));

	if (r == -EPERM)
		SKIP(return, "loading a BPF socket filter needs CAP_BPF: %s", err);
	ASSERT_EQ(r, 0);
	memset(&self->a, 0, sizeof(self->a));
	self->a.l2_family = AF_BLUETOOTH;
	self->a.l2_bdaddr.b[0] = 0x23;
	for (int i = 0; i < 4; i++)
		self->peer[i] = -1;
}

FIXTURE_TEARDOWN(tab)
{
	rt_ble_server_close(&self->s);
	for (int i = 0; i < 4; i++)
		if (self->peer[i] >= 0)
			close(self->peer[i]);
}

/* A channel: our end adopted, the sensor's end in peer[i]. */
static int adopt(struct rt_ble_server *s, int *peer, const struct sockaddr_l2 *a)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv))
		return -errno;
	*peer = sv[0];
	return rt_ble_server_adopt(s, sv[1], a);
}

TEST_F(tab, full_table_refuses_and_closes)
{
	int sv[2];

	ASSERT_EQ(adopt(&self->s, &self->peer[0], &self->a), 0);
	ASSERT_EQ(adopt(&self->s, &self->peer[1], &self->a), 1);
	EXPECT_EQ(self->s.nopen, 2);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	self->peer[2] = sv[0];
	EXPECT_EQ(rt_ble_server_adopt(&self->s, sv[1], &self->a), -ENOSPC);
	EXPECT_EQ(fcntl(sv[1], F_GETFD), -1);	/* closed */
	EXPECT_EQ(send(sv[0], "x", 1, MSG_NOSIGNAL), -1);
	EXPECT_EQ(self->s.nopen, 2);
}

/* An answer for a channel that has closed never reaches the next one in
 * its slot. */
TEST_F(tab, a_slot_reused_has_a_new_generation)
{
	uint32_t g1;

	ASSERT_EQ(adopt(&self->s, &self->peer[0], &self->a), 0);
	g1 = self->s.conn[0].gen;
	EXPECT_NONNULL(rt_ble_server_conn(&self->s, 0, g1));
	EXPECT_EQ(self->s.conn[0].peer.l2_bdaddr.b[0], 0x23);
	rt_ble_server_drop(&self->s, 0);
	EXPECT_NULL(rt_ble_server_conn(&self->s, 0, g1));
	EXPECT_EQ(self->s.nopen, 0);
	ASSERT_EQ(adopt(&self->s, &self->peer[1], &self->a), 0);
	EXPECT_NULL(rt_ble_server_conn(&self->s, 0, g1));
	EXPECT_NONNULL(rt_ble_server_conn(&self->s, 0, g1 + 1));
	EXPECT_NULL(rt_ble_server_conn(&self->s, 7, g1 + 1));
	rt_ble_server_drop(&self->s, 1);	/* a free slot: nothing happens */
	EXPECT_EQ(self->s.nopen, 1);
}

TEST_F(tab, one_frame_per_sdu_both_ways)
{
	uint8_t b[RT_BLE_MTU + 1], ack[IOMT_WIRE_REC_ACK_LEN] = { 7 };
	const uint8_t *pl;
	size_t plen;
	uint8_t type;
	int fd, n;

	ASSERT_EQ(adopt(&self->s, &self->peer[0], &self->a), 0);
	fd = self->s.conn[0].fd;
	EXPECT_EQ(rt_ble_recv(fd, b, sizeof(b)), -EAGAIN);
	ASSERT_EQ(rt_ble_send_frame(fd, IOMT_MSG_REC_ACK, ack, sizeof(ack)), 0);
	n = (int)recv(self->peer[0], b, sizeof(b), 0);
	ASSERT_EQ(n, IOMT_WIRE_HDR_LEN + IOMT_WIRE_REC_ACK_LEN);
	ASSERT_EQ(iomt_wire_parse(b, (size_t)n, &type, &pl, &plen), 0);
	EXPECT_EQ(type, IOMT_MSG_REC_ACK);
	EXPECT_EQ(pl[0], 7);
	EXPECT_EQ(rt_ble_send_frame(fd, IOMT_MSG_REC_PUT, b, IOMT_WIRE_MAX_PAYLOAD + 1), -EMSGSIZE);
	/* the filter is on the adopted socket */
	n = (int)frame(b, IOMT_MSG_REC_PUT, 200);
	ASSERT_EQ(send(self->peer[0], b, (size_t)n, 0), n);
	ASSERT_EQ(send(self->peer[0], b, 3, 0), 3);
	EXPECT_EQ(rt_ble_recv(fd, b, sizeof(b)), n);
	EXPECT_EQ(rt_ble_recv(fd, b, sizeof(b)), -EAGAIN);
	/* an SDU above the buffer is reported, not cut silently */
	n = (int)frame(b, IOMT_MSG_REC_PUT, 200);
	ASSERT_EQ(send(self->peer[0], b, (size_t)n, 0), n);
	EXPECT_EQ(rt_ble_recv(fd, b, 100), -EMSGSIZE);
	close(self->peer[0]);
	self->peer[0] = -1;
	EXPECT_EQ(rt_ble_recv(fd, b, sizeof(b)), -ECONNRESET);
}
