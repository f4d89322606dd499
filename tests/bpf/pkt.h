/* SPDX-License-Identifier: MIT */
/* Crafted Ethernet/IPv4/IPv6/UDP frames around our wire frames, for the
 * filter's suites and its benchmark. Static functions, one includer each. */
#ifndef IOMT_TESTS_BPF_PKT_H
#define IOMT_TESTS_BPF_PKT_H
#include <stdint.h>
#include <string.h>
#include "wire.h"

enum { PKT_MAX = 1600, PKT_ETH = 14, PKT_IP4 = 20, PKT_IP6 = 40, PKT_UDP = 8 };

struct pkt_src {
	int v6;
	uint8_t addr[16];   /* IPv4 in addr[0..4) */
	uint16_t port;
};

static inline void pkt_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The frame around payload p[0..n) from src to dport: its length. */
static inline size_t pkt_build(uint8_t *b, const struct pkt_src *s, uint16_t dport,
			       const uint8_t *p, size_t n)
{
	static const uint8_t dst4[4] = { 198, 18, 0, 1 };
	static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t *ip = b + PKT_ETH, *udp;
	size_t iph = s->v6 ? PKT_IP6 : PKT_IP4;

	memset(b, 0, PKT_ETH + iph + PKT_UDP);
	memset(b, 0x02, 6);
	memset(b + 6, 0x04, 6);
	pkt_be16(b + 12, s->v6 ? 0x86dd : 0x0800);
	if (s->v6) {
		ip[0] = 0x60;
		pkt_be16(ip + 4, (uint32_t)(PKT_UDP + n));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, s->addr, 16);
		memcpy(ip + 24, dst6, 16);
	} else {
		uint32_t sum = 0;

		ip[0] = 0x45;
		pkt_be16(ip + 2, (uint32_t)(PKT_IP4 + PKT_UDP + n));
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, s->addr, 4);
		memcpy(ip + 16, dst4, 4);
		for (int i = 0; i < PKT_IP4; i += 2)
			sum += (uint32_t)ip[i] << 8 | ip[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		pkt_be16(ip + 10, ~sum & 0xffff);
	}
	udp = ip + iph;
	pkt_be16(udp, s->port);
	pkt_be16(udp + 2, dport);
	pkt_be16(udp + 4, (uint32_t)(PKT_UDP + n));
	memcpy(udp + PKT_UDP, p, n);
	return PKT_ETH + iph + PKT_UDP + n;
}

/* A wire frame of type with plen payload bytes of fill: its length. */
static inline size_t pkt_frame(uint8_t *out, uint8_t type, size_t plen, uint8_t fill)
{
	out[0] = IOMT_WIRE_VERSION;
	out[1] = type;
	pkt_be16(out + 2, (uint32_t)plen);
	memset(out + IOMT_WIRE_HDR_LEN, fill, plen);
	return IOMT_WIRE_HDR_LEN + plen;
}

#endif
