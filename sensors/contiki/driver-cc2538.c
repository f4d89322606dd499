/* SPDX-License-Identifier: MIT */
/*
 * sensors/core driver hooks for TARGET=zoul (CC2538):
 *  - RNG: Contiki-NG's CSPRNG (os/lib/csprng.c), seeded at boot from SRAM
 *    noise by cc2538-sram-seeder (soc.c); it fails until seeded.
 *  - storage: the two slots are the first two 2 KB flash pages of the
 *    region the CC2538 linker script keeps for Coffee (COFFEE_START,
 *    COFFEE_SIZE = 4 pages by default, below the firmware); we do not use
 *    Coffee itself. A write erases the slot's page and programs it through
 *    the ROM functions, then reads it back: a torn write loses only the slot
 *    being written, and sensors/core falls back to the other.
 *  - clock: clock_time() (CLOCK_SECOND ticks since boot) in ms.
 * And lib/ccm.c's engine (struct iomt_ccm_driver, IOMT_CONF_CCM_DRIVER set by
 * the Makefile): the CC2538's AES-CCM through Contiki-NG's dev/ccm.c, with
 * the key in a key-store area of its own. Built, never run: no board here.
 */
#include <string.h>
#include "contiki.h"
#include "cfs-coffee-arch.h"
#include "dev/flash.h"
#include "dev/rom-util.h"
#include "cpu.h"
#include "dev/cc2538-dev.h"
#include "dev/ccm.h"
#include "dev/crypto.h"
#include "lib/csprng.h"
#include "sc.h"
#include "iomt_err.h"
/* By path: Contiki-NG's dev/ is on the include path before lib/ (Makefile). */
#include "../../lib/ccm.h"

#define SLOT_ADDR(s)  (COFFEE_START + (s) * FLASH_PAGE_SIZE)
#define SLOT_BYTES    ((SC_STATE_LEN + 3) & ~3u)   /* programmed in words */

_Static_assert(COFFEE_SIZE >= 2 * FLASH_PAGE_SIZE, "two flash pages for the slots");

static int rng(void *ctx, uint8_t *out, size_t n)
{
	(void)ctx;
	return csprng_rand(out, n) ? 0 : -1;
}

static int store_read(void *ctx, unsigned slot, uint8_t *buf, size_t len)
{
	(void)ctx;
	if (slot > 1 || len > SLOT_BYTES)
		return -1;
	memcpy(buf, (const void *)SLOT_ADDR(slot), len);   /* flash is mapped */
	return 0;
}

static int store_write(void *ctx, unsigned slot, const uint8_t *buf, size_t len)
{
	static uint32_t w[SLOT_BYTES / 4];
	int r;

	(void)ctx;
	if (slot > 1 || len > SLOT_BYTES)
		return -1;
	memset(w, 0xff, sizeof(w));
	memcpy(w, buf, len);
	INTERRUPTS_DISABLE();   /* as cfs-coffee-arch.c does around the ROM calls */
	r = rom_util_page_erase(SLOT_ADDR(slot), FLASH_PAGE_SIZE);
	if (!r)
		r = rom_util_program_flash(w, SLOT_ADDR(slot), sizeof(w));
	INTERRUPTS_ENABLE();
	if (!r && memcmp((const void *)SLOT_ADDR(slot), buf, len))
		r = -1;
	memset(w, 0, sizeof(w));
	return r ? -1 : 0;
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return (uint64_t)clock_time() * 1000 / CLOCK_SECOND;
}

const struct sc_driver sc_driver_cc2538 = { rng, store_read, store_write, now_ms };

/* ---- AES-CCM on the crypto engine ---- */

/* Contiki-NG's CCM* (LLSEC) and AES-128 drivers use area 0
 * (CC2538_AES_128_KEY_AREA); ours is the last one. */
#ifdef IOMT_CC2538_CCM_CONF_KEY_AREA
#define CCM_KEY_AREA IOMT_CC2538_CCM_CONF_KEY_AREA
#else
#define CCM_KEY_AREA (AES_KEY_AREAS - 1)
#endif

