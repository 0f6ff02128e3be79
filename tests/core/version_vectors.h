/*
 * version_vectors.h - the vectors that pin down the version order of
 * include/fota/version.h. Plain C99 data, no test framework: the cmocka
 * test (test_version.c) runs them on the host, and any other runner (the
 * core's checks on another target) can include this header and loop over
 * the tables the same way.
 *
 * version_pairs: fota_version_cmp(a, b) must give `want` (VV_OLDER: a is
 *   older, VV_SAME, VV_NEWER, VV_UNORDERED: FOTA_ERR_VERSION_UNORDERED),
 *   and the swapped call the opposite. `src` names where the strings come
 *   from: a real project's tags or version strings, the SemVer 2.0.0 spec
 *   (semver.org, with section), the regex test list linked from its FAQ,
 *   or the firmware images of ../shared/firmware.
 * version_chain: strictly increasing, every pair in order.
 * version_ordered / version_unordered: fota_version_ordered() gives 1 / 0.
 */
#ifndef FOTA_TEST_VERSION_VECTORS_H
#define FOTA_TEST_VERSION_VECTORS_H

#define VV_OLDER     (-1)
#define VV_SAME      0
#define VV_NEWER     1
#define VV_UNORDERED 2

struct version_vector {
    const char *a;
    const char *b;
    int want;
    const char *src;
};

