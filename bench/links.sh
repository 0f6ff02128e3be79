#!/usr/bin/env bash
# links.sh - whole updates through emulated links (bench/linkemu), against
# the link's own limit and plain curl. Figures, no assertions.
#
# usage: bench/links.sh BUILD_DIR FIRMWARE_DIR [--quick]
#
# Links (RTT, rate): 20 ms 20 Mbit/s, 300 ms 1 Mbit/s, 600 ms 256 kbit/s.
# Per link, through one linkemu per upstream:
#   limit  = 1,068,032 bytes (the image; protocol overhead not counted) x 8 /
#            rate + 1 RTT
#   curl   = plain curl of the raw image file from nginx (reference)
#   v2     = fota-device --protocol v2 update, wall time (only when the
#            server's check answer carries "protocols")
#   v1     = fota-device --protocol v1 update: measured whole when it takes
#            under V1_FULL_MAX seconds (20 ms link, not in --quick), else a
#            slice of SLICE seconds, extrapolated (see below)
# v1 extrapolation: the server logs each chunk request with a ms timestamp;
# from the slice, per_chunk = (t_last_chunk - t_first_chunk) / (k - 1) and
# startup = t_first_chunk - t_device_start; estimate = startup +
# 1042 x per_chunk + 17 RTT (16 progress reports every 64 chunks and the
# final report are one round trip each and are absent from a short slice).
# Each run starts from a freshly provisioned flash file. curl and v2 run
# LINK_RUNS times per link (default 3): figure = median, with min and max;
# v1 (minutes per update on the slow links) runs once.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR FIRMWARE_DIR [--quick]" >&2; exit 1; }
BUILD=$(cd "$1" && pwd) FW=$2 QUICK=0
[ "${3:-}" = "--quick" ] && QUICK=1
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER_BIN=$BUILD/src/server/fota-server ADMIN_BIN=$BUILD/src/server/fota-admin
DEVICE_BIN=$BUILD/src/sim/fota-device MKIMAGE_BIN=$BUILD/src/sim/fota-mkimage
LINK_BIN=$BUILD/bench/linkemu
for f in "$SERVER_BIN" "$ADMIN_BIN" "$DEVICE_BIN" "$MKIMAGE_BIN" "$LINK_BIN"; do
    [ -x "$f" ] || { echo "links: missing $f (build first)" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-links-XXXXXX")
trap 'bench_cleanup; rm -rf "$DIR"' EXIT
SIZE=1068032 TOTAL=1043
if [ $QUICK = 1 ]; then SLICE=6 V1_FULL_MAX=0; else SLICE=15 V1_FULL_MAX=60; fi
LINK_RUNS=${LINK_RUNS:-3}
LINKS=("20 20000" "300 1000" "600 256")

start_server "$DIR/srv" info || exit 1
"$MKIMAGE_BIN" -o "$DIR/img.bin" --size $SIZE --version 1.4.0 --seed 1 >/dev/null
if [ -f "$FW/esp32-arduino-a.bin" ]; then BASE=$FW/esp32-arduino-a.bin
else "$MKIMAGE_BIN" -o "$DIR/base.bin" --size 65536 --version 1.0.0 --seed 2 >/dev/null; BASE=$DIR/base.bin; fi
REL=$(release_add "$DIR/img.bin" 1.4.0)
KEY=$(device_add bench-link)
admin deploy "$REL" --device bench-link >/dev/null
TOK=$(device_token "$KEY" bench-link)
mkdir -p "$DIR/www" && cp "$DIR/img.bin" "$DIR/www/img.bin"
chmod a+rx "$DIR" && chmod -R a+rX "$DIR/www"
start_nginx "$DIR/nginx" "$DIR/www" || exit 1

V2=0
curl -s -H "X-Device-Id: bench-link" -H "X-Device-Token: $TOK" \
    "$SURL/api/inverter/fota/check?version=bench" | grep -q '"protocols"' && V2=1

# link UPSTREAM_PORT RTT KBIT NAME: starts linkemu, sets LPORT
link() {
    rm -f "$DIR/$4.port"
    "$LINK_BIN" --listen-port-file "$DIR/$4.port" --upstream "127.0.0.1:$1" --rtt-ms "$2" \
        --rate-kbit "$3" --max-seconds 1200 &
    BENCH_PIDS+=("$!")
    wait_file "$DIR/$4.port" || { echo "linkemu did not start" >&2; exit 1; }
    LPORT=$(cat "$DIR/$4.port")
    LINK_PIDS+=("$!")
}
LINK_PIDS=()
now() { date +%s.%N; }
# device PROTO PORT [DEADLINE]: one update from a fresh flash; prints seconds
device() {
    rm -f "$DIR/flash.bin"
    "$DEVICE_BIN" --flash "$DIR/flash.bin" --quiet provision "$BASE" >/dev/null || return 1
    local t0 t1 rc
    t0=$(now)
    timeout -s TERM "${3:-900}" "$DEVICE_BIN" --flash "$DIR/flash.bin" --quiet \
        --server "http://127.0.0.1:$2" --id bench-link --key "$KEY" --protocol "$1" update \
        >"$DIR/dev.out" 2>&1
    rc=$?
    t1=$(now)
    echo "$t0" >"$DIR/t0"
    # the update's own time as the device measures it (check to installed),
    # without the simulated power-on; the process wall time otherwise
    local ms
    ms=$(sed -n 's/^update: time_ms=\([0-9]*\)$/\1/p' "$DIR/dev.out" | tail -1)
    if [ -n "$ms" ] && [ $rc = 0 ]; then
        awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }'
    else
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
    fi
    return $rc
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# seconds since the epoch of the server log's ISO timestamps
log_chunks() { # START_EPOCH -> "k t_first t_last" of bench-link chunk requests after START
    python3 - "$DIR/srv/server.log" "$1" <<'EOF'
import sys, datetime
start = float(sys.argv[2]); ts = []
for line in open(sys.argv[1]):
    if " GET /api/inverter/fota/chunk bench-link 200 " not in line: continue
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
    if t >= start - 0.01: ts.append(t)
print(len(ts), ts[0] if ts else 0, ts[-1] if ts else 0)
EOF
}

SUMMARY=()
for l in "${LINKS[@]}"; do
    read -r RTT KBIT <<<"$l"
    name="${RTT}ms/${KBIT}kbit"
    limit=$(awk -v s=$SIZE -v k="$KBIT" -v r="$RTT" 'BEGIN { printf "%.2f", s * 8 / (k * 1000) + r / 1000 }')
    link "$NPORT" "$RTT" "$KBIT" "n$RTT"; NL=$LPORT
    link "$SPORT" "$RTT" "$KBIT" "s$RTT"; SL=$LPORT
    cts=()
    for _ in $(seq "$LINK_RUNS"); do
        c=$(curl -s -o /dev/null -w '%{time_total} %{size_download}' "http://127.0.0.1:$NL/img.bin")
        cts+=("${c% *}")
    done
    read -r ct ct_lo ct_hi <<<"$(stats "${cts[@]}")"
    echo "links $name: limit $limit s ($SIZE image bytes x 8 / rate + 1 RTT); curl median ${ct} s (${ct_lo}..${ct_hi}, $LINK_RUNS runs, ${c#* } bytes), ratio $(ratio "$ct" "$limit")"
    if [ $V2 = 1 ]; then
        t2s=() t2=""
        for _ in $(seq "$LINK_RUNS"); do
            if t=$(device v2 "$SL"); then t2s+=("$t"); else
                t2=fail; echo "links $name: v2 update failed: $(tail -2 "$DIR/dev.out")"; break; fi
        done
        if [ -z "$t2" ]; then
            read -r t2 t2_lo t2_hi <<<"$(stats "${t2s[@]}")"
            r2=$(ratio "$t2" "$limit")
            v=$(awk -v r="$r2" 'BEGIN { print (r <= 1.15) ? "met" : "NOT met" }')
            echo "links $name: v2 median $t2 s (${t2_lo}..${t2_hi}, $LINK_RUNS runs), ratio to limit $r2 (target <= 1.15: $v); $(grep -o 'chunks_fetched=[0-9]*' "$DIR/dev.out" | head -1)"
        else
            r2=- t2_lo=- t2_hi=-
        fi
    else
        t2="n/a" r2="n/a"
        echo "links $name: v2: server has no stream endpoint yet"
    fi
    full_est=$(awk -v r="$RTT" -v k="$KBIT" 'BEGIN { print (1043 * (r / 1000 + 1500 * 8 / (k * 1000))) }')
    if awk -v e="$full_est" -v m=$V1_FULL_MAX 'BEGIN { exit !(e < m) }'; then
        t1=$(device v1 "$SL") || echo "links $name: v1 update failed: $(tail -2 "$DIR/dev.out")"
        how="measured"
        DEV_T0=$(cat "$DIR/t0"); read -r k f la <<<"$(log_chunks "$DEV_T0")"
        est=$(awk -v k="$k" -v f="$f" -v la="$la" -v t0="$DEV_T0" -v r="$RTT" 'BEGIN {
            if (k < 2) { print "n/a"; exit } printf "%.2f", (f - t0) + 1042 * (la - f) / (k - 1) + 17 * r / 1000 }')
        how="measured; the extrapolation rule on this run's chunks would say $est s"
    else
        device v1 "$SL" "$SLICE" >/dev/null
        DEV_T0=$(cat "$DIR/t0"); read -r k f la <<<"$(log_chunks "$DEV_T0")"
        t1=$(awk -v k="$k" -v f="$f" -v la="$la" -v t0="$DEV_T0" -v r="$RTT" 'BEGIN {
            if (k < 2) { print "n/a"; exit } printf "%.2f", (f - t0) + 1042 * (la - f) / (k - 1) + 17 * r / 1000 }')
        how="extrapolated from $k chunks in a ${SLICE}-s slice: startup $(awk -v f="$f" -v t="$DEV_T0" 'BEGIN{printf "%.2f", f - t}') s + 1042 x $(awk -v k="$k" -v f="$f" -v la="$la" 'BEGIN{ if (k > 1) printf "%.3f", (la - f) / (k - 1) }') s/chunk + 17 RTT"
    fi
    r1=$(awk -v a="$t1" -v b="$limit" 'BEGIN { if (a + 0 > 0) printf "%.2f", a / b; else print "n/a" }')
    echo "links $name: v1 $t1 s ($how), ratio to limit $r1"
    for p in "${LINK_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    LINK_PIDS=()
    echo "RESULT link=$name limit_s=$limit curl_s=$ct curl_min=$ct_lo curl_max=$ct_hi v2_s=$t2 v2_min=${t2_lo:-n/a} v2_max=${t2_hi:-n/a} v2_ratio=$r2 v1_s=$t1 v1_ratio=$r1 runs=$LINK_RUNS"
done
