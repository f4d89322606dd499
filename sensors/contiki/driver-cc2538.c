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
 */
#include <string.h>
#include "contiki.h"
#include "cfs-coffee-arch.h"
#include "dev/flash.h"
#include "dev/rom-util.h"
#include "cpu.h"
#include "lib/csprng.h"
#include "sc.h"

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
