/* SPDX-License-Identifier: MIT */
/* The BLE channels' socket filter: an eBPF program assembled here from
 * lib/wire.c's size table, its verdicts counted in a map (rt_ble.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "rt_ble.h"
#include "wire.h"

const char *const rt_ble_verdict_name[RT_BLE_NVERDICTS] = {
	[RT_BLE_PASS] = "pass",
	[RT_BLE_DROP_SHORT] = "short",
	[RT_BLE_DROP_VERSION] = "version",
	[RT_BLE_DROP_LENGTH] = "length",
	[RT_BLE_DROP_TYPE] = "type",
	[RT_BLE_DROP_SIZE] = "size",
};

/* The sizes map's value for a type lib/ does not know. */
#define SIZE_UNKNOWN 0xffffffffu

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int map_create(uint32_t value_size, uint32_t entries)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = value_size;
	a.max_entries = entries;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, uint32_t key, const void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) ? -errno : 0;
}

static int map_lookup(int fd, uint32_t key, void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) ? -errno : 0;
}

/* ---- a small assembler ---- */

struct prog {
	struct bpf_insn i[64];
	unsigned n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	p->i[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src,
					  .off = off, .imm = imm };
}

#define MOV_IMM(d, v)	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define MOV_REG(d, s)	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, v)	emit(p, BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define LD_ABS(sz, o)	emit(p, BPF_LD | BPF_ABS | (sz), 0, 0, 0, o)
#define LDX(sz, d, s, o) emit(p, BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o) emit(p, BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define CALL(f)		emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Jumps to a label resolved by fix(). */
#define JMP_IMM(op, d, v) (emit(p, BPF_JMP | (op) | BPF_K, d, 0, 0, v), p->n - 1)
#define JMP_REG(op, d, s) (emit(p, BPF_JMP | (op) | BPF_X, d, s, 0, 0), p->n - 1)

static void ld_map(struct prog *p, uint8_t d, int fd)
{
	emit(p, BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(p, 0, 0, 0, 0, 0);
}

/* Points the jumps at[0..n) at the next instruction. */
static void fix(struct prog *p, const unsigned *at, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p->i[at[k]].off = (int16_t)(p->n - at[k] - 1);
}

/*
 * r6 = skb, r7 = SDU length, r8 = payload length (r7 - 4), r9 = verdict.
 * Every check sets r9 to its drop verdict before the test, so each failing
 * test jumps to one place: count r9, return 0 (drop) or the length (keep).
 */
static void assemble(struct prog *p, int sizes_fd, int counts_fd)
{
	unsigned to_count[8], nc = 0, j;

	MOV_REG(BPF_REG_6, BPF_REG_1);
	LDX(BPF_W, BPF_REG_7, BPF_REG_6, (int16_t)offsetof(struct __sk_buff, len));
	MOV_IMM(BPF_REG_9, RT_BLE_DROP_SHORT);
	to_count[nc++] = JMP_IMM(BPF_JLT, BPF_REG_7, IOMT_WIRE_HDR_LEN);
	LD_ABS(BPF_B, 0);
	MOV_IMM(BPF_REG_9, RT_BLE_DROP_VERSION);
	to_count[nc++] = JMP_IMM(BPF_JNE, BPF_REG_0, IOMT_WIRE_VERSION);
	LD_ABS(BPF_H, 2);	/* big-endian on the wire, host order in r0 */
	MOV_REG(BPF_REG_8, BPF_REG_7);
	ADD_IMM(BPF_REG_8, -IOMT_WIRE_HDR_LEN);
	MOV_IMM(BPF_REG_9, RT_BLE_DROP_LENGTH);
	to_count[nc++] = JMP_REG(BPF_JNE, BPF_REG_0, BPF_REG_8);
	LD_ABS(BPF_B, 1);
	STX(BPF_W, BPF_REG_10, BPF_REG_0, -4);
	ld_map(p, BPF_REG_1, sizes_fd);
	MOV_REG(BPF_REG_2, BPF_REG_10);
	ADD_IMM(BPF_REG_2, -4);
	CALL(BPF_FUNC_map_lookup_elem);
	MOV_IMM(BPF_REG_9, RT_BLE_DROP_TYPE);
	to_count[nc++] = JMP_IMM(BPF_JEQ, BPF_REG_0, 0);
	LDX(BPF_W, BPF_REG_1, BPF_REG_0, 0);
	emit(p, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, -1);	/* 0xffffffff */
	to_count[nc++] = JMP_REG(BPF_JEQ, BPF_REG_1, BPF_REG_2);
	MOV_IMM(BPF_REG_9, RT_BLE_PASS);
	to_count[nc++] = JMP_IMM(BPF_JEQ, BPF_REG_1, 0);	/* variable size */
	MOV_IMM(BPF_REG_9, RT_BLE_DROP_SIZE);
	to_count[nc++] = JMP_REG(BPF_JNE, BPF_REG_1, BPF_REG_8);
	MOV_IMM(BPF_REG_9, RT_BLE_PASS);
	fix(p, to_count, nc);
	/* count: counts[r9] += 1 */
	STX(BPF_W, BPF_REG_10, BPF_REG_9, -8);
	ld_map(p, BPF_REG_1, counts_fd);
	MOV_REG(BPF_REG_2, BPF_REG_10);
	ADD_IMM(BPF_REG_2, -8);
	CALL(BPF_FUNC_map_lookup_elem);
	j = JMP_IMM(BPF_JEQ, BPF_REG_0, 0);
	MOV_IMM(BPF_REG_1, 1);
	emit(p, BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD);
	fix(p, &j, 1);
	MOV_IMM(BPF_REG_0, 0);
	j = JMP_IMM(BPF_JNE, BPF_REG_9, RT_BLE_PASS);
	MOV_REG(BPF_REG_0, BPF_REG_7);
	fix(p, &j, 1);
	EXIT();
}

static int fail(struct rt_ble_filter *f, int e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "BLE socket filter: %s: %s%s", what, strerror(e),
		 e == EPERM ? " (loading it needs CAP_BPF or root)" : "");
	rt_ble_filter_close(f);
	return -e;
}

