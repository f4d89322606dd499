/* SPDX-License-Identifier: MIT */
/*
 * The Cortex-M3 test image: lib/'s known-answer tests and the device side of
 * one seed-002 agreement against the recorded vector, run on the M3 ISA
 * under qemu-system-arm (tests/m3/test_m3.sh). TAP on semihosting stdout;
 * the exit status is 0 only if every test passed.
 *
 * Three pairs of m3_mark_begin() / m3_mark_end() bracket, in this order,
 * nothing (the markers' own cost), one Keccak-f[1600] permutation and the
 * device side of the agreement, so that tests/bench/bench_fw.sh can count
 * their instructions in a trace; the stack is painted before the
 * agreement and its high-water mark printed as a comment line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "m3.h"
#include "aes.h"
#include "ccm.h"
#include "ct.h"
#include "iomt_err.h"
#include "keccak.h"
#include "seed002.h"
#include "shake.h"
#include "sp800_185.h"
#include "seed002_vec0.h"

enum { STACK_PAINT = 0x5eed5eedu, STACK_SLACK_BYTES = 256 };

static unsigned tap_n, tap_failed;

static void put_uint(unsigned v)
{
	char b[12], *p = b + sizeof(b) - 1;

	*p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	m3_puts(p);
}

static void tap(int ok, const char *name)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	m3_puts(ok ? "ok " : "not ok ");
	put_uint(tap_n);
	m3_puts(" ");
	m3_puts(name);
	m3_puts("\n");
}

/* Decodes 2 * n hex digits (either case); spaces are skipped. */
static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; s++) {
		unsigned c = (unsigned char)*s, v;

		if (c == ' ')
			continue;
		v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		out[i / 2] = (uint8_t)(i & 1 ? out[i / 2] | v : v << 4);
		i++;
	}
}

static int matches(const void *got, const char *want_hex, size_t n)
{
	uint8_t want[64];

	unhex(want_hex, want, n);
	return memcmp(got, want, n) == 0;
}

/* FIPS 202 example values: SHAKE128 of the empty message and of 1600 bits of 0xa3. */
static void kat_shake128(void)
{
	uint8_t msg[200], out[32];

	iomt_shake128("", 0, out, sizeof(out));
	tap(matches(out, "7F9C2BA4E88F827D616045507605853ED73B8093F6EFBC88EB1A6EACFA66EF26", 32),
	    "shake128_fips202_empty");
	memset(msg, 0xa3, sizeof(msg));
	iomt_shake128(msg, sizeof(msg), out, sizeof(out));
	tap(matches(out, "131AB8D2B594946B9C81333F9BB6E0CE75C3B93104FA3469D3917457385DA037", 32),
	    "shake128_fips202_1600_bits_of_a3");
}

/* SP 800-185 KMAC samples #1 and #2 (KMAC128, L = 256). */
static void kat_kmac128(void)
{
	static const char tagged[] = "My Tagged Application";
	uint8_t key[32], data[4] = { 0, 1, 2, 3 }, out[32];
	int rc;

	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x40 + i);
	rc = iomt_kmac128(key, 32, "", 0, data, 4, out, 32);
	tap(rc == IOMT_OK &&
	    matches(out, "E5780B0D3EA6F7D3A429C5706AA43A00FADBD7D49628839E3187243F456EE14E", 32),
	    "kmac128_sp800_185_sample1");
	rc = iomt_kmac128(key, 32, tagged, sizeof(tagged) - 1, data, 4, out, 32);
	tap(rc == IOMT_OK &&
	    matches(out, "3B1FBA963CD8B0B59E8C1A6D71888B7143651AF8BA0A7070C0979E2811324AA5", 32),
	    "kmac128_sp800_185_sample2");
}

/* FIPS 197 Appendix C.1. */
static void kat_aes128(void)
{
	struct iomt_aes128 k;
	uint8_t key[16], pt[16], ct[16];

	unhex("000102030405060708090a0b0c0d0e0f", key, 16);
	unhex("00112233445566778899aabbccddeeff", pt, 16);
	tap(iomt_aes128_init(&k, key) == IOMT_OK, "aes128_init");
	iomt_aes128_encrypt(&k, pt, ct);
	tap(matches(ct, "69c4e0d86a7b0430d8cdb78070b4c55a", 16), "aes128_fips197_c1");
	iomt_aes128_wipe(&k);
}