/* The engine's DMA reads and writes SRAM only (dev/ccm.h). */
static int in_sram(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	return !n || (a >= CC2538_DEV_SRAM_ADDR && n <= CC2538_DEV_SRAM_SIZE &&
		      a - CC2538_DEV_SRAM_ADDR <= CC2538_DEV_SRAM_SIZE - n);
}

/* What the engine does not take goes to the portable code (IOMT_EUNSUPP):
 * L other than 2, 4, 8 (dev/ccm.h); lengths that do not fit its 16-bit
 * arguments (payload plus tag when decrypting) or AAD long enough for the
 * 6-byte length encoding; no AAD and no payload (the engine hangs, see
 * cc2538-ccm-star.c); buffers outside SRAM (a const AAD in flash). */
static int hw_takes(size_t nonce_len, const void *aad, size_t aad_len, const void *in,
		    const void *out, size_t len, size_t tag_len)
{
	size_t l = 15 - nonce_len;

	return (l == 2 || l == 4 || l == 8) && aad_len < 0xff00 && len + tag_len <= 0xffff &&
	       (aad_len || len) && in_sram(aad, aad_len) && in_sram(in, len) &&
	       in_sram(out, len);
}

/* One synchronous operation (no process to poll: the engine is polled). The
 * key is loaded for this call and overwritten with zeros after it. Errors
 * before the payload's DMA is set up leave the output untouched, so they are
 * IOMT_EUNSUPP (the engine busy with the radio's CCM*, a key-store error):
 * the portable code does the work. After it, IOMT_ESTATE. */
static int hw_ccm(int enc, const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		  const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		  uint8_t *out, uint8_t *tag, size_t tag_len)
{
	static const uint8_t zero_key[16];
	bool was_enabled = CRYPTO_IS_ENABLED();
	uint8_t len_len = (uint8_t)(15 - nonce_len), r;
	int ret = IOMT_EUNSUPP;

	if (!hw_takes(nonce_len, aad, aad_len, in, out, len, tag_len))
		return IOMT_EUNSUPP;
	if (!was_enabled)
		crypto_enable();
	if (aes_load_keys(key, AES_KEY_STORE_SIZE_KEY_SIZE_128, 1, CCM_KEY_AREA) != CRYPTO_SUCCESS)
		goto out;
	/* Decryption counts the tag in cdata_len; dev/ccm.c takes it off again. */
	if (enc)
		r = ccm_auth_encrypt_start(len_len, CCM_KEY_AREA, nonce, aad, (uint16_t)aad_len,
					   in, (uint16_t)len, out, (uint8_t)tag_len, NULL);
	else
		r = ccm_auth_decrypt_start(len_len, CCM_KEY_AREA, nonce, aad, (uint16_t)aad_len,
					   in, (uint16_t)(len + tag_len), out, (uint8_t)tag_len,
					   NULL);
	if (r != CRYPTO_SUCCESS)
		goto wipe;
	while (!ccm_auth_encrypt_check_status())
		;
	/* With cdata NULL, decryption's result is the computed tag only: ccm.c
	 * compares it in constant time (dev/ccm.c's own check does not). */
	r = enc ? ccm_auth_encrypt_get_result(tag, (uint8_t)tag_len) :
		  ccm_auth_decrypt_get_result(NULL, 0, tag, (uint8_t)tag_len);
	ret = r == CRYPTO_SUCCESS ? IOMT_OK : IOMT_ESTATE;
wipe:
	aes_load_keys(zero_key, AES_KEY_STORE_SIZE_KEY_SIZE_128, 1, CCM_KEY_AREA);
out:
	if (!was_enabled)
		crypto_disable();
	return ret;
}

static int ccm_encrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t len,
		       uint8_t *ct, uint8_t *tag, size_t tag_len)
{
	return hw_ccm(1, key, nonce, nonce_len, aad, aad_len, pt, len, ct, tag, tag_len);
}

static int ccm_decrypt(const uint8_t key[16], const uint8_t *nonce, size_t nonce_len,
		       const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
		       uint8_t *pt, uint8_t *mac, size_t tag_len)
{
	return hw_ccm(0, key, nonce, nonce_len, aad, aad_len, ct, len, pt, mac, tag_len);
}

const struct iomt_ccm_driver iomt_ccm_cc2538 = { ccm_encrypt, ccm_decrypt };
