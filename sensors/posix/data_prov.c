/* SPDX-License-Identifier: MIT */
/* The first data key: from the PPD (sc_prov) or a file (data_prov.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consent.h"
#include "ct.h"
#include "data_prov.h"
#include "iomt_err.h"
#include "kchan.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_log.h"
#include "net.h"
#include "sc_prov.h"

enum { PROV_FRAME_MAX = 1024 };

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The core's storage refused the key: it was never used. */
static int store_failed(const struct data_opts *o, const struct sensor_dev *d)
{
	rt_err("%s: cannot persist the data-key state: %s; no record is sealed under an "
	       "unsaved state", o->state, strerror(d->err));
	return -1;
}

/* What ended the exchange, said for the step it ended in. */
static int prov_error(const struct data_opts *o, const struct sc_prov *p, uint8_t step, int k,
		      const struct sensor_dev *d)
{
	int kdc = step == SC_PROV_AS || step == SC_PROV_TGS;

	if (k == SC_ESTORE)
		return store_failed(o, d);
	if (k == SC_EREFUSED && kdc)
		rt_err("ticket for PPD %s from KDC %s: %s", o->ppd_name, o->kdc,
		       iomt_kdc_strcode(p->code));
	else if (k == SC_EREFUSED)
		rt_err("PPD %s refused to provision a data key: %s (code %u)", o->ppd_name,
		       iomt_kchan_strstatus(p->code), p->code);
	else if (k == SC_ENOANSWER && kdc)
		rt_err("ticket for PPD %s from KDC %s: no answer", o->ppd_name, o->kdc);
	else if (k == SC_ENOANSWER)
		rt_err("PPD %s at %s: no answer", o->ppd_name, o->ppd_addr);
	else if (k == IOMT_EMALFORMED)
		rt_err("PPD %s: the PROVISION reply is not what was asked for (another schedule, "
		       "or a key bound to another sensor)", o->ppd_name);
	else
		rt_err("provisioning the data key: %s", k == SC_ERNG ? "no randomness"
								     : iomt_strerror(k));
	return -1;
}

/* Waits for a reply until the core's deadline: its length, or 0 (time). */
static ssize_t wait_reply(struct sc *c, const struct sc_prov *p, const int fd[2], uint8_t *buf,
			  size_t cap)
{
	for (;;) {
		uint64_t now = c->drv->now_ms(c->ctx);
		struct pollfd pfd[2] = { { .fd = fd[0], .events = POLLIN },
					 { .fd = fd[1], .events = POLLIN } };

		if (now >= p->deadline_ms)
			return 0;
		if (poll(pfd, 2, (int)(p->deadline_ms - now)) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(pfd[i].revents & (POLLIN | POLLERR)))
				continue;
			n = sensor_net_recv(fd[i], buf, cap);
			if (n > 0)
				return n;	/* ICMP errors and oversize: not answers */
		}
	}
}

static int exchange(const struct data_opts *o, struct sc *c, struct sensor_dev *d,
		    struct sc_prov *p, const struct rt_keyfile *kf, const uint8_t ppd[16],
		    const int fd[2])
{
	uint8_t out[PROV_FRAME_MAX], in[PROV_FRAME_MAX], step = SC_PROV_AS;
	size_t len = 0;
	int k = sc_prov_start(c, p, kf->name, kf->kvno, kf->key, ppd, &o->want, unix_ms(), out,
			      sizeof(out), &len);

	for (;;) {
		ssize_t n;

		if (k == SC_SEND) {
			int e = sensor_net_send(fd[p->dest == SC_TO_PPD], out, len);

			if (e && e != -ECONNREFUSED)
				rt_warn("sending to the %s: %s", p->dest == SC_TO_PPD ? "PPD" : "KDC",
					strerror(-e));
		} else if (k == SC_DONE) {
			return 0;
		} else if (k != SC_OK && k != SC_IGNORED) {
			return prov_error(o, p, step, k, d);
		}
		step = p->step;
		n = wait_reply(c, p, fd, in, sizeof(in));
		if (n > 0)
			k = sc_prov_input(c, p, unix_ms(), in, (size_t)n, out, sizeof(out), &len);
		else
			k = sc_prov_poll(c, p, unix_ms(), out, sizeof(out), &len);
	}
}

static int from_ppd(const struct data_opts *o, struct sc *c, struct sensor_dev *d)
{
	struct rt_keyfile kf;
	struct sensor_addr kdc, ppd_at;
	struct sc_prov p;
	uint8_t ppd[IOMT_KDC_NAME_LEN];
	char err[256];
	int fd[2] = { -1, -1 }, r = -1;

	if (!o->key[0] || !o->kdc[0] || !o->ppd[0]) {
		rt_err("no data key yet: the first run needs --key, --kdc and --ppd "
		       "(or --data-key)");
		return -1;
	}
	if (iomt_kdc_name_from_text(ppd, o->ppd_name)) {
		rt_err("--ppd: '%s' is not a KDC principal name", o->ppd_name);
		return -1;
	}
	if (sensor_net_resolve(o->kdc, &kdc) || sensor_net_resolve(o->ppd_addr, &ppd_at))
		return -1;
	if (rt_keyfile_read(o->key, NULL, &kf, err, sizeof(err))) {
		rt_err("--key %s: %s", o->key, err);
		return -1;
	}
	fd[0] = sensor_net_socket(&kdc);
	fd[1] = sensor_net_socket(&ppd_at);
	if (fd[0] < 0 || fd[1] < 0)
		rt_err("no UDP socket: %s", strerror(-(fd[0] < 0 ? fd[0] : fd[1])));
	else
		r = exchange(o, c, d, &p, &kf, ppd, fd);
	sc_prov_wipe(&p);
	rt_keyfile_wipe(&kf);
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return r;
}

/* Exactly 94 bytes, readable by its owner only (it holds a key). */
static int from_file(const struct data_opts *o, struct sc *c, struct sensor_dev *d)
{
	uint8_t buf[IOMT_PROVISION_REP_LEN + 1], k0[IOMT_KEYTREE_KEY_LEN];
	struct iomt_keytree_meta m;
	const char *path = o->data_key;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1, k;

	if (fd < 0) {
		rt_err("--data-key %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		rt_err("--data-key %s: group or others may read it (chmod 600)", path);
	} else if ((n = read(fd, buf, sizeof(buf))) != IOMT_PROVISION_REP_LEN) {
		rt_err("--data-key %s: not %d bytes (meta_Kdata || K_data_0)", path,
		       IOMT_PROVISION_REP_LEN);
	} else if (iomt_provision_rep_decode(&m, k0, buf, (size_t)n)) {
		rt_err("--data-key %s: not a meta_Kdata || K_data_0 file", path);
	} else if ((k = sc_data_provision(c, &m, k0)) == SC_ESTORE) {
		store_failed(o, d);
	} else if (k) {
		rt_err("--data-key %s: the core refuses this key tree: %s", path, iomt_strerror(k));
	} else {
		r = 0;
	}
	close(fd);
	iomt_wipe(buf, sizeof(buf));
	iomt_wipe(k0, sizeof(k0));
	return r;
}

int data_prov_get(const struct data_opts *o, struct sc *c, struct sensor_dev *d)
{
	if (o->data_key[0])
		return from_file(o, c, d);
	return from_ppd(o, c, d);
}
