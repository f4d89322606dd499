/* SPDX-License-Identifier: MIT */
/*
 * Plain types shared by the XDP ingress filter (bpf/iomt_xdp.bpf.c) and its
 * loader (userspace/lib/rt_xdp.c): verdicts, the config and the map values.
 * BPF includes vmlinux.h first, userspace <linux/types.h>. docs/PROTOCOL.md
 * § "Cookies and the ingress filter".
 */
#ifndef IOMT_XDP_H
#define IOMT_XDP_H

/* Every packet gets exactly one verdict, counted per CPU. */
enum iomt_xf_verdict {
	IOMT_XF_PASS = 0,            /* a well-formed frame of ours: to the daemon */
	IOMT_XF_PASS_NOT_OURS,       /* not UDP to a service port: the stack decides */
	IOMT_XF_DROP_MALFORMED,      /* bad IP/UDP/frame header, unknown type */
	IOMT_XF_DROP_SIZE,           /* a type with the wrong payload size */
	IOMT_XF_DROP_RATE,           /* the source's request bucket is empty */
	IOMT_XF_DROP_NO_SESSION,     /* S2_DATA for a handle the daemon does not hold */
	IOMT_XF_DROP_REPLAY,         /* S2_DATA counter already seen or too old */
	IOMT_XF_DROP_NO_COOKIE,      /* under load, a request without a cookie */
	IOMT_XF_DROP_BAD_COOKIE,     /* COOKIE_WRAP with a cookie of neither epoch */
	IOMT_XF_NVERDICTS
};

enum {
	IOMT_XF_MAX_PORTS = 4,
	IOMT_XF_COOKIE_LEN = 16,
	IOMT_XF_KECCAK_WORDS = 25,
	IOMT_XF_SCRATCH_WORDS = 30,    /* Keccak state || message lanes || cookie */
	IOMT_XF_MAX_SOURCES = 65536,   /* LRU entries of the per-source buckets */
	IOMT_XF_MAX_SESSIONS = 65536,
};

/* The one config entry (map "conf", written by the daemon at any time). */
struct iomt_xf_conf {
	__u16 ports[IOMT_XF_MAX_PORTS]; /* UDP service ports, host order; 0 = unused */
	__u64 under_load;               /* 1: requests need a cookie */
	__u64 rate_pps;                 /* per-source requests per second (0: no limit) */
	__u64 burst;                    /* per-source bucket depth */
	__u64 cookie_rate_pps;          /* under load: plain requests/s (all sources) passed
	                                 * for a COOKIE_REPLY; 0: none */
	__u64 cookie_burst;
	__u64 now_ns;                   /* nonzero: the clock, instead of bpf_ktime_get_ns (tests) */
};

/* Cookie keys (map "keys"): the KMAC128 state after absorbing the key
 * (lib/cookie.h iomt_cookie_prestate), for the current and previous epoch. */
struct iomt_xf_keys {
	__u64 cur[IOMT_XF_KECCAK_WORDS];
	__u64 prev[IOMT_XF_KECCAK_WORDS];
	__u64 have_cur, have_prev;
};

/* A request bucket: credit in nanoseconds (one request costs 1e9 / rate). */
struct iomt_xf_bucket {
	__u64 credit_ns;
	__u64 last_ns;
};

/* The per-source key: IPv4 as ::ffff:a.b.c.d, IPv6 its /64 (an IPv6 host
 * owns a /64, as in WireGuard's rate limiter). */
struct iomt_xf_src {
	__u8 addr[16];
};

/* A session's replay window as the daemon last committed it: lib/s2_data.h
 * struct iomt_s2_replay, field for field (map "sessions", key: the 8 handle
 * bytes as they are on the wire, read as a little-endian __u64). */
struct iomt_xf_win {
	__u64 top;      /* highest accepted counter, 0 = none yet */
	__u64 bits;     /* bit i: counter top - i accepted */
};

#endif
