/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets as every daemon opens them: non-blocking, close-on-exec,
 * SO_REUSEADDR on TCP; TCP and UDP on one port (the one asked for, or one the
 * OS picks free for both); the bound name and port (the port the OS chose for
 * port 0); and the port file, published whole.
 */
#ifndef IOMT_RT_SOCK_H
#define IOMT_RT_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "rt_conf.h"

/* A socket of type SOCK_STREAM (listening with backlog) or SOCK_DGRAM bound
 * to ep, into *out: 0 or -errno (not logged). */
int rt_sock_bind(int type, const struct rt_endpoint *ep, int backlog, int *out);

/* rt_sock_bind, with a failure logged as "WHAT: cannot listen on ADDR: ...". */
int rt_sock_open(int type, const struct rt_endpoint *ep, int backlog, const char *what,
		 int *out);

/* A TCP listener on ep: the descriptor, or -errno logged as
 * "WHAT: cannot listen on ADDR: ..."; "WHAT: listening on ADDR" on success. */
int rt_sock_listen(const struct rt_endpoint *ep, int backlog, const char *what);

/* TCP (listening with backlog) and UDP on one port. name gets the bound
 * address, or the wanted one on failure (logged "cannot listen on ADDR: ..."). */
int rt_sock_bind_pair(const struct rt_endpoint *want, int backlog, int *tcp, int *udp,
		      char *name, size_t len);

/* SO_RCVBUFFORCE (needs CAP_NET_ADMIN), else SO_RCVBUF; likewise SNDBUF. */
void rt_sock_rcvbuf(int fd, int size);
void rt_sock_sndbuf(int fd, int size);

/* The port a socket is bound to; 0 when fd < 0 or unknown. */
uint16_t rt_sock_port(int fd);
/* "192.0.2.1:7000" a socket is bound to, or of its peer; "?" when unknown. */
void rt_sock_name(int fd, char *buf, size_t len);
void rt_sock_peer(int fd, char *buf, size_t len);
void rt_endpoint_set_port(struct rt_endpoint *ep, uint16_t port);

/* text into path (0644), published whole (rt_file_publish): 0 or -errno,
 * logged as "port_file PATH: ...". */
int rt_sock_write_ports(const char *path, const char *text);

#endif