int rt_ble_filter_open(struct rt_ble_filter *f, char *err, size_t errlen)
{
	static char log[4096];
	struct prog p = { .n = 0 };
	union bpf_attr a;
	int r;

	f->prog_fd = f->sizes_fd = f->counts_fd = -1;
	f->sizes_fd = map_create(4, 256);
	if (f->sizes_fd < 0)
		return fail(f, errno, "map", err, errlen);
	f->counts_fd = map_create(8, RT_BLE_NVERDICTS);
	if (f->counts_fd < 0)
		return fail(f, errno, "map", err, errlen);
	/* lib/'s table, not a copy of it. */
	for (uint32_t t = 0; t < 256; t++) {
		size_t n = iomt_wire_fixed_len((uint8_t)t);
		uint32_t v = n == (size_t)-1 ? SIZE_UNKNOWN : (uint32_t)n;

		if ((r = map_update(f->sizes_fd, t, &v)))
			return fail(f, -r, "size table", err, errlen);
	}
	assemble(&p, f->sizes_fd, f->counts_fd);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)p.i;
	a.insn_cnt = p.n;
	a.license = (uint64_t)(uintptr_t)"Dual MIT/GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	f->prog_fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (f->prog_fd < 0) {
		int e = errno;

		if (log[0])
			fprintf(stderr, "BLE socket filter: verifier log:\n%s\n", log);
		return fail(f, e, "load", err, errlen);
	}
	return 0;
}

void rt_ble_filter_close(struct rt_ble_filter *f)
{
	if (f->prog_fd >= 0)
		close(f->prog_fd);
	if (f->sizes_fd >= 0)
		close(f->sizes_fd);
	if (f->counts_fd >= 0)
		close(f->counts_fd);
	f->prog_fd = f->sizes_fd = f->counts_fd = -1;
}

int rt_ble_filter_attach(const struct rt_ble_filter *f, int fd)
{
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &f->prog_fd, sizeof(f->prog_fd)) ? -errno
											    : 0;
}

int rt_ble_filter_counts(const struct rt_ble_filter *f, uint64_t out[RT_BLE_NVERDICTS])
{
	for (uint32_t v = 0; v < RT_BLE_NVERDICTS; v++) {
		int r = map_lookup(f->counts_fd, v, &out[v]);

		if (r)
			return r;
	}
	return 0;
}

enum rt_ble_verdict rt_ble_judge(const uint8_t *sdu, size_t len)
{
	size_t fl;

	if (len < IOMT_WIRE_HDR_LEN)
		return RT_BLE_DROP_SHORT;
	if (sdu[0] != IOMT_WIRE_VERSION)
		return RT_BLE_DROP_VERSION;
	if (((size_t)sdu[2] << 8 | sdu[3]) != len - IOMT_WIRE_HDR_LEN)
		return RT_BLE_DROP_LENGTH;
	fl = iomt_wire_fixed_len(sdu[1]);
	if (fl == (size_t)-1)
		return RT_BLE_DROP_TYPE;
	if (fl && fl != len - IOMT_WIRE_HDR_LEN)
		return RT_BLE_DROP_SIZE;
	return RT_BLE_PASS;
}
