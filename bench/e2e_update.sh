#!/usr/bin/env bash
# e2e_update.sh - figures (not assertions) for the whole system on loopback:
#  (a) wall time of one update of a 1,068,032-byte synthetic image (the first
#      fleet's firmware size, 1043 chunks) by fota-device from fota-server,
#      median of 3 runs, each on a freshly provisioned flash file;
#  (b) the server's v1 chunk requests/s from one keep-alive client
#      (bench/chunk_rps, built by CMake as BUILD_DIR/bench/chunk_rps).
# usage: bench/e2e_update.sh BUILD_DIR FIRMWARE_DIR [RPS_SECONDS]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR FIRMWARE_DIR [RPS_SECONDS]" >&2; exit 1; }
BUILD=$(cd "$1" && pwd) FW=$2 SECS=${3:-5}
SERVER_BIN=$BUILD/src/server/fota-server ADMIN_BIN=$BUILD/src/server/fota-admin
DEVICE_BIN=$BUILD/src/sim/fota-device MKIMAGE_BIN=$BUILD/src/sim/fota-mkimage
RPS_BIN=$BUILD/bench/chunk_rps
for f in "$SERVER_BIN" "$ADMIN_BIN" "$DEVICE_BIN" "$MKIMAGE_BIN" "$RPS_BIN"; do
    [ -x "$f" ] || { echo "e2e_update.sh: missing $f (build first)" >&2; exit 1; }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-XXXXXX")
SPID=
cleanup() { [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
export FOTA_ADMIN_TOKEN=bench-token

# warn level: the per-request info log line is not part of what we measure
"$SERVER_BIN" --db "$DIR/db.sqlite" --data "$DIR/data" --master-key-file "$DIR/master.key" \
    --port 0 --port-file "$DIR/port" --log-level warn --rate-device 0 --rate-addr 0 \
    2>"$DIR/server.log" &
SPID=$!
for _ in $(seq 500); do [ -s "$DIR/port" ] && break; sleep 0.02; done
[ -s "$DIR/port" ] || { echo "fota-server did not start" >&2; cat "$DIR/server.log" >&2; exit 1; }
URL=http://127.0.0.1:$(cat "$DIR/port")
export FOTA_SERVER=$URL

"$MKIMAGE_BIN" -o "$DIR/img.bin" --size 1068032 --version 1.4.0 --seed 1 >/dev/null
REL=$("$ADMIN_BIN" --json release add "$DIR/img.bin" --version 1.4.0 | grep -o '"id":[0-9]*' | sed -n '1s/.*://p')
KEY=$("$ADMIN_BIN" device add bench-1 2>/dev/null | sed -n 's/^key: //p')
"$ADMIN_BIN" deploy "$REL" --device bench-1 >/dev/null

for proto in v2 v1; do
    times=()
    for run in 1 2 3; do
        rm -f "$DIR/flash.bin"
        "$DEVICE_BIN" --flash "$DIR/flash.bin" --quiet provision "$FW/esp32-arduino-a.bin" >/dev/null
        t0=$(date +%s.%N)
        "$DEVICE_BIN" --flash "$DIR/flash.bin" --quiet --server "$URL" --id bench-1 --key "$KEY" \
            --protocol $proto update >"$DIR/dev.out"
        t1=$(date +%s.%N)
        grep -q "installed release $REL" "$DIR/dev.out" || { cat "$DIR/dev.out" >&2; exit 1; }
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        own=$(sed -n 's/^update: time_ms=//p' "$DIR/dev.out")
        model=$(sed -n 's/.*model_ms=\([0-9]*\).*/\1/p' "$DIR/dev.out")
        echo "$proto run $run: ${t} s process (update itself ${own} ms; flash model time, not slept: ${model} ms)"
        times+=("$t")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
    echo "e2e: 1068032-byte update over loopback, protocol $proto: $median s (median of 3, whole fota-device run)"
done

# (b) one keep-alive client fetching every chunk of the release, over and over
KEY2=$("$ADMIN_BIN" device add bench-rps 2>/dev/null | sed -n 's/^key: //p')
"$ADMIN_BIN" deploy "$REL" --device bench-rps >/dev/null
"$RPS_BIN" "$URL" bench-rps "$KEY2" "$SECS"
