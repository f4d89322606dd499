/* SPDX-License-Identifier: MIT */
/*
 * The world of tests/kdc/test_flow.c: a scratch directory, the real
 * iomt-kdc (admin CLI and daemon on 127.0.0.1, a free port), AP services
 * (iomt-kclient serve, or iomt-gwd with only the gateway role) and clients
 * (the iomt-kclient tool, or rt_kclient in this process for raw frames).
 */
#ifndef IOMT_TEST_FLOW_ENV_H
#define IOMT_TEST_FLOW_ENV_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/rt_conf.h"
#include "lib/rt_kclient.h"
#include "lib/rt_keyfile.h"
#include "lib/rt_knet.h"
#include "lib/rt_rng.h"
#include "rt/rt_test.h"
#include "wire.h"

enum {
	ENV_WAIT_MS = 8000,	/* for anything that should happen soon */
	ENV_QUIET_MS = 300,	/* for "no answer comes" */
	ENV_ARGV_MAX = 40,
};

struct env {
	char dir[64];
	char kdc_bin[PATH_MAX], kc_bin[PATH_MAX], gwd_bin[PATH_MAX];
	char db[128], master[128], out[128];
	char kdc_addr[64];
	uint16_t kdc_port;
	pid_t kdc_pid, svc_pid;
	int svc_gwd;
	char svc_name[32];
	char svc_addr[128];
	char svc_log[160];
	char svc_replay[160];
	uint16_t metrics_port;
};

/* execv takes char *const []: our arguments are never written. */
static inline char *env_arg(const char *s)
{
	union { const char *c; char *m; } u = { s };

	return u.m;
}

