/* SPDX-License-Identifier: MIT */
/* Error codes shared by every component. Every lib/ function that can fail
 * returns one of these (0 on success, negative on error); nothing aborts. */
#ifndef IOMT_ERR_H
#define IOMT_ERR_H

enum iomt_err {
	IOMT_OK = 0,
	IOMT_EINVAL = -1,    /* argument out of its documented range */
	IOMT_ESIZE = -2,     /* input too short/long or output buffer too small */
	IOMT_EAUTH = -3,     /* tag, MAC or check value did not verify */
	IOMT_ESHARES = -4,   /* secret-share set is wrong, corrupted or too small */
	IOMT_EUNSUPP = -5,   /* feature not available on this CPU/build */
	IOMT_EMALFORMED = -6,/* well-sized input whose fields are invalid */
	IOMT_ESTATE = -7,    /* call not allowed in the object's current state */
	IOMT_EPARTIAL = -8,  /* a stream holds only part of a frame: read more */
};

/* Short English description; never NULL. */
const char *iomt_strerror(int err);

#endif
