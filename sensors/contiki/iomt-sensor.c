/* SPDX-License-Identifier: MIT */
/*
 * The RE-Mote firmware (and its native build): sensors/core over UDP/IPv6.
 * At boot the core loads its state through the driver hooks; if it holds a
 * seed-002 identity, one agreement with the gateway's MEC role (M1 out, M4
 * in, the core's deadlines and back-off); then, if it holds a data key, a
 * measurement every MEASURE_INTERVAL, sealed, and REC_PUT batches of
 * BATCH_RECORDS to the gateway's relay role, each resent unchanged until
 * REC_ACK OK. Protocol computation is all lib/'s and sensors/core's.
 */
#include <stdio.h>
#include <string.h>
#include "contiki.h"
#include "net/ipv6/simple-udp.h"
#include "net/ipv6/uiplib.h"
#include "net/routing/routing.h"
#include "sys/log.h"
#include "sc.h"
#include "ct.h"
#include "recbatch.h"
#include "sp800_185.h"

#define LOG_MODULE "IoMT"
#ifdef IOMT_SENSOR_CONF_LOG_LEVEL
#define LOG_LEVEL IOMT_SENSOR_CONF_LOG_LEVEL
#else
#define LOG_LEVEL LOG_LEVEL_INFO
#endif

#ifndef IOMT_SENSOR_CONF_GATEWAY
#define IOMT_SENSOR_CONF_GATEWAY "fd00::1"
#endif
#define GW_PORT 7401            /* iomt-gwd 'listen': MEC role (seed 002) and relay (REC_PUT) */
#define LOCAL_PORT 7411
#define M4_TIMEOUT_MS 2000      /* multi-hop 6LoWPAN: longer than on loopback */
#define RETRIES 5
#define MEASURE_INTERVAL (10 * CLOCK_SECOND)
#define BATCH_RECORDS 4
#define ACK_TIMEOUT (2 * CLOCK_SECOND)
#define ACK_RETRIES 6
/* No wall clock yet (README.md): Unix time = this + seconds since boot. */
#define UNIX_BASE 1767225600UL  /* 2026-01-01T00:00:00Z */

static struct sc core;
static struct simple_udp_connection udp;
static uip_ipaddr_t gw;
#define MEASURE_MAX 32          /* bytes of one measurement */
static uint8_t rx[128], frame[512], rec[MEASURE_MAX + IOMT_RECORD_OVERHEAD], batch_id[8];
static uint16_t rx_len;
static process_event_t rx_event;

#if CONTIKI_TARGET_NATIVE
int sc_native_factory(struct sc *c);    /* driver-native.c */
int sc_native_gateway(uip_ipaddr_t *gw);
#endif

PROCESS(iomt_sensor_process, "IoMT sensor");
AUTOSTART_PROCESSES(&iomt_sensor_process);

static void on_udp(struct simple_udp_connection *c, const uip_ipaddr_t *from, uint16_t fport,
		   const uip_ipaddr_t *to, uint16_t tport, const uint8_t *data, uint16_t len)
{
	(void)c; (void)to; (void)tport;
	LOG_DBG("%u bytes from ", len);
	LOG_DBG_6ADDR(from);
	LOG_DBG_(" port %u\n", fport);
	if (!uip_ipaddr_cmp(from, &gw) || len > sizeof(rx) || rx_len)
		return;         /* not the gateway, too long, or one still unread */
	memcpy(rx, data, len);
	rx_len = len;
	process_post(&iomt_sensor_process, rx_event, (void *)(uintptr_t)fport);
}

/* Ticks until the core's deadline (at least one). */
static clock_time_t until(uint64_t deadline_ms)
{
	uint64_t now = SENSOR_CORE_DRIVER->now_ms(NULL);

	return deadline_ms > now ? (clock_time_t)((deadline_ms - now) * CLOCK_SECOND / 1000) + 1 : 1;
}

static void log_sk(const uint8_t sk[IOMT_S2_KEY_LEN])
{
	static const char custom[] = "iomt/s2/sk-fingerprint";
	uint8_t fp[8];

	iomt_kmac128(sk, IOMT_S2_KEY_LEN, custom, sizeof(custom) - 1, "", 0, fp, sizeof(fp));
	LOG_INFO("agreement done, identity rotated and stored, sk fingerprint "
		 "%02x%02x%02x%02x%02x%02x%02x%02x\n",
		 fp[0], fp[1], fp[2], fp[3], fp[4], fp[5], fp[6], fp[7]);
}

/* One measurement (a synthetic heart rate) sealed into the open batch. */
static int measure(size_t *used)
{
	struct iomt_record_hdr h;
	uint64_t t = UNIX_BASE + clock_seconds();
	char m[MEASURE_MAX];
	size_t n;
	int r, len = snprintf(m, sizeof(m), "hr=72 t=%lu000", (unsigned long)t);

	r = sc_data_seal(&core, t, (const uint8_t *)m, (size_t)len, rec, sizeof(rec), &n, &h);
	if (!r)
		r = iomt_recbatch_add(frame + IOMT_WIRE_HDR_LEN, sizeof(frame) - IOMT_WIRE_HDR_LEN,
				      used, rec, n);
	if (!r)
		LOG_INFO("sealed epoch %lu leaf %lu seq %lu\n", (unsigned long)h.epoch,
			 (unsigned long)h.leaf, (unsigned long)h.seq);
	return r;
}