static const struct version_vector version_pairs[] = {
    /* the forms of issue 11 */
    {"9036908-dirty", "3.0.0", VV_UNORDERED, "esp32-arduino-b.bin descriptor (Arduino, git hash)"},
    {"9036908-dirty", "0.0.1", VV_UNORDERED, "esp32-arduino-b.bin descriptor (Arduino, git hash)"},
    {"esp-idf: v4.4.4 e8bdaf9198", "3.0.0", VV_UNORDERED, "esp32-arduino-a.bin descriptor"},
    {"esp-idf: v4.4.7 38eeba213a", "esp-idf: v4.4.4 e8bdaf9198", VV_UNORDERED,
     "esp32-arduino-large.bin / -a.bin descriptors"},
    {"qa-test-v5.0-20220830-4-g4532e6", "1.0.0", VV_UNORDERED,
     "esp32s2-idf-blink.bin descriptor (describe of a non-SemVer tag)"},
    {"v1.2.3-14-gabc123", "v1.2.3", VV_NEWER, "git describe: 14 commits after the tag"},
    {"v1.2.3-14-gabc123", "v1.2.4", VV_OLDER, "git describe: before the next tag"},
    {"v1.2.3-14-gabc123", "v1.2.4-rc.1", VV_OLDER, "git describe: before the next pre-release"},
    {"v1.2.3-14-gabc123", "v1.2.3-2-gfff000", VV_NEWER, "git describe: more commits"},
    {"v1.2.3-14-gabc123", "v1.2.3-14-gdef456", VV_UNORDERED, "git describe: two branches"},
    {"v1.2.3-14-gabc123", "v1.2.3-14-gabc1234", VV_SAME, "git describe: longer abbreviation"},
    {"v1.2.3-14-gabc123-dirty", "v1.2.3-14-gabc123", VV_UNORDERED, "git describe --dirty"},
    {"v1.2.3-14-gabc123-dirty", "v1.2.3", VV_NEWER, "git describe --dirty"},
    {"v1.2.3-14-gabc123-dirty", "v1.2.3-14-gabc123-dirty", VV_UNORDERED, "git describe --dirty"},
    {"v1.2.3-dirty", "v1.2.3", VV_UNORDERED, "git describe --dirty on the tag"},
    {"v1.2.3-dirty", "v1.2.4", VV_OLDER, "git describe --dirty on the tag"},
    {"v1.2.3-dirty", "v1.2.2", VV_NEWER, "git describe --dirty on the tag"},
    {"v1.2.3-0-gabc1234", "v1.2.3", VV_SAME, "git describe --long on the tag"},
    {"1.2.3-14-gabc1234", "1.2.3-rc.1", VV_NEWER, "describe suffix is not a pre-release"},
    {"v1.2.4-rc.1-3-g0a1b2c3", "v1.2.4", VV_OLDER, "git describe of a pre-release tag"},
    {"v1.2.4-rc.1-3-g0a1b2c3", "v1.2.4-rc.1", VV_NEWER, "git describe of a pre-release tag"},
    {"1.2.3-14-gab", "1.2.3", VV_UNORDERED, "describe with a 2-digit hash: malformed"},
    {"v1.2.3", "1.2.3", VV_SAME, "leading v"},
    {"V1.2.3", "v1.2.3", VV_SAME, "leading V"},

    /* SemVer 2.0.0 */
    {"1.0.0", "2.0.0", VV_OLDER, "SemVer 2.0.0 section 11.2"},
    {"2.0.0", "2.1.0", VV_OLDER, "SemVer 2.0.0 section 11.2"},
    {"2.1.0", "2.1.1", VV_OLDER, "SemVer 2.0.0 section 11.2"},
    {"1.9.0", "1.10.0", VV_OLDER, "SemVer 2.0.0 section 2"},
    {"1.10.0", "1.11.0", VV_OLDER, "SemVer 2.0.0 section 2"},
    {"1.0.0-alpha", "1.0.0", VV_OLDER, "SemVer 2.0.0 section 11.3"},
    {"1.0.0+20130313144700", "1.0.0", VV_SAME, "SemVer 2.0.0 section 10"},
    {"1.0.0-beta+exp.sha.5114f85", "1.0.0-beta", VV_SAME, "SemVer 2.0.0 section 10"},
    {"1.0.0+21AF26D3----117B344092BD", "1.0.0+20130313144700", VV_SAME,
     "SemVer 2.0.0 section 10"},
    {"1.0.0-alpha+001", "1.0.0-alpha", VV_SAME, "SemVer 2.0.0 section 10"},
    {"1.0.0-0.3.7", "1.0.0-alpha", VV_OLDER, "SemVer 2.0.0 section 9 (numeric < alphanumeric)"},
    {"1.0.0-x.7.z.92", "1.0.0-x-y-z.--", VV_OLDER, "SemVer 2.0.0 section 9"},
    {"1.0.0-alpha.1", "1.0.0-alpha.beta", VV_OLDER, "SemVer 2.0.0 section 11.4.3"},
    {"1.0.0-0A.is.legal", "1.0.0-0", VV_NEWER, "semver.org regex test list"},
    {"99999999999999999999999.999999999999999999.99999999999999999",
     "99999999999999999999999.999999999999999999.99999999999999998", VV_NEWER,
     "semver.org regex test list (numbers past 64 bits)"},
    {"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.2.3", VV_OLDER, "semver.org regex test list"},
    {"01.1.1", "1.1.1", VV_UNORDERED, "semver.org regex test list (leading zero)"},
    {"1.2.3-0123", "1.2.3", VV_UNORDERED, "semver.org regex test list (leading zero)"},
    {"1.2", "1.2.0", VV_UNORDERED, "semver.org regex test list (two parts)"},
    {"1.2.3.DEV", "1.2.3", VV_UNORDERED, "semver.org regex test list"},
    {"9.8.7-whatever+meta+meta", "9.8.7", VV_UNORDERED, "semver.org regex test list"},
    {"1.1.2+.123", "1.1.2", VV_UNORDERED, "semver.org regex test list (empty identifier)"},

    /* real projects */
    {"v5.4.4", "v5.4.3", VV_NEWER, "ESP-IDF tags"},
    {"v5.4.4", "v5.1.6", VV_NEWER, "ESP-IDF tags"},
    {"v5.3.2", "v4.4.8", VV_NEWER, "ESP-IDF tags"},
    {"v5.1-rc2", "v5.1.1", VV_UNORDERED, "ESP-IDF tags (two-part tag)"},
    {"v5.4", "v5.4.1", VV_UNORDERED, "ESP-IDF tags (two-part tag)"},
    {"v5.5-dev-1050-gd1d1c8d9b6", "v5.4.4", VV_UNORDERED, "ESP-IDF master IDF_VER"},
    {"3.0.0-alpha2", "3.0.0-alpha3", VV_OLDER, "Arduino-ESP32 tags"},
    {"3.0.0-alpha3", "3.0.0-rc1", VV_OLDER, "Arduino-ESP32 tags"},
    {"3.0.0-rc1", "3.0.0", VV_OLDER, "Arduino-ESP32 tags"},
    {"2.0.17", "3.0.0-alpha3", VV_OLDER, "Arduino-ESP32 tags"},
    {"3.1.0-RC3", "3.1.0-rc1", VV_OLDER, "Arduino-ESP32 tags (ASCII: upper case first)"},
    {"3.1.0-RC3", "3.1.0", VV_OLDER, "Arduino-ESP32 tags"},
    {"14.2.0.3", "14.2.0", VV_UNORDERED, "Tasmota development builds (four parts)"},
    {"13.4.0", "14.2.0", VV_OLDER, "Tasmota releases"},
    {"2024.6.0", "2024.5.5", VV_NEWER, "ESPHome releases (calendar)"},
    {"2024.12.0", "2024.6.6", VV_NEWER, "ESPHome releases (calendar, numeric)"},
    {"2024.6.0b1", "2024.6.0", VV_UNORDERED, "ESPHome beta (PEP 440, not SemVer)"},
    {"2024.1.0", "2023.12.4", VV_NEWER, "Home Assistant releases (calendar)"},
    {"2024.05.01", "2024.5.1", VV_UNORDERED, "calendar date with leading zeros"},
    {"20240115", "20231201", VV_UNORDERED, "date stamp"},
    {"2024-01-15", "2023-12-01", VV_UNORDERED, "ISO date"},
    {"0.15.0-b3", "0.14.4", VV_NEWER, "WLED releases"},
    {"0.15.0-b3", "0.15.0", VV_OLDER, "WLED releases"},
    {"v1.23.0-preview.6.g3d0b6276f", "v1.22.2", VV_NEWER, "MicroPython build version"},
    {"v1.23.0-preview.6.g3d0b6276f", "v1.23.0", VV_OLDER, "MicroPython build version"},
    {"v3.7.0-rc3", "v3.7.0", VV_OLDER, "Zephyr tags"},
    {"zephyr-v3.5.0", "v3.5.0", VV_UNORDERED, "Zephyr's old tag form"},
    {"v6.7-rc1", "v6.6", VV_UNORDERED, "Linux tags (two parts)"},
    {"6.6.8", "6.6.10", VV_OLDER, "Linux stable releases"},
    {"v20.11.0", "v18.19.0", VV_NEWER, "Node.js releases"},
    {"v0.0.0-20191109021931-daa7c04131f5", "v0.1.0", VV_OLDER, "Go module pseudo-version"},
    {"v1.30.0-alpha.1", "v1.30.0-beta.0", VV_OLDER, "Kubernetes tags"},
    {"1.0.0rc1", "1.0.0", VV_UNORDERED, "PEP 440 pre-release"},
    {"OpenSSL_1_1_1w", "3.0.13", VV_UNORDERED, "OpenSSL tags"},
    {"mega-20240822", "mega-20230623", VV_UNORDERED, "ESPEasy releases"},
    {"2.1.2.1", "2.1.2", VV_UNORDERED, "Marlin releases (four parts)"},
    {"6.9.0", "6.10.0", VV_OLDER, "PlatformIO espressif32 platform"},
    {"", "1.0.0", VV_UNORDERED, "empty version"},
    {"v", "1.0.0", VV_UNORDERED, "only the prefix"},
};

