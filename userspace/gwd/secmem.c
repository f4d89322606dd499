/* SPDX-License-Identifier: MIT */
/* Secret memory: anonymous mappings, MADV_DONTDUMP, best-effort mlock. */
#include <stddef.h>
#include <sys/mman.h>

#include "ct.h"
#include "secmem.h"

void *gwd_secmem_alloc(size_t len)
{
	void *p;

	if (!len)
		len = 1;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keys must not end up in a core file or, where allowed, in swap. */
	(void)madvise(p, len, MADV_DONTDUMP);
	(void)mlock(p, len);
	return p;
}

void gwd_secmem_free(void *p, size_t len)
{
	if (!p)
		return;
	if (!len)
		len = 1;
	iomt_wipe(p, len);
	munlock(p, len);
	munmap(p, len);
}
