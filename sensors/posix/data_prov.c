/* SPDX-License-Identifier: MIT */
/* The first data key: from the PPD (KCHAN PROVISION) or a file (data_prov.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consent.h"
#include "ct.h"
#include "data_prov.h"
#include "iomt_err.h"
#include "lib/rt_kchan.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_log.h"

/* The PPD must have provisioned what we asked for, for us. */
static int check_reply(const struct data_opts *o, const struct iomt_keytree_meta *m,
		       const uint8_t sensor_id[IOMT_KEYTREE_ID_LEN])
{
	uint8_t got[IOMT_KEYTREE_CONF_LEN], want[IOMT_KEYTREE_CONF_LEN];

	if (iomt_keytree_conf_encode(&m->conf, got) || iomt_keytree_conf_encode(&o->want, want) ||
	    memcmp(got, want, sizeof(got))) {
		rt_err("PPD %s: provisioned another schedule than the one asked for", o->ppd_name);
		return -1;
	}
	if (memcmp(m->sensor_id, sensor_id, IOMT_KEYTREE_ID_LEN)) {
		rt_err("PPD %s: provisioned a key bound to another sensor", o->ppd_name);
		return -1;
	}
	return 0;
}

static int call_ppd(const struct data_opts *o, struct rt_kclient *k,
		    const uint8_t body[IOMT_PROVISION_REQ_LEN], uint8_t *out, size_t cap,
		    size_t *out_len)
{
	uint8_t status = 0;
	int r = rt_kclient_ticket(k, o->ppd_name);

	if (r) {
		rt_err("ticket for PPD %s from KDC %s: %s", o->ppd_name, o->kdc,
		       r > 0 ? rt_kclient_error(k) : strerror(-r));
		return -1;
	}
	r = rt_kchan_call(k, o->ppd_addr, IOMT_KCHAN_OP_PROVISION, body, IOMT_PROVISION_REQ_LEN,
			  &status, out, cap, out_len, (unsigned)o->ppd_timeout_ms);
	if (r) {
		rt_err("PPD %s at %s: %s", o->ppd_name, o->ppd_addr,
		       r > 0 ? rt_kclient_error(k) : strerror(-r));
		return -1;
	}
	if (status != IOMT_KCHAN_OK) {
		rt_err("PPD %s refused to provision a data key: %s", o->ppd_name,
		       iomt_kchan_strstatus(status));
		return -1;
	}
	return 0;
}

static int from_ppd(const struct data_opts *o, struct iomt_keytree_meta *m, uint8_t k0[16])
{
	struct rt_keyfile kf;
	struct rt_kclient k;
	struct rt_kclient_opts ko = { .kdc = o->kdc };
	uint8_t sensor_id[IOMT_KEYTREE_ID_LEN], body[IOMT_PROVISION_REQ_LEN];
	uint8_t out[IOMT_PROVISION_REP_LEN + 64];
	size_t out_len = 0;
	char err[256];
	int r;

	if (!o->key[0] || !o->kdc[0] || !o->ppd[0]) {
		rt_err("no data key yet: the first run needs --key, --kdc and --ppd "
		       "(or --data-key)");
		return -1;
	}
	if (rt_keyfile_read(o->key, NULL, &kf, err, sizeof(err))) {
		rt_err("--key %s: %s", o->key, err);
		return -1;
	}
	memcpy(sensor_id, kf.name, sizeof(sensor_id));
	r = rt_kclient_init(&k, &kf, &ko);
	rt_keyfile_wipe(&kf);
	if (r) {
		rt_err("KDC client: %s", rt_kclient_error(&k));
		rt_kclient_wipe(&k);
		return -1;
	}
	r = iomt_provision_req_encode(sensor_id, &o->want, body) ? -1 : 0;
	if (r)
		rt_err("--conf: the PPD would refuse this schedule (PROTOCOL.md 6.1)");
	if (!r)
		r = call_ppd(o, &k, body, out, sizeof(out), &out_len);
	rt_kclient_wipe(&k);
	if (!r && iomt_provision_rep_decode(m, k0, out, out_len)) {
		rt_err("PPD %s: the PROVISION reply does not parse", o->ppd_name);
		r = -1;
	}
	if (!r)
		r = check_reply(o, m, sensor_id);
	iomt_wipe(out, sizeof(out));
	return r;
}

/* Exactly 94 bytes, readable by its owner only (it holds a key). */
static int from_file(const char *path, struct iomt_keytree_meta *m, uint8_t k0[16])
{
	uint8_t buf[IOMT_PROVISION_REP_LEN + 1];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;

	if (fd < 0) {
		rt_err("--data-key %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		rt_err("--data-key %s: group or others may read it (chmod 600)", path);
	} else if ((n = read(fd, buf, sizeof(buf))) != IOMT_PROVISION_REP_LEN) {
		rt_err("--data-key %s: not %d bytes (meta_Kdata || K_data_0)", path,
		       IOMT_PROVISION_REP_LEN);
	} else if (iomt_provision_rep_decode(m, k0, buf, (size_t)n)) {
		rt_err("--data-key %s: not a meta_Kdata || K_data_0 file", path);
	} else {
		r = 0;
	}
	close(fd);
	iomt_wipe(buf, sizeof(buf));
	return r;
}

int data_prov_get(const struct data_opts *o, struct iomt_keytree_meta *m,
		  uint8_t k_data0[IOMT_KEYTREE_KEY_LEN])
{
	if (o->data_key[0])
		return from_file(o->data_key, m, k_data0);
	return from_ppd(o, m, k_data0);
}
