/* SPDX-License-Identifier: MIT */
/* The "core only" link of the Cortex-M3 image: the startup and just what a
 * device needs for seed 002 (init, start, finish), so that
 * arm-none-eabi-size of it gives the device-side flash and static RAM
 * without the test harness. Linked, never run. Inputs come through volatile
 * pointers so nothing is folded away. */
#include <stdint.h>
#include "m3.h"
#include "seed002.h"

static struct iomt_s2_device dev;
static uint8_t did[IOMT_S2_ID_LEN], dk[IOMT_S2_KEY_LEN], r1[IOMT_S2_RAND_LEN];
static uint8_t m1[IOMT_S2_M1_LEN], m4[IOMT_S2_M4_LEN], sk[IOMT_S2_KEY_LEN];
uint8_t *volatile m3_core_io[6] = { did, dk, r1, m1, m4, sk };

int main(void)
{
	if (iomt_s2_device_init(&dev, m3_core_io[0], m3_core_io[1]) ||
	    iomt_s2_device_start(&dev, m3_core_io[2], m3_core_io[3]))
		return 1;
	return iomt_s2_device_finish(&dev, m3_core_io[4], IOMT_S2_M4_LEN, m3_core_io[5]) ? 1 : 0;
}