/* RFC 3610 packet vector #1: encrypt, decrypt, and a flipped tag refused. */
static void kat_ccm(void)
{
	struct iomt_aes128 k;
	uint8_t key[16], nonce[13], aad[8], pt[23], ct[23], tag[8], out[23];
	int rc;

	unhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", key, 16);
	unhex("00000003020100A0A1A2A3A4A5", nonce, 13);
	unhex("0001020304050607", aad, 8);
	unhex("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E", pt, 23);
	iomt_aes128_init(&k, key);
	rc = iomt_ccm_encrypt(&k, nonce, 13, aad, 8, pt, 23, ct, tag, 8);
	tap(rc == IOMT_OK && matches(ct, "588C979A61C663D2F066D0C2C0F989806D5F6B61DAC384", 23) &&
	    matches(tag, "17E8D12CFDF926E0", 8), "ccm_rfc3610_packet1_encrypt");
	rc = iomt_ccm_decrypt(&k, nonce, 13, aad, 8, ct, 23, tag, 8, out);
	tap(rc == IOMT_OK && memcmp(out, pt, 23) == 0, "ccm_rfc3610_packet1_decrypt");
	tag[0] ^= 1;
	rc = iomt_ccm_decrypt(&k, nonce, 13, aad, 8, ct, 23, tag, 8, out);
	tap(rc == IOMT_EAUTH, "ccm_rfc3610_packet1_bad_tag_refused");
	iomt_aes128_wipe(&k);
}

/* Words of the painted region [_ebss, sp - slack) still holding the paint,
 * counted from the bottom: the rest of SRAM above is stack that was used. */
static uint32_t *paint_stack(void)
{
	uint32_t *p = &_ebss, *top = (uint32_t *)__builtin_frame_address(0) - STACK_SLACK_BYTES / 4;

	while (p < top)
		*p++ = STACK_PAINT;
	return top;
}

static unsigned stack_used(const uint32_t *top)
{
	const uint32_t *p = &_ebss;

	while (p < top && *p == STACK_PAINT)
		p++;
	return (unsigned)((const uint8_t *)&_estack - (const uint8_t *)p);
}

/* One device side of vector 0: M1 from (DID, DK, R1), then the recorded M4
 * gives SK and the rotated identity. */
static void seed002_device(void)
{
	struct iomt_s2_device dev;
	uint8_t m1[IOMT_S2_M1_LEN], sk[IOMT_S2_KEY_LEN], did[IOMT_S2_ID_LEN], dk[IOMT_S2_KEY_LEN];
	int rc_init, rc_start, rc_finish;
	uint32_t *top = paint_stack();
	unsigned used;

	m3_mark_begin();
	rc_init = iomt_s2_device_init(&dev, v0_did_i, v0_dk_i);
	rc_start = iomt_s2_device_start(&dev, v0_r1, m1);
	rc_finish = iomt_s2_device_finish(&dev, v0_m4, sizeof(v0_m4), sk);
	m3_mark_end();
	used = stack_used(top);
	tap(rc_init == IOMT_OK && rc_start == IOMT_OK && memcmp(m1, v0_m1, sizeof(m1)) == 0,
	    "seed002_vector0_device_m1");
	tap(rc_finish == IOMT_OK && memcmp(sk, v0_sk, sizeof(sk)) == 0, "seed002_vector0_device_sk");
	tap(iomt_s2_device_identity(&dev, did, dk) == IOMT_OK &&
	    memcmp(did, v0_next_did_i, sizeof(did)) == 0 && memcmp(dk, v0_next_dk_i, sizeof(dk)) == 0,
	    "seed002_vector0_device_rotated_identity");
	m3_puts("# stack high-water mark, agreement (SRAM top down): ");
	put_uint(used);
	m3_puts(" bytes\n");
	iomt_s2_device_wipe(&dev);
	iomt_wipe(sk, sizeof(sk));
}

/* One permutation between the markers; its first lanes against the
 * known Keccak-f[1600] of the all-zero state (keccak team's KeccakF-1600
 * intermediate values). */
static void keccak_one(void)
{
	static uint64_t st[IOMT_KECCAK_WORDS];

	m3_mark_begin();
	iomt_keccak_f1600(st);
	m3_mark_end();
	tap(st[0] == 0xF1258F7940E1DDE7ull && st[1] == 0x84D5CCF933C0478Aull,
	    "keccak_f1600_zero_state");
}

int main(void)
{
	m3_puts("TAP version 13\n# lib/ on Cortex-M3 (arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os)\n");
	/* An empty pair of markers first: the cost of the markers themselves,
	 * which bench_fw.sh subtracts from the two measured pairs below. */
	m3_mark_begin();
	m3_mark_end();
	kat_shake128();
	kat_kmac128();
	kat_aes128();
	kat_ccm();
	keccak_one();
	seed002_device();
	m3_puts("1..");
	put_uint(tap_n);
	m3_puts("\n");
	put_uint(tap_n - tap_failed);
	m3_puts(" passed, ");
	put_uint(tap_failed);
	m3_puts(" failed\n");
	return tap_failed ? 1 : 0;
}