static inline void env_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Runs argv (stdout+stderr appended to out_path): the exit status. */
static inline int env_run(char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline pid_t env_spawn(char *const argv[], const char *out_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Sends sig, waits up to timeout_ms: exit status, 128 + signal, or -1. */
static inline int env_reap(pid_t *pid, int sig, unsigned timeout_ms)
{
	int st;

	if (*pid <= 0)
		return -1;
	if (sig)
		kill(*pid, sig);
	for (unsigned t = 0; t < timeout_ms; t += 5, env_sleep_ms(5))
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	return -1;
}

/* A port free for both UDP and TCP on 127.0.0.1 right now. */
static inline uint16_t env_free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t len = sizeof(a);
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = u >= 0 && t >= 0 && !bind(u, (struct sockaddr *)&a, sizeof(a)) &&
		     !getsockname(u, (struct sockaddr *)&a, &len) &&
		     !bind(t, (struct sockaddr *)&a, sizeof(a));
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

static inline int env_file_has(const char *path, const char *needle)
{
	static char buf[1 << 20];

	return rt_test_read(path, buf, sizeof(buf)) >= 0 && strstr(buf, needle) != NULL;
}

/* 0, or -1 (the programs are not built: the caller skips). */
static inline int env_init(struct env *e, const char *tag)
{
	if (rt_test_mkdtemp(e->dir, sizeof(e->dir), tag))
		return -2;
	snprintf(e->db, sizeof(e->db), "%s/kdc.db", e->dir);
	snprintf(e->master, sizeof(e->master), "%s/kdc.master", e->dir);
	snprintf(e->out, sizeof(e->out), "%s/cmd.out", e->dir);
	if (rt_test_bin("iomt-kdc", e->kdc_bin, sizeof(e->kdc_bin)) ||
	    rt_test_bin("iomt-kclient", e->kc_bin, sizeof(e->kc_bin)) ||
	    rt_test_bin("iomt-gwd", e->gwd_bin, sizeof(e->gwd_bin)) || access(e->kdc_bin, X_OK) ||
	    access(e->kc_bin, X_OK) || access(e->gwd_bin, X_OK))
		return -1;
	return 0;
}

static inline void env_fini(struct env *e)
{
	env_reap(&e->svc_pid, SIGKILL, 2000);
	env_reap(&e->kdc_pid, SIGKILL, 2000);
	rt_test_rmtree(e->dir);
}

/* 'iomt-kdc admin ARGS... --db DB [--master M]' (NULL-terminated). */
static inline int env_admin(struct env *e, const char *cmd, ...)
{
	static char admin[] = "admin", dbo[] = "--db", mo[] = "--master";
	char *argv[ENV_ARGV_MAX] = { e->kdc_bin, admin, env_arg(cmd) };
	int argc = 3, master = !strcmp(cmd, "init") || !strcmp(cmd, "export-key");
	va_list ap;

	va_start(ap, cmd);
	while (argc < ENV_ARGV_MAX - 6 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc++] = dbo;
	argv[argc++] = e->db;
	if (master) {
		argv[argc++] = mo;
		argv[argc++] = e->master;
	}
	argv[argc] = NULL;
	return env_run(argv, e->out);
}

/* Registers name (patient NULL: none, the cloud store). */
static inline int env_register(struct env *e, const char *name, const char *patient,
			       const char *kind)
{
	static char po[] = "--patient", ko[] = "--kind";

	if (patient)
		return env_admin(e, "register", name, po, patient, ko, kind, NULL);
	return env_admin(e, "register", name, ko, kind, NULL);
}

static inline void env_key_path(struct env *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.key", e->dir, name);
}

static inline void env_pass_path(struct env *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.pass", e->dir, name);
}

/* Exports name's key to DIR/name.key (passcode: in DIR/name.pass). */
static inline int env_export(struct env *e, const char *name, const char *passcode)
{
	static char oo[] = "--out", po[] = "--passcode-file";
	char key[160], pass[160];

	env_key_path(e, name, key, sizeof(key));
	unlink(key);
	if (!passcode)
		return env_admin(e, "export-key", name, oo, key, NULL);
	env_pass_path(e, name, pass, sizeof(pass));
	if (rt_test_write(pass, passcode, strlen(passcode)))
		return -1;
	chmod(pass, 0600);
	return env_admin(e, "export-key", name, oo, key, po, pass, NULL);
}

static inline int env_add(struct env *e, const char *name, const char *patient,
			  const char *kind)
{
	int r = env_register(e, name, patient, kind);

	return r ? r : env_export(e, name, NULL);
}

/* The KDC daemon on 127.0.0.1, port 0 (read back from its port file);
 * ticket_life: its ticket_lifetime ("2s"; NULL: its default): 0 or -1. */
static inline int env_kdc_start(struct env *e, const char *ticket_life)
{
	static char dbo[] = "--db", mo[] = "--master", lo[] = "--listen", la[] = "127.0.0.1:0",
		    mlo[] = "--metrics-listen", pfo[] = "--port-file", alo[] = "--audit-log",
		    lfo[] = "--log-file", lto[] = "--ticket-lifetime";
	char ports[160], audit[160], log[160], text[256];
	char *argv[ENV_ARGV_MAX] = { e->kdc_bin, dbo, e->db, mo, e->master, lo, la, mlo, la,
				     pfo, ports, alo, audit, lfo, log };
	int argc = 15;
	unsigned port;

	snprintf(ports, sizeof(ports), "%s/kdc.ports", e->dir);
	snprintf(audit, sizeof(audit), "%s/kdc-audit.log", e->dir);
	snprintf(log, sizeof(log), "%s/kdc.log", e->dir);
	if (ticket_life) {
		argv[argc++] = lto;
		argv[argc++] = env_arg(ticket_life);
	}
	argv[argc] = NULL;
	unlink(ports);
	e->kdc_pid = env_spawn(argv, log);
	for (unsigned t = 0; t < ENV_WAIT_MS; t += 10, env_sleep_ms(10)) {
		int st;

		if (rt_test_read(ports, text, sizeof(text)) > 0 &&
		    sscanf(text, "udp=%u", &port) == 1 && port && port < 65536) {
			e->kdc_port = (uint16_t)port;
			snprintf(e->kdc_addr, sizeof(e->kdc_addr), "127.0.0.1:%u", port);
			return 0;
		}
		if (waitpid(e->kdc_pid, &st, WNOHANG) == e->kdc_pid) {
			e->kdc_pid = 0;
			return -1;
		}
	}
	return -1;
}

/* Waits for the service's port file: 0 or -1 (it died or never wrote it). */
static inline int env_svc_wait(struct env *e, const char *ports)
{
	char text[256], a[128], m[128];
	struct rt_endpoint ep;

	for (unsigned t = 0; t < ENV_WAIT_MS; t += 10, env_sleep_ms(10)) {
		int st, n;

		if (rt_test_read(ports, text, sizeof(text)) > 0 &&
		    (n = sscanf(text, "listen %127s metrics_listen %127s", a, m)) >= 1) {
			snprintf(e->svc_addr, sizeof(e->svc_addr), "%s", a);
			if (n == 2 && !rt_endpoint_parse(m, &ep))
				e->metrics_port = rt_endpoint_port(&ep);
			return 0;
		}
		if (waitpid(e->svc_pid, &st, WNOHANG) == e->svc_pid) {
			e->svc_pid = 0;
			return -1;
		}
	}
	return -1;
}

/* 'iomt-kclient serve' for name (passcode file: DIR/name.pass if asked;
 * clock: the service's --clock-offset or NULL). */
static inline int env_serve_at(struct env *e, const char *name, int with_passcode,
			       const char *clock)
{
	static char serve[] = "serve", ko[] = "--key", lo[] = "--listen", la[] = "127.0.0.1:0",
		    ro[] = "--replay-cache", pfo[] = "--port-file", llo[] = "--log-level",
		    dbg[] = "debug", pco[] = "--passcode-file", cko[] = "--clock-offset";
	char key[160], ports[160], pass[160];
	char *argv[ENV_ARGV_MAX] = { e->kc_bin, serve, ko, key, lo, la, ro, e->svc_replay,
				     pfo, ports, llo, dbg };
	int argc = 12;

	env_key_path(e, name, key, sizeof(key));
	snprintf(ports, sizeof(ports), "%s/%s.ports", e->dir, name);
	snprintf(e->svc_replay, sizeof(e->svc_replay), "%s/%s.replay", e->dir, name);
	snprintf(e->svc_log, sizeof(e->svc_log), "%s/%s.log", e->dir, name);
	snprintf(e->svc_name, sizeof(e->svc_name), "%s", name);
	if (with_passcode) {
		env_pass_path(e, name, pass, sizeof(pass));
		argv[argc++] = pco;
		argv[argc++] = pass;
	}
	if (clock) {
		argv[argc++] = cko;
		argv[argc++] = env_arg(clock);
	}
	argv[argc] = NULL;
	unlink(ports);
	e->svc_gwd = 0;
	e->svc_pid = env_spawn(argv, e->svc_log);
	return env_svc_wait(e, ports);
}

static inline int env_serve(struct env *e, const char *name, int with_passcode)
{
	return env_serve_at(e, name, with_passcode, NULL);
}

/* iomt-gwd with the gateway role as name (key: DIR/name.key) and, if
 * mec_extra is not NULL, the MEC role too (mec_extra: its config lines). */
static inline int env_gwd_roles(struct env *e, const char *name, const char *mec_extra)
{
	static char co[] = "-c";
	char conf[160], ports[160], key[160], text[2048];
	char *argv[] = { e->gwd_bin, co, conf, NULL };
	int n;

	env_key_path(e, name, key, sizeof(key));
	snprintf(conf, sizeof(conf), "%s/gwd.conf", e->dir);
	snprintf(ports, sizeof(ports), "%s/gwd.ports", e->dir);
	snprintf(e->svc_replay, sizeof(e->svc_replay), "%s/%s.replay", e->dir, name);
	snprintf(e->svc_log, sizeof(e->svc_log), "%s/gwd.log", e->dir);
	snprintf(e->svc_name, sizeof(e->svc_name), "%s", name);
	n = snprintf(text, sizeof(text),
		     "%s\nlisten 127.0.0.1:0\nmetrics_listen 127.0.0.1:0\nport_file %s\n"
		     "log_level debug\nlog_file %s\ngateway_key %s\nreplay_cache %s\n"
		     "batch_max 256\n", mec_extra ? mec_extra : "mec no", ports, e->svc_log, key,
		     e->svc_replay);
	if (rt_test_write(conf, text, (size_t)n))
		return -1;
	unlink(ports);
	e->svc_gwd = 1;
	e->svc_pid = env_spawn(argv, e->svc_log);
	return env_svc_wait(e, ports);
}

static inline int env_gwd(struct env *e, const char *name)
{
	return env_gwd_roles(e, name, NULL);
}

/* The service of this kind: iomt-gwd for a gateway, else kclient serve. */
static inline int env_service(struct env *e, const char *name, const char *kind)
{
	return strcmp(kind, "gateway") ? env_serve(e, name, 0) : env_gwd(e, name);
}

/* 'iomt-kclient CMD --key DIR/client.key --kdc ... --target T [--service S]
 * [extra...]': exit status; stdout+stderr in DIR/cmd.out (truncated first). */
static inline int env_tool(struct env *e, const char *cmd, const char *client, const char *target,
			   const char *service, ...)
{
	static char ko[] = "--key", kdo[] = "--kdc", to[] = "--target", so[] = "--service";
	char key[160];
	char *argv[ENV_ARGV_MAX] = { e->kc_bin, env_arg(cmd), ko, key, kdo, e->kdc_addr, to,
				     env_arg(target) };
	int argc = 8;
	va_list ap;

	env_key_path(e, client, key, sizeof(key));
	if (service) {
		argv[argc++] = so;
		argv[argc++] = env_arg(service);
	}
	va_start(ap, service);
	while (argc < ENV_ARGV_MAX - 1 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	unlink(e->out);
	return env_run(argv, e->out);
}

/* "fp=HEX" from the tool's output into fp (17 bytes): 0 or -1. */
static inline int env_tool_fp(struct env *e, char fp[17])
{
	char buf[4096];
	const char *p;

	if (rt_test_read(e->out, buf, sizeof(buf)) < 0 || !(p = strstr(buf, " fp=")) ||
	    strlen(p + 4) < 16)
		return -1;
	memcpy(fp, p + 4, 16);
	fp[16] = '\0';
	return 0;
}

/* An in-process client for name (its key file; passcode or NULL). */
static inline int env_client(struct env *e, const char *name, const char *passcode,
			     struct rt_kclient *k)
{
	struct rt_kclient_opts o = { .kdc = e->kdc_addr, .timeout_ms = 300, .retries = 2 };
	struct rt_keyfile kf;
	char key[160], err[256];
	int r;

	env_key_path(e, name, key, sizeof(key));
	if (rt_keyfile_read(key, passcode, &kf, err, sizeof(err)))
		return -1;
	r = rt_kclient_init(k, &kf, &o);
	rt_keyfile_wipe(&kf);
	return r;
}

/* A framed AP_REQ from k's ticket (k moves to AP_SENT) at time now. */
static inline int env_ap_frame(struct rt_kclient *k, uint64_t now,
			       uint8_t frame[IOMT_WIRE_HDR_LEN + IOMT_KDC_AP_REQ_LEN])
{
	uint8_t rnd[IOMT_KDC_AP_REQ_RAND];

	if (rt_random(rnd, sizeof(rnd)))
		return -1;
	iomt_wire_put_hdr(frame, IOMT_MSG_KDC_AP_REQ, IOMT_KDC_AP_REQ_LEN);
	return iomt_kdc_client_ap_req(&k->c, now, rnd, frame + IOMT_WIRE_HDR_LEN) ? -1 : 0;
}

/* One datagram to the service, one answer back: its length, or -1 when
 * nothing came within wait_ms. */
static inline long env_udp(struct env *e, const void *frame, size_t len, uint8_t *reply,
			   size_t cap, unsigned wait_ms)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	long n = -1;
	int fd;

	if (rt_knet_resolve(e->svc_addr, &ss, &slen) || (fd = rt_knet_udp_connect(&ss, slen)) < 0)
		return -1;
	if (!rt_knet_send(fd, frame, len))
		n = rt_knet_recv_datagram(fd, reply, cap, rt_knet_mono_ms() + wait_ms);
	close(fd);
	return n < 0 ? -1 : n;
}

/* One series ('name' or 'name{labels}') from the service's /metrics, or -1. */
static inline long long env_metric(struct env *e, const char *series)
{
	static char body[1 << 16];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(e->metrics_port) };
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	size_t got = 0, n = strlen(series);
	const char *p = body;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got + 1 < sizeof(body) && (r = recv(fd, body + got, sizeof(body) - 1 - got, 0)) > 0)
		got += (size_t)r;
	body[got] = '\0';
	close(fd);
	while ((p = strstr(p, series))) {
		if (p > body && p[-1] == '\n' && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		p += n;
	}
	return -1;
}

/* The code an answer carries: 0 for AP_REP, the ERR's code, -1 otherwise. */
static inline int env_reply_code(const uint8_t *buf, long n)
{
	const uint8_t *p;
	uint8_t type, code, ref[8];
	size_t plen;
	uint64_t t;

	if (n < 0 || iomt_wire_parse(buf, (size_t)n, &type, &p, &plen))
		return -1;
	if (type == IOMT_MSG_KDC_AP_REP)
		return 0;
	if (type != IOMT_MSG_KDC_ERR || iomt_kdc_err_parse(p, plen, &code, ref, &t))
		return -1;
	return code;
}

#endif
