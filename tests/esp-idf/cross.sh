#!/usr/bin/env bash
# cross.sh - the ESP-IDF component, the core and the example's main.c
# compiled for esp32c3 with -Wall -Wextra -Werror by Debian's
# riscv64-unknown-elf-gcc + libnewlib-dev, against the pinned ESP-IDF v5.4.4
# headers in ../shared/esp-idf (flags, include order and the sys/reent.h
# shim as ../shared/esp-idf/README.md gives them; sdkconfig.h (with the
# port's Kconfig values from tests/esp-idf/sdkconfig_fota.h) and the
# stand-ins for headers missing from that copy are in tests/esp-idf/cross/).
# The port's crypto is the mbedTLS piece it shares with the posix port
# (src/ports/mbedtls/fota_mbedtls.c), compiled here with the port; its
# static asserts check that the SHA-256 and HMAC states fit
# FOTA_HASH_CTX_SIZE with the device's context size.
#
# Then it measures, for esp32c3 at -Os:
#   * text/data/bss of core + port: objects linked with --gc-sections from
#     the example's entry points (app_main, i.e. fota_esp_start_task), and
#     the plain sum of every object (all of the API kept);
#   * the worst stack of the update task (tests/esp-idf/task_stack.py).
# A missing compiler, newlib or ../shared/esp-idf FAILS, naming it.
# usage: tests/esp-idf/cross.sh [ROOT]   (ROOT: the repository, default ../..)
set -euo pipefail
ROOT=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
IDF="$ROOT/../shared/esp-idf/v5.4.4"
CC=riscv64-unknown-elf-gcc
fail() { echo "esp32c3-cross: FAIL $*"; exit 1; }

command -v "$CC" >/dev/null || fail "compiler $CC not found (Debian package gcc-riscv64-unknown-elf; scripts/bootstrap)"
[ -f /usr/include/newlib/stdio.h ] || fail "newlib headers /usr/include/newlib not found (Debian package libnewlib-dev; scripts/bootstrap)"
[ -f "$IDF/components/esp_partition/include/esp_partition.h" ] || fail "ESP-IDF v5.4.4 subset not found at $IDF (../shared/esp-idf)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fota-esp32c3.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

TFLAGS=(-march=rv32imc_zicsr_zifencei -mabi=ilp32 -std=gnu17 -Os
        -ffunction-sections -fdata-sections -fstack-usage -fcallgraph-info=su
        -Wall -Wextra -Werror)
IDFDEFS=(-DESP_PLATFORM -DIDF_VER='"v5.4.4"' '-DMBEDTLS_CONFIG_FILE="mbedtls/esp_config.h"')
IDFINC=()
for d in app_update/include newlib/platform_include spi_flash/include lwip/lwip/src/include \
         mbedtls/port/include mbedtls/mbedtls/include esp_common/include esp_partition/include \
         esp_app_format/include esp_bootloader_format/include bootloader_support/include \
         soc/esp32c3/include esp_http_client/include freertos/FreeRTOS-Kernel/include \
         freertos/config/include/freertos freertos/config/riscv/include \
         freertos/FreeRTOS-Kernel/portable/riscv/include/freertos freertos/config/include \
         esp_hw_support/include riscv/include soc/esp32c3/register esp_rom/include heap/include \
         esp_system/include freertos/esp_additions/include lwip/port/esp32xx/include \
         lwip/port/include lwip/port/freertos/include esp_event/include nvs_flash/include \
         hal/include esp_rom/esp32c3/include log/include esp_timer/include; do
  [ -d "$IDF/components/$d" ] || fail "ESP-IDF include folder components/$d missing from $IDF"
  # -isystem: ESP-IDF's own headers warn under -Wextra (spinlock.h); ours stay -Werror
  IDFINC+=(-isystem "$IDF/components/$d")
done
SHIM=(-I "$ROOT/tests/esp-idf/cross" -I "$ROOT/tests/esp-idf/cross/stand-in")
NEWLIB=(-isystem /usr/include/newlib)

