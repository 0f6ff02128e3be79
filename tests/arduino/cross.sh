#!/usr/bin/env bash
# cross.sh - the Arduino library (src/ports/arduino) as arduino-cli builds
# it, for an esp32c3 board: scripts/arduino-lib assembles the library
# folder; every .c under its src/ is compiled with riscv64-unknown-elf-gcc,
# FOTA.cpp and the three examples (.ino, with `#include <Arduino.h>` put
# first, as the Arduino builder does) with riscv64-unknown-elf-g++ (Debian
# 12's gcc-riscv64-unknown-elf ships g++ and cc1plus; no libstdc++ is
# needed: -fno-exceptions -fno-rtti, C headers only), all with
# -Wall -Wextra -Werror and only the library's src/ folder on the include
# path besides ESP-IDF v5.4.4's headers (../shared/esp-idf), newlib, and
# tests/arduino/stand-in (Arduino.h, WiFi.h) and cross-sdkconfig (an Arduino-style sdkconfig.h
# without CONFIG_FOTA_*: port-boundary stand-ins, not Arduino's code).
# Then `nm` must show verifyRollbackLater defined with C linkage (T, not
# mangled): Arduino's initArduino() calls that name.
# A missing compiler, newlib or ../shared/esp-idf FAILS, naming it.
# usage: tests/arduino/cross.sh [ROOT]
set -euo pipefail
ROOT=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
IDF="$ROOT/../shared/esp-idf/v5.4.4"
CC=riscv64-unknown-elf-gcc CXX=riscv64-unknown-elf-g++ NM=riscv64-unknown-elf-nm
fail() { echo "arduino-cross: FAIL $*"; exit 1; }

for t in "$CC" "$CXX" "$NM"; do
  command -v "$t" >/dev/null || fail "$t not found (Debian package gcc-riscv64-unknown-elf / binutils-riscv64-unknown-elf; scripts/bootstrap)"
done
[ -f /usr/include/newlib/stdio.h ] || fail "newlib headers /usr/include/newlib not found (Debian package libnewlib-dev; scripts/bootstrap)"
[ -f "$IDF/components/esp_partition/include/esp_partition.h" ] || fail "ESP-IDF v5.4.4 subset not found at $IDF (../shared/esp-idf)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fota-arduino.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
"$ROOT/scripts/arduino-lib" "$TMP/out" >/dev/null || fail "scripts/arduino-lib"
LIB=$TMP/out/FOTA
grep -qx 'architectures=esp32' "$LIB/library.properties" || fail "library.properties: architectures=esp32 missing"

ARCH=(-march=rv32imc_zicsr_zifencei -mabi=ilp32 -Os -ffunction-sections -fdata-sections
      -Wall -Wextra -Werror)
DEFS=(-DESP_PLATFORM -DARDUINO=10819 -DARDUINO_ARCH_ESP32 -DIDF_VER='"v5.4.4"'
      '-DMBEDTLS_CONFIG_FILE="mbedtls/esp_config.h"')
# ESP-IDF include folders: those of tests/esp-idf/cross.sh (Arduino-ESP32
# puts every ESP-IDF component's include folder on the path)
# tests/esp-idf/cross: its sys/reent.h shim (../shared/esp-idf/README.md);
# its sdkconfig.h is shadowed by the Arduino-style one in cross-sdkconfig/
INC=(-I "$ROOT/tests/arduino/cross-sdkconfig" -I "$ROOT/tests/arduino/stand-in" -I "$LIB/src"
     -I "$ROOT/tests/esp-idf/cross")
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
  INC+=(-isystem "$IDF/components/$d")
done
INC+=(-isystem /usr/include/newlib)

mkdir -p "$TMP/obj"
n=0
while IFS= read -r src; do
  o=$TMP/obj/$(echo "${src#"$LIB"/src/}" | tr / _).o
  "$CC" "${ARCH[@]}" -std=gnu17 "${DEFS[@]}" "${INC[@]}" -c "$src" -o "$o" \
    || fail "library: ${src#"$LIB"/} does not compile for esp32c3"
  n=$((n + 1))
done < <(find "$LIB/src" -name '*.c' | sort)
CXXFLAGS=(-std=gnu++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics)
"$CXX" "${ARCH[@]}" "${CXXFLAGS[@]}" "${DEFS[@]}" "${INC[@]}" -c "$LIB/src/FOTA.cpp" \
  -o "$TMP/obj/FOTA.o" || fail "library: src/FOTA.cpp does not compile for esp32c3"
echo "arduino-cross: OK library: $n C sources and FOTA.cpp compile for esp32c3 with -Wall -Wextra -Werror"
for ex in "$LIB"/examples/*/; do
  name=$(basename "$ex")
  [ -f "$ex/$name.ino" ] || fail "example $name: no $name.ino"
  { echo '#include <Arduino.h>'; echo "#line 1 \"$name.ino\""; cat "$ex/$name.ino"; } > "$TMP/$name.cpp"
  "$CXX" "${ARCH[@]}" "${CXXFLAGS[@]}" "${DEFS[@]}" "${INC[@]}" -c "$TMP/$name.cpp" \
    -o "$TMP/obj/ex_$name.o" || fail "example $name does not compile for esp32c3"
  # a sketch must define setup() and loop(), unmangled as the Arduino core calls them
  "$NM" "$TMP/obj/ex_$name.o" | grep -q ' T _Z5setupv$' || fail "example $name: no setup()"
  "$NM" "$TMP/obj/ex_$name.o" | grep -q ' T _Z4loopv$' || fail "example $name: no loop()"
  echo "arduino-cross: OK example $name compiles"
done
[ "$(ls -d "$LIB"/examples/*/ | wc -l)" -ge 3 ] || fail "fewer than three examples"

# Arduino-ESP32's initArduino() looks for the C symbol verifyRollbackLater
SYM=$("$NM" "$TMP/obj/FOTA.o" | sed -n '/verifyRollbackLater/p') # empty when absent: checked below
echo "arduino-cross: nm FOTA.o: ${SYM:-<no verifyRollbackLater>}"
grep -Eq '^[0-9a-f]+ T verifyRollbackLater$' <<<"$SYM" ||
  fail "verifyRollbackLater is not defined with C linkage in FOTA.o (nm: '${SYM:-nothing}'): initArduino() would confirm a new image before setup()"
echo "arduino-cross: OK verifyRollbackLater defined with C linkage (T, unmangled)"
