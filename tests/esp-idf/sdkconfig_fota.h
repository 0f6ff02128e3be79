/*
 * sdkconfig_fota.h - the port's Kconfig values (src/ports/esp-idf/Kconfig,
 * their defaults) that both hand-written sdkconfig.h of tests/esp-idf
 * share: the esp32c3 cross build's (cross/sdkconfig.h) and the host test's
 * (host/include/sdkconfig.h). Each includes this after its own
 * target settings; CONFIG_FOTA_SERVER_URL is the includer's when it sets one.
 */
#pragma once

#ifndef CONFIG_FOTA_SERVER_URL
#define CONFIG_FOTA_SERVER_URL "http://192.168.1.10:8080"
#endif
#define CONFIG_FOTA_PROTOCOL_V1_V2 1
#define CONFIG_FOTA_TASK_STACK_SIZE 8192
#define CONFIG_FOTA_TASK_PRIORITY 5
#define CONFIG_FOTA_CHECK_INTERVAL_S 3600
#define CONFIG_FOTA_HTTP_TIMEOUT_MS 15000
#define CONFIG_FOTA_HTTP_BUFFER_SIZE 1024
#define CONFIG_FOTA_MAX_ATTEMPTS 8
/* the journal store: NVS (default), or the `fota` data partition when the
 * test builds its second variant with -DFOTA_TEST_JOURNAL_PARTITION */
#ifdef FOTA_TEST_JOURNAL_PARTITION
#define CONFIG_FOTA_JOURNAL_PARTITION 1
#else
#define CONFIG_FOTA_JOURNAL_NVS 1
#endif
#define CONFIG_FOTA_NVS_NAMESPACE "fota"
#define CONFIG_FOTA_NVS_JOURNAL_KEY "journal"
#define CONFIG_FOTA_NVS_FLOOR_KEY "floor"
#define CONFIG_FOTA_JOURNAL_PARTITION_LABEL "fota"
#define CONFIG_FOTA_SIGN_PUBKEY ""
#define CONFIG_FOTA_CONFIRM_AFTER_S 0
