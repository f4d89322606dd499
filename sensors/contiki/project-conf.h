/* SPDX-License-Identifier: MIT */
/* Overrides only; every other setting is Contiki-NG's default. */
#ifndef PROJECT_CONF_H_
#define PROJECT_CONF_H_

/* The driver hooks of sensors/core (sc.h), one per target. */
#if CONTIKI_TARGET_ZOUL
#define SENSOR_CORE_CONF_DRIVER sc_driver_cc2538
#else
#define SENSOR_CORE_CONF_DRIVER sc_driver_native
#endif
/* lib/ccm.c's engine (IOMT_CONF_CCM_DRIVER iomt_ccm_cc2538 on zoul) is set in
 * the Makefile: lib/ is built without this file. */

/* The gateway (MEC role: seed 002; relay role: REC_PUT), through the border router. */
#define IOMT_SENSOR_CONF_GATEWAY "fd00::1"

#define IOMT_SENSOR_CONF_LOG_LEVEL LOG_LEVEL_INFO
#define LOG_CONF_LEVEL_RPL LOG_LEVEL_WARN
#define LOG_CONF_LEVEL_IPV6 LOG_LEVEL_WARN

#endif