/* SemVer 2.0.0 section 11.4, the spec's own example chain, then releases. */
static const char *const version_chain[] = {
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "v1.0.0-3-g1a2b3c4", "1.0.1", "1.9.0", "1.10.0",
    "2.0.0-rc.1+build.1", "2.0.0", "2.1.1",
};

/* semver.org's regex test list: valid versions (and describe forms). */
static const char *const version_ordered[] = {
    "0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
    "1.0.0-alpha.beta.1", "1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "2.0.0-rc.1+build.123",
    "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "2.0.0+build.1848", "2.0.1-alpha.1227",
    "1.0.0-alpha+beta", "1.2.3----R-S.12.9.1--.12+meta", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "v5.4.4", "v1.2.3-14-gabc123-dirty", "v1.2.3-dirty",
};

/* semver.org's regex test list: invalid versions, and real unordered ones. */
static const char *const version_unordered[] = {
    "1", "1.2", "1.2.3-0123.0123", "+invalid", "-invalid", "-invalid+invalid", "alpha",
    "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "1.0.0-alpha_beta",
    "1.0.0-alpha..", "01.1.1", "1.01.1", "1.1.01", "1.2.3.DEV", "1.0.0-", "1.0.0+",
    "9036908-dirty", "esp-idf: v4.4.4 e8bdaf9198", "v5.1-rc2", "14.2.0.3", "-dirty", "",
};

#define VV_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