mkdir -p "$TMP/core" "$TMP/port" "$TMP/main"
cd "$ROOT"
# the core: only include/ and itself on its include path, as everywhere
for src in src/core/*.c; do
  "$CC" "${TFLAGS[@]}" -ffreestanding -Iinclude -Isrc/core -c "$src" \
    -o "$TMP/core/$(basename "$src" .c).o" || fail "core: $src does not compile for esp32c3"
done
PORT_SRCS=(src/ports/esp-idf/*.c src/ports/mbedtls/*.c)
for src in "${PORT_SRCS[@]}"; do
  "$CC" "${TFLAGS[@]}" "${IDFDEFS[@]}" "${SHIM[@]}" -Isrc/ports/esp-idf/include -Iinclude \
    -Isrc/ports/mbedtls "${IDFINC[@]}" "${NEWLIB[@]}" -c "$src" \
    -o "$TMP/port/$(basename "$src" .c).o" \
    || fail "port: $src does not compile for esp32c3 against ESP-IDF v5.4.4"
done
"$CC" "${TFLAGS[@]}" "${IDFDEFS[@]}" "${SHIM[@]}" -Isrc/ports/esp-idf/include -Iinclude \
  "${IDFINC[@]}" "${NEWLIB[@]}" -c examples/esp-idf/main/main.c -o "$TMP/main/main.o" \
  || fail "example: examples/esp-idf/main/main.c does not compile for esp32c3"
# the other journal store (Kconfig FOTA_JOURNAL_PARTITION): compiles too
for src in src/ports/esp-idf/*.c examples/esp-idf/main/main.c; do
  "$CC" "${TFLAGS[@]}" -DFOTA_TEST_JOURNAL_PARTITION "${IDFDEFS[@]}" "${SHIM[@]}" \
    -Isrc/ports/esp-idf/include -Iinclude -Isrc/ports/mbedtls "${IDFINC[@]}" "${NEWLIB[@]}" -c "$src" \
    -o "$TMP/fstore.o" || fail "port with CONFIG_FOTA_JOURNAL_PARTITION: $src does not compile"
done
echo "esp32c3-cross: OK core ($(ls src/core/*.c | wc -l) files), port (${#PORT_SRCS[@]} files, the shared mbedTLS piece included) and example main.c compile with -Wall -Wextra -Werror"

# sizes: partial link from the example's entry point, unused sections dropped
OBJS=("$TMP"/core/*.o "$TMP"/port/*.o)
riscv64-unknown-elf-ld -m elf32lriscv -r --gc-sections -u app_main -e app_main \
  -o "$TMP/linked.o" "$TMP/main/main.o" "${OBJS[@]}" || fail "partial link with --gc-sections"
read -r LT LD LB < <(riscv64-unknown-elf-size -t "$TMP/linked.o" | awk 'END{print $1, $2, $3}')
read -r CT CD CB < <(riscv64-unknown-elf-size -t "$TMP"/core/*.o | awk 'END{print $1, $2, $3}')
read -r PT PD PB < <(riscv64-unknown-elf-size -t "$TMP"/port/*.o | awk 'END{print $1, $2, $3}')
echo "esp32c3-cross: linked (--gc-sections from app_main, core+port+main): text=$LT data=$LD bss=$LB"
echo "esp32c3-cross: objects, all functions kept: core text=$CT data=$CD bss=$CB; port text=$PT data=$PD bss=$PB"

# state sizes on the target
printf '#include "fota_esp.h"\nchar s_fota[sizeof(struct fota)];\nchar s_port[sizeof(struct fota_esp)];\n' > "$TMP/state.c"
"$CC" "${TFLAGS[@]}" -fno-common "${IDFDEFS[@]}" "${SHIM[@]}" -Isrc/ports/esp-idf/include -Iinclude \
  "${IDFINC[@]}" "${NEWLIB[@]}" -c "$TMP/state.c" -o "$TMP/state.o" || fail "state sizes"
SF=$((16#$(riscv64-unknown-elf-nm -S "$TMP/state.o" | awk '$4=="s_fota"{print $2}')))
SP=$((16#$(riscv64-unknown-elf-nm -S "$TMP/state.o" | awk '$4=="s_port"{print $2}')))
echo "esp32c3-cross: state: sizeof(struct fota)=$SF, sizeof(struct fota_esp)=$SP (static in the task's .bss, included in bss above)"

# stack of the update task
CORE=$(python3 scripts/footprint-stack.py "$ROOT" include/fota/fota.h "$TMP"/core/*.ci) \
  || { echo "$CORE"; fail "core stack analysis"; }
printf '%s\n' "$CORE" > "$TMP/core-entries.txt"
echo "esp32c3-cross: core deepest chain: $(sed -n 's/^stack=.* chain=//p' <<<"$CORE")"
TS=$(python3 tests/esp-idf/task_stack.py "$ROOT" "$TMP/core-entries.txt" "$TMP"/port/*.ci) \
  || { echo "$TS"; fail "task stack analysis"; }
TOTAL=$(sed -n 's/^stack=\([0-9]*\) .*/\1/p' <<<"$TS")
[ -n "$TOTAL" ] || fail "task stack analysis printed no figure: $TS"
echo "esp32c3-cross: update task stack, our frames: $TOTAL bytes: $(sed 's/^stack=[0-9]* //' <<<"$TS")"
STACK_CFG=$(sed -n 's/^#define CONFIG_FOTA_TASK_STACK_SIZE \([0-9]*\)/\1/p' tests/esp-idf/sdkconfig_fota.h)
[ "$TOTAL" -lt "$STACK_CFG" ] || fail "our frames ($TOTAL) do not fit CONFIG_FOTA_TASK_STACK_SIZE ($STACK_CFG)"
echo "esp32c3-cross: OK ($TOTAL of $STACK_CFG stack bytes are ours; the rest is for esp_http_client/esp-tls/mbedTLS)"
