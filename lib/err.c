/* SPDX-License-Identifier: MIT */
#include "iomt_err.h"

const char *iomt_strerror(int err)
{
	switch (err) {
	case IOMT_OK: return "success";
	case IOMT_EINVAL: return "invalid argument";
	case IOMT_ESIZE: return "wrong size";
	case IOMT_EAUTH: return "authentication failed";
	case IOMT_ESHARES: return "share set wrong or insufficient";
	case IOMT_EUNSUPP: return "not supported here";
	case IOMT_EMALFORMED: return "malformed input";
	case IOMT_ESTATE: return "not allowed in this state";
	case IOMT_EPARTIAL: return "incomplete frame";
	}
	return "unknown error";
}
