// SPDX-License-Identifier: MIT
/* Codes the TTP and the MEC send users, phases 2, 5 and 6. */
#include <stdint.h>

#include "user.h"
#include "wire.h"

const char *p56_code_text(uint8_t code)
{
	switch (code) {
	case IOMT_S2_ERR_MALFORMED: return "MALFORMED (the request could not be parsed)";
	case IOMT_S2_ERR_BUSY: return "BUSY (overloaded, shutting down or TTP unreachable: "
				      "retry later)";
	case IOMT_S2_ERR_INTERNAL: return "INTERNAL (could not complete: retry later)";
	case IOMT_S2_ERR_DENIED:
		return "DENIED (signature or certificate not accepted, or a stale request)";
	case IOMT_S2_ERR_NOT_ENTITLED:
		return "NOT_ENTITLED (the analysis policy does not give this user access)";
	case IOMT_S2_ERR_REVOKED:
		return "REVOKED (the certificate is revoked or not the one on record)";
	case IOMT_S2_ERR_REPLAY: return "REPLAY (this request was seen before)";
	case IOMT_S2_ERR_NO_ANALYSIS: return "NO_ANALYSIS (no analysis has this id)";
	}
	return "unknown code";
}
