#!/usr/bin/env bash
# delta.sh - the figures of docs/delta.md: patch size against the full image
# for each pair (synthetic app revisions from fota-mkimage --app-rev, and the
# real images of FIRMWARE_DIR), the same pairs through Debian's bsdiff, the
# compressed size of each real image against gzip -9 and xz -9, the host
# time to make and apply each patch, and the patcher's code size, RAM and
# stack on Cortex-M4 and RV32IMC (arm-none-eabi-gcc / riscv64-unknown-elf-gcc
# -Os). detools is looked for in Debian (apt-cache) and npm (npm view) and
# reported as absent when it is. Figures only; nothing is asserted.
# usage: bench/delta.sh BUILD_DIR FIRMWARE_DIR
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR FIRMWARE_DIR" >&2; exit 1; }
BUILD=$(cd "$1" && pwd) FW=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=$BUILD/src/sim/fota-patch M=$BUILD/src/sim/fota-mkimage
for b in "$P" "$M"; do [ -x "$b" ] || { echo "delta.sh: missing $b (make build)" >&2; exit 1; }; done
command -v bsdiff >/dev/null || { echo "delta.sh: bsdiff missing (scripts/bootstrap --bench)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-delta-XXXXXX")
trap 'rm -rf "$T"' EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }

for r in 0 1 2 3 4; do
    "$M" -o "$T/app$r.bin" --size 1M --app-rev $r --version 1.0.$r >/dev/null
done
echo "### Patch size per pair (ours: fota-patch delta; bsdiff 4.3 from Debian)"
echo
echo "| pair | change | full image | delta | delta / full | bsdiff | bsdiff / full | make | apply |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
pair() { # NAME CHANGE OLD NEW
    local full t0 tm ta d b
    full=$(stat -c %s "$4")
    t0=$(date +%s%N); "$P" delta "$3" "$4" -o "$T/d" >/dev/null; tm=$(ms "$t0")
    t0=$(date +%s%N); "$P" apply --base "$3" "$T/d" -o "$T/out" >/dev/null; ta=$(ms "$t0")
    cmp -s "$T/out" "$4" || { echo "delta.sh: $1: the patch does not make the image" >&2; exit 1; }
    d=$(stat -c %s "$T/d")
    bsdiff "$3" "$4" "$T/b"; b=$(stat -c %s "$T/b")
    echo "| $1 | $2 | $full | $d | $(pct "$d" "$full") | $b | $(pct "$b" "$full") | ${tm} ms | ${ta} ms |"
}
pair "app 1.0.0 -> 1.0.1" "constants changed" "$T/app0.bin" "$T/app1.bin"
pair "app 1.0.1 -> 1.0.2" "a function edited, code after it shifted" "$T/app1.bin" "$T/app2.bin"
pair "app 1.0.2 -> 1.0.3" "functions moved" "$T/app2.bin" "$T/app3.bin"
pair "app 1.0.3 -> 1.0.4" "a segment grown" "$T/app3.bin" "$T/app4.bin"
pair "app 1.0.0 -> 1.0.4" "all of the above" "$T/app0.bin" "$T/app4.bin"
pair "esp32-arduino-a -> b" "real: two different sketches, IDF 4.4.4 -> 3.3.5" "$FW/esp32-arduino-a.bin" "$FW/esp32-arduino-b.bin"
pair "esp32-arduino-b -> a" "real: the other way" "$FW/esp32-arduino-b.bin" "$FW/esp32-arduino-a.bin"
pair "esp32-arduino-a -> large" "real: another sketch, IDF 4.4.7" "$FW/esp32-arduino-a.bin" "$FW/esp32-arduino-large.bin"
echo
echo "### Compressed full images (ours: fota-patch compress, 4 KB window, no entropy coder)"
echo
echo "| image | size | ours | ours / size | gzip -9 | xz -9 | make | apply |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for f in "$FW"/esp32*.bin "$T/app4.bin"; do
    full=$(stat -c %s "$f")
    t0=$(date +%s%N); "$P" compress "$f" -o "$T/z" >/dev/null; tm=$(ms "$t0")
    t0=$(date +%s%N); "$P" apply "$T/z" -o "$T/out" >/dev/null; ta=$(ms "$t0")
    cmp -s "$T/out" "$f" || { echo "delta.sh: $f: compressed stream does not make the image" >&2; exit 1; }
    z=$(stat -c %s "$T/z") g=$(gzip -9c "$f" | wc -c) x=$(xz -9c "$f" | wc -c)
    name=$(basename "$f"); [ "$f" = "$T/app4.bin" ] && name="synthetic app 1.0.4"
    echo "| $name | $full | $z | $(pct "$z" "$full") | $g ($(pct "$g" "$full")) | $x ($(pct "$x" "$full")) | ${tm} ms | ${ta} ms |"
done
echo
echo "### The patcher on the device (src/core/patch.c, -Os)"
echo
cat >"$T/sz.c" <<'C'
#include "fota/patch.h"
char patch_state_size[sizeof(struct fota_patch)];
C
echo "| target | code (text) | RAM: struct fota_patch | stack of fota_patch_feed (+ io callbacks) |"
echo "|---|---:|---:|---:|"
for t in "cortex-m4 arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb" \
         "rv32imc riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32 --specs=picolibc.specs"; do
    set -- $t
    name=$1 cc=$2; shift 2
    if ! command -v "$cc" >/dev/null; then echo "| $name | $cc missing | | |"; continue; fi
    "$cc" "$@" -Os -ffreestanding -fno-builtin -fstack-usage -I"$ROOT/include" -I"$ROOT/src/core" \
        -c "$ROOT/src/core/patch.c" -o "$T/patch.o" || continue
    "$cc" "$@" -Os -I"$ROOT/include" -c "$T/sz.c" -o "$T/sz.o" || continue
    text=$(size -A "$T/patch.o" 2>/dev/null | awk '$1 ~ /^\.text/ { s += $2 } END { print s }')
    [ -n "$text" ] || text=$("${cc%gcc}size" "$T/patch.o" | awk 'NR == 2 { print $1 }')
    ram=$("${cc%gcc}nm" -S "$T/sz.o" | awk '/patch_state_size/ { print $2 }')
    ram=$((16#${ram:-0}))
    feed=$(awk -F'\t' '/fota_patch_feed/ { print $2 }' "$T/patch.su")
    gen=$(awk -F'\t' '/generate/ { print $2 }' "$T/patch.su")
    echo "| $name | $text B | $ram B | ${feed:-?} B$([ -n "$gen" ] && echo " (+ generate $gen B)") |"
done
echo
echo "### detools"
echo
if apt-cache show detools >/dev/null 2>&1 || apt-cache show python3-detools >/dev/null 2>&1; then
    echo "detools is packaged in Debian: not compared here yet."
else
    echo "detools: not packaged in Debian ($(. /etc/os-release; echo "$PRETTY_NAME"): apt-cache show detools / python3-detools find nothing)."
fi
if command -v npm >/dev/null && npm view detools name >/dev/null 2>&1; then
    echo "detools is on npm."
else
    echo "detools: not on npm (npm view detools: 404), so it is not compared; bsdiff stands in."
fi
