/* SPDX-License-Identifier: MIT */
/* Memory for secrets (slot keys, pending runs, session keys): zeroed, left
 * out of core dumps, locked in RAM when the limit allows, wiped when freed. */
#ifndef IOMT_GWD_SECMEM_H
#define IOMT_GWD_SECMEM_H

#include <stddef.h>

/* NULL on failure (errno set). */
void *gwd_secmem_alloc(size_t len);
void gwd_secmem_free(void *p, size_t len);

#endif