/* A REC_ACK for the batch in flight: 1 = done with it, 0 = resend. */
static int acked(void)
{
	uint8_t id[8], status, type;
	uint16_t stored, dups;
	const uint8_t *p;
	size_t n;

	if (iomt_wire_parse(rx, rx_len, &type, &p, &n) || type != IOMT_MSG_REC_ACK ||
	    iomt_rec_ack_decode(id, &status, &stored, &dups, p, n) ||
	    !iomt_ct_eq(id, batch_id, sizeof(id)))
		return 0;
	LOG_INFO("REC_ACK status %u, stored %u, duplicates %u\n", status, stored, dups);
	return status == IOMT_REC_OK || status == IOMT_REC_MALFORMED;
}

PROCESS_THREAD(iomt_sensor_process, ev, data)
{
	static const struct sc_conf conf = { M4_TIMEOUT_MS, RETRIES };
	static struct etimer et;
	static uint8_t sk[IOMT_S2_KEY_LEN];
	static size_t out_len, used;
	static unsigned i, tries;
	static int done;
	static int r;

	PROCESS_BEGIN();
	rx_event = process_alloc_event();
	uiplib_ipaddrconv(IOMT_SENSOR_CONF_GATEWAY, &gw);
#if CONTIKI_TARGET_NATIVE
	sc_native_gateway(&gw);
#endif
	simple_udp_register(&udp, LOCAL_PORT, NULL, 0, on_udp);
	r = sc_init(&core, SENSOR_CORE_DRIVER, NULL, &conf);
#if CONTIKI_TARGET_NATIVE
	if (r == SC_ENOSTATE && sc_native_factory(&core) == 0) {
		LOG_INFO("provisioned from iomt-factory.prov\n");
		r = SC_OK;
	}
#endif
	if (r == SC_ENOSTATE) {
		LOG_WARN("no stored state: this device is not provisioned\n");
		PROCESS_EXIT();
	} else if (r < 0) {
		LOG_ERR("state load failed (%d)\n", r);
		PROCESS_EXIT();
	}
	LOG_INFO("state loaded (generation %lu), gateway ", (unsigned long)core.gen);
	LOG_INFO_6ADDR(&gw);
	LOG_INFO_("\n");

#if !CONTIKI_TARGET_NATIVE     /* native: tun6 reaches the host directly */
	/* Wait for a route to the gateway (through the border router). */
	while (!NETSTACK_ROUTING.node_is_reachable()) {
		etimer_set(&et, CLOCK_SECOND);
		PROCESS_WAIT_EVENT_UNTIL(etimer_expired(&et));
	}
#endif

	/* Seed 002: M1, then the core's timers until M4, a refusal or no answer. */
	r = core.has_id ? sc_s2_start(&core, frame, sizeof(frame), &out_len) : SC_ENOSTATE;
	while (r == SC_SEND || r == SC_OK || r == SC_IGNORED) {
		if (r == SC_SEND) {
			rx_len = 0;
			LOG_INFO("M1 (attempt %u) to the MEC\n", core.attempt);
			simple_udp_sendto_port(&udp, frame, out_len, &gw, GW_PORT);
		}
		etimer_set(&et, until(sc_s2_deadline(&core)));
		PROCESS_WAIT_EVENT_UNTIL(ev == rx_event || etimer_expired(&et));
		if (ev == rx_event) {
			r = sc_s2_input(&core, rx, rx_len, sk);
			rx_len = 0;
		} else {
			r = sc_s2_poll(&core, frame, sizeof(frame), &out_len);
		}
	}
	if (r == SC_DONE)
		log_sk(sk);	/* no consumer of SK yet: shown, then wiped */
	else if (r != SC_ENOSTATE)
		LOG_WARN("agreement ended: %d (DEV_ERR code %u)\n", r, core.s2_code);
	iomt_wipe(sk, sizeof(sk));

	if (!core.has_data) {
		LOG_WARN("no data key (first-paper provisioning not in this firmware)\n");
		PROCESS_EXIT();
	}
	/* The data path: BATCH_RECORDS measurements, one REC_PUT, wait for REC_ACK. */
	while (1) {
		if (sc_batch_open(&core, frame, sizeof(frame), batch_id, &used)) {
			LOG_ERR("cannot open a batch\n");
			break;
		}
		for (i = 0; i < BATCH_RECORDS; i++) {
			etimer_set(&et, MEASURE_INTERVAL);
			PROCESS_WAIT_EVENT_UNTIL(etimer_expired(&et));
			if ((r = measure(&used)) != 0) {
				LOG_ERR("seal failed (%d): stopped\n", r);
				PROCESS_EXIT();
			}
		}
		sc_batch_close(frame, used);
		for (done = 0, tries = 0; !done && tries <= ACK_RETRIES; tries++) {
			rx_len = 0;     /* anything unread is stale now */
			simple_udp_sendto_port(&udp, frame, IOMT_WIRE_HDR_LEN + used, &gw, GW_PORT);
			etimer_set(&et, ACK_TIMEOUT << (tries < 2 ? tries : 2));
			do {
				PROCESS_WAIT_EVENT_UNTIL(ev == rx_event || etimer_expired(&et));
				done = ev == rx_event && acked();
				rx_len = 0;
			} while (!done && !etimer_expired(&et));
		}
		if (!done)
			LOG_WARN("batch given up after %u sends\n", tries);
	}
	PROCESS_END();
}
