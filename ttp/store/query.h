/* SPDX-License-Identifier: MIT */
/* iomt-store query: lists stored records (metadata only: never a key, and
 * nothing is decrypted). */
#ifndef IOMT_STORE_QUERY_H
#define IOMT_STORE_QUERY_H

int store_query_main(int argc, char **argv);

#endif
