/* SPDX-License-Identifier: MIT */
/* FIXTURE(batch): runs each TEST_F(batch, ...) once per Keccak batch width
 * (1 = scalar, 4 = AVX2, 8 = AVX-512), skipping widths this CPU lacks. The
 * width is forced for the whole test, so batch APIs take that path. */
#ifndef IOMT_WIDTH_FIXTURE_H
#define IOMT_WIDTH_FIXTURE_H
#include "harness.h"
#include "keccak.h"
#include "iomt_err.h"

FIXTURE(batch) {
	unsigned width;
};
FIXTURE_VARIANT(batch) {
	unsigned width;
};
FIXTURE_VARIANT_ADD(batch, scalar) { .width = 1 };
FIXTURE_VARIANT_ADD(batch, x4) { .width = 4 };
FIXTURE_VARIANT_ADD(batch, x8) { .width = 8 };
FIXTURE_SETUP(batch)
{
	int err = iomt_keccak_set_width(variant->width);

	if (err == IOMT_EUNSUPP)
		SKIP(return, "this CPU has no %u-lane Keccak", variant->width);
	ASSERT_EQ(err, IOMT_OK);
	self->width = variant->width;
}
FIXTURE_TEARDOWN(batch)
{
}

#endif
