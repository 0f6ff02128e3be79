#!/usr/bin/env bash
# lf_campaign.sh - the link-fault campaign (docs/linkfault.md).
#
#   lf_campaign.sh SERVER_DIR DEVICE_DIR LINKFAULT_DIR FIRMWARE_DIR [MODE [SEED]]
#
# SERVER_DIR holds fota-server and fota-admin, DEVICE_DIR fota-device and
# fota-mkimage, LINKFAULT_DIR faultproxy and lf_device. MODE:
#   campaign (default)  seeds LF_SEEDS (default 1..60) at LF_RATE percent
#                       (default 15), LF_JOBS at a time (default 2), then the
#                       rate-100 backoff run, the fota-device CLI run and the
#                       esp32-arduino-b.bin run
#   seed N              replay one campaign seed, verbose, temp folder kept
#   stale204            the known-bug case: every status answer duplicated,
#                       so chunk 0 reads a stale 204 (fails until fixed)
# Each run gets a fresh fota-server on a fresh temp folder.
set -uo pipefail
[ $# -ge 4 ] || { echo "usage: $0 SERVER_DIR DEVICE_DIR LINKFAULT_DIR FIRMWARE_DIR [MODE [SEED]]" >&2; exit 1; }
SRV_BIN=$1/fota-server ADMIN_BIN=$1/fota-admin DEVICE_BIN=$2/fota-device MKIMAGE_BIN=$2/fota-mkimage
PROXY_BIN=$3/faultproxy LFDEV_BIN=$3/lf_device FW=$4
MODE=${5:-campaign} ONE_SEED=${6:-}
for f in "$SRV_BIN" "$ADMIN_BIN" "$DEVICE_BIN" "$MKIMAGE_BIN" "$PROXY_BIN" "$LFDEV_BIN"; do
    [ -x "$f" ] || { echo "FAIL: not an executable: $f" >&2; exit 1; }
done
RATE=${LF_RATE:-15}
JOBS=${LF_JOBS:-2}
SEEDS=${LF_SEEDS:-$(seq -s ' ' 1 60)}
# protocol v2 seeds: one stream per attempt, faults on the stream itself
# (no JSON to flip: resets, truncation, error statuses, stalls, drips, dups)
V2_SEEDS=${LF_V2_SEEDS:-$(seq -s ' ' 61 80)}
V2_KINDS=reset,trunc,500,503,429,stall,drip,dup
IMG_SIZE=${LF_IMAGE_SIZE:-200000}
OTA1=$((0x150000)) SLOT=$((0x140000))
# device settings of every run: small backoff, 1 s idle timeout (the proxy
# stalls 1.5 s), 8 attempts in a row
DEV_OPTS=(--max-attempts 8 --backoff-ms 5 --timeout-ms 1000)
PROXY_OPTS=(--max-stall 1 --max-drip 1 --drip-bytes 6 --stall-ms 1500 --max-seconds 300)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-linkfault-XXXXXX")
SPID=
export FOTA_ADMIN_TOKEN=linkfault-admin-token
unset FOTA_SERVER
[ "$MODE" = seed ] && LF_KEEP=1

cleanup() {
    local rc=$?
    [ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
    jobs -p | xargs -r kill 2>/dev/null
    wait 2>/dev/null
    if [ "${LF_KEEP:-0}" = 1 ]; then echo "linkfault: temp folder kept: $DIR" >&2; else rm -rf "$DIR"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "FAIL: linkfault: $*" >&2; [ -f "$DIR/server.log" ] && tail -5 "$DIR/server.log" >&2; exit 1; }
now() { date +%s.%N; }

start_server() {
    local i=0 extra=()
    # the server's own rate limits would add 429s the proxy did not inject
    "$SRV_BIN" --help 2>&1 | grep -q -- --rate-device && extra+=(--rate-device 0)
    "$SRV_BIN" --help 2>&1 | grep -q -- --rate-addr && extra+=(--rate-addr 0)
    "$SRV_BIN" --db "$DIR/db.sqlite" --data "$DIR/data" --master-key-file "$DIR/master.key" \
        --port 0 --port-file "$DIR/port" --log-level warn "${extra[@]}" 2>>"$DIR/server.log" &
    SPID=$!
    while [ ! -s "$DIR/port" ]; do
        i=$((i + 1)); [ $i -le 500 ] || die "fota-server did not start"
        kill -0 "$SPID" 2>/dev/null || die "fota-server exited at start"
        sleep 0.02
    done
    PORT=$(cat "$DIR/port")
    export FOTA_SERVER=http://127.0.0.1:$PORT
}

# add_device ID: register ID, key into $DIR/keys/ID
add_device() {
    local out
    mkdir -p "$DIR/keys"
    out=$("$ADMIN_BIN" device add "$1" 2>/dev/null) || die "fota-admin device add $1"
    sed -n 's/^key: \([0-9a-f]\{64\}\)$/\1/p' <<<"$out" >"$DIR/keys/$1"
    [ -s "$DIR/keys/$1" ] || die "device add $1 printed no key"
}

# add_release FILE VERSION DEVICE...: upload, deploy to the devices
add_release() {
    local file=$1 ver=$2 out id args=() d
    shift 2
    out=$("$ADMIN_BIN" --json release add "$file" --version "$ver") || die "release add $file"
    id=$(grep -o '"id":[0-9]*' <<<"$out" | sed -n '1s/.*://p')
    [ -n "$id" ] || die "release add $file gave no id: $out"
    for d in "$@"; do args+=(--device "$d"); done
    "$ADMIN_BIN" deploy "$id" "${args[@]}" >/dev/null || die "deploy $id"
}

# start_proxy RUNDIR SEED ARGS...: sets PXPID, PXURL
start_proxy() {
    local rd=$1 seed=$2 i=0
    shift 2
    "$PROXY_BIN" --listen-port-file "$rd/proxy.port" --upstream "127.0.0.1:$PORT" --seed "$seed" \
        --log "$rd/proxy.log" "$@" 2>"$rd/proxy.err" &
    PXPID=$!
    while [ ! -s "$rd/proxy.port" ]; do
        i=$((i + 1)); [ $i -le 500 ] || return 1
        kill -0 "$PXPID" 2>/dev/null || return 1
        sleep 0.01
    done
    PXURL=http://127.0.0.1:$(cat "$rd/proxy.port")
}
stop_proxy() { kill "$PXPID" 2>/dev/null; wait "$PXPID" 2>/dev/null; }

# check_flash FLASH IMAGE: ota_1 holds IMAGE, the rest of the slot is 0xFF;
# prints what differs
check_flash() {
    local len
    len=$(stat -c %s "$2")
    cmp -s <(dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip=$OTA1 count="$len" status=none) "$2" ||
        { echo "ota_1 differs from $(basename "$2")"; return 1; }
    [ "$(dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip=$((OTA1 + len)) count=$((SLOT - len)) status=none |
        tr -d '\377' | wc -c)" = 0 ] || { echo "ota_1 past the image is not blank"; return 1; }
}

# faults_summary LOG: "N (kind n, ...)"; sets NF, LOWER (faults every device
# must see as a failed attempt: on check/chunk/stream requests, not masked by a stale
# answer), UPPER (every fault on those requests plus every duplicate)
faults_summary() {
    local log=$1 k n parts=()
    NF=$(grep ' fault=' "$log" | grep -vc ' fault=none')
    for k in reset trunc flip flipbad hmac 500 503 429 stall drip dup; do
        n=$(grep -c " fault=$k\( \|$\)" "$log")
        [ "$n" -gt 0 ] && parts+=("$k $n")
    done
    LOWER=$(grep -E '(/check|/chunk|/stream)' "$log" | grep -E ' fault=(reset|trunc|flip|flipbad|hmac|500|503|429|stall)( |$)' |
        grep -vc '+stale')
    UPPER=$(( $(grep -E '(/check|/chunk|/stream)' "$log" | grep ' fault=' | grep -vc ' fault=none') +
              $(grep -c ' fault=dup' "$log") ))
    local IFS=,
    FSUM="$NF${parts:+ (${parts[*]})}"
    FSUM=${FSUM//,/, }
}

# run_seed SEED: one campaign run; writes $DIR/s$SEED/result
# ("ok|fail faults retries ops kinds...") and prints the seed's line
run_seed() {
    local s=$1 rd=$DIR/s$1 t0 t1 rc=0 out retries cr ops why="" v2=0 popt=() dopt=(--protocol v1)
    [[ " $V2_SEEDS " == *" $s "* ]] && v2=1 popt=(--kinds "$V2_KINDS" --only /stream) dopt=(--protocol v2)
    mkdir -p "$rd"
    t0=$(now)
    start_proxy "$rd" "$s" --rate "$([ $v2 = 1 ] && echo "${LF_V2_RATE:-40}" || echo "$RATE")" "${popt[@]}" "${PROXY_OPTS[@]}" || { echo "FAIL seed=$s: proxy did not start"; echo fail >"$rd/result"; return 1; }
    "$LFDEV_BIN" --server "$PXURL" --id "lf-$s" --key "$(cat "$DIR/keys/lf-$s")" --running "$DIR/a.bin" \
        --release "$DIR/b.bin" "${DEV_OPTS[@]}" "${dopt[@]}" --flash-out "$rd/flash.bin" >"$rd/dev.out" 2>"$rd/dev.err" || rc=$?
    stop_proxy
    t1=$(now)
    out=$(grep '^lf_device: result=' "$rd/dev.out")
    retries=$(sed -n 's/.* retries=\([0-9]*\).*/\1/p' <<<"$out")
    cr=$(sed -n 's/.* check_retries=\([0-9]*\).*/\1/p' <<<"$out")
    ops=$(sed -n 's/.* program_ops_checked=\([0-9]*\).*/\1/p' <<<"$out")
    retries=$(( ${retries:-0} + ${cr:-0} ))
    faults_summary "$rd/proxy.log"
    [ $rc = 0 ] || why="$(grep FAIL "$rd/dev.out" | head -2 | tr '\n' ' ')(lf_device exit $rc)"
    [ -z "$why" ] && ! grep -q 'result=installed' <<<"$out" && why="no result line"
    [ -z "$why" ] && { why=$(check_flash "$rd/flash.bin" "$DIR/b.bin") || true; }
    # attempt accounting, v1 and v2 alike: every fault on a check, chunk or
    # stream answer not masked by a stale one costs an attempt (LOWER), and
    # no attempt is lost without a fault to explain it (UPPER); a v2 stream
    # is one request per attempt, so a fault on it is one failed attempt
    [ -z "$why" ] && [ "$retries" -lt "$LOWER" ] && why="retries=$retries but $LOWER faults must each have cost an attempt"
    [ -z "$why" ] && [ "$retries" -gt "$UPPER" ] && why="retries=$retries, more than the $UPPER faults that could explain them"
    [ -z "$why" ] && [ "$NF" -gt 0 ] && [ "$LOWER" -gt 0 ] && [ "$retries" = 0 ] && why="faults injected but no retry"
    if [ -z "$why" ]; then
        printf 'seed %d%s: faults=%s retries=%d ok %.1f s\n' "$s" "$([ $v2 = 1 ] && echo ' (v2)')" "$FSUM" "$retries" "$(echo "$t1 - $t0" | bc)"
        echo "ok $NF $retries ${ops:-0}" >"$rd/result"
        grep ' fault=' "$rd/proxy.log" | grep -v ' fault=none' | sed 's/.* fault=\([a-z0-9]*\).*/\1/' >"$rd/kinds"
        [ "${LF_KEEP:-0}" = 1 ] || rm -f "$rd/flash.bin"
        return 0
    fi
    printf 'FAIL seed=%d faults=%s retries=%d: %s (replay: tests/linkfault/run_seed.sh %d)\n' "$s" "$FSUM" "$retries" "$why" "$s"
    tail -3 "$rd/dev.err" | sed 's/^/    /'
    echo "fail $NF $retries ${ops:-0}" >"$rd/result"
    return 1
}

# rate 100 on chunk requests, 5 attempts: must end in retries_exhausted with
# nothing written, each gap between attempts at least its minimum (d/2, doubling), with jitter
run_backoff() {
    local rd=$DIR/r100 rc=0 base=50 max=5 out why="" ts gaps=() i lo hi g f fmin=2 fmax=-1
    mkdir -p "$rd"
    start_proxy "$rd" 100 --rate 100 --only /chunk --kinds reset,trunc,flip,flipbad,hmac,500,503,429 \
        --max-seconds 60 || die "proxy did not start"
    "$LFDEV_BIN" --server "$PXURL" --id lf-r100 --key "$(cat "$DIR/keys/lf-r100")" --running "$DIR/a.bin" \
        --release "$DIR/b.bin" --max-attempts $max --backoff-ms $base --timeout-ms 1000 \
        --expect retries_exhausted >"$rd/dev.out" 2>"$rd/dev.err" || rc=$?
    stop_proxy
    out=$(grep '^lf_device: result=' "$rd/dev.out")
    [ $rc = 0 ] || why="$(grep FAIL "$rd/dev.out" | head -2 | tr '\n' ' ')"
    grep -q 'result=retries_exhausted' <<<"$out" || why="${why}outcome: $out "
    grep -q 'program_ops_checked=0 ' <<<"$out" || why="${why}programs reached ota_1 "
    mapfile -t ts < <(grep '/chunk' "$rd/proxy.log" | grep ' fault=' | sed 's/.* at=\([0-9.]*\) .*/\1/')
    [ ${#ts[@]} = $max ] || why="${why}expected $max chunk attempts, proxy saw ${#ts[@]} "
    # backoff after attempt k: equal jitter over [d/2, d], d = base * 2^(k-1).
    # Asserted: every gap is at least its d/2 (a sleep is never shorter, so
    # this holds on any machine, and the minimums double: the backoff
    # grows). Not asserted: the upper end (a busy machine delays the retry
    # beyond d; no timing assertions), only printed.
    late=""
    for ((i = 1; i < ${#ts[@]}; i++)); do
        g=$(echo "${ts[$i]} - ${ts[$((i - 1))]}" | bc)
        lo=$((base * (1 << (i - 1)) / 2)) hi=$((base * (1 << (i - 1))))
        gaps+=("$(printf '%.1f' "$g")")
        if [ "$(echo "$g < $lo" | bc)" = 1 ]; then
            why="${why}gap $i is $g ms, below its minimum $lo ms (backoff $lo..$hi ms) "
        fi
        [ "$(echo "$g > $hi + 25" | bc)" = 1 ] && late="$late gap $i $(printf '%.0f' "$g") ms > $hi;"
        f=$(echo "($g - $lo) / ($hi - $lo)" | bc -l)
        [ "$(echo "$f < $fmin" | bc)" = 1 ] && fmin=$f
        [ "$(echo "$f > $fmax" | bc)" = 1 ] && fmax=$f
    done
    [ "$(echo "$fmax - $fmin > 0.02" | bc)" = 1 ] || why="${why}no jitter: every gap at the same point of its range "
    if [ -n "$why" ]; then
        echo "FAIL rate100: $why(log: $rd)"
        cat "$rd/dev.out" "$rd/dev.err" | tail -5 | sed 's/^/    /'
        return 1
    fi
    echo "rate100: ${#ts[@]} chunk attempts all faulted -> retries_exhausted, nothing written to ota_1;" \
        "gaps ${gaps[*]} ms (ranges 25-50, 50-100, 100-200, 200-400 ms; jitter $(printf '%.2f..%.2f' "$fmin" "$fmax") of each range)${late:+; late on this machine (not asserted):$late}"
}

# the fota-device CLI through the proxy, on a flash file
run_cli() {
    local rd=$DIR/cli rc=0 why=""
    mkdir -p "$rd"
    "$DEVICE_BIN" --flash "$rd/flash.bin" provision "$DIR/a.bin" >/dev/null 2>&1 || die "fota-device provision"
    start_proxy "$rd" 4242 --rate "$RATE" "${PROXY_OPTS[@]}" || die "proxy did not start"
    "$DEVICE_BIN" --flash "$rd/flash.bin" --quiet update --server "$PXURL" --id lf-cli \
        --key "$(cat "$DIR/keys/lf-cli")" "${DEV_OPTS[@]}" >"$rd/dev.out" 2>"$rd/dev.err" || rc=$?
    stop_proxy
    faults_summary "$rd/proxy.log"
    [ $rc = 0 ] && grep -q '^update: installed release .* in ota_1' "$rd/dev.out" || why="fota-device exit $rc: $(grep '^update' "$rd/dev.out" | tail -1)"
    [ -z "$why" ] && { why=$(check_flash "$rd/flash.bin" "$DIR/b.bin") || true; }
    if [ -n "$why" ]; then echo "FAIL cli seed=4242: $why"; return 1; fi
    echo "cli: fota-device seed 4242: faults=$FSUM, $(grep -o 'retries=[0-9]*' "$rd/dev.out"), ota_1 of the flash file identical, tail blank"
}

# esp32-arduino-b.bin (1 MB) over esp32-arduino-a.bin
run_arduino() {
    local rd=$DIR/ard s=1000 rc=0 why="" t0 t1 out
    mkdir -p "$rd"
    t0=$(now)
    start_proxy "$rd" $s --rate "$RATE" "${PROXY_OPTS[@]}" || die "proxy did not start"
    "$LFDEV_BIN" --server "$PXURL" --id lf-arduino --key "$(cat "$DIR/keys/lf-arduino")" \
        --running "$FW/esp32-arduino-a.bin" --release "$FW/esp32-arduino-b.bin" "${DEV_OPTS[@]}" \
        --flash-out "$rd/flash.bin" >"$rd/dev.out" 2>"$rd/dev.err" || rc=$?
    stop_proxy
    t1=$(now)
    faults_summary "$rd/proxy.log"
    out=$(grep '^lf_device: result=' "$rd/dev.out")
    [ $rc = 0 ] || why="$(grep FAIL "$rd/dev.out" | head -2 | tr '\n' ' ')(exit $rc)"
    [ -z "$why" ] && { why=$(check_flash "$rd/flash.bin" "$FW/esp32-arduino-b.bin") || true; }
    if [ -n "$why" ]; then echo "FAIL arduino seed=$s: $why"; tail -3 "$rd/dev.err"; return 1; fi
    ARD_OPS=$(sed -n 's/.* program_ops_checked=\([0-9]*\).*/\1/p' <<<"$out")
    printf 'arduino: esp32-arduino-b.bin seed %d: faults=%s %s program_ops_checked=%s ok %.1f s\n' $s "$FSUM" \
        "$(grep -o ' retries=[0-9]*' <<<"$out" | tr -d ' ')" "$ARD_OPS" "$(echo "$t1 - $t0" | bc)"
}

# ---- setup -------------------------------------------------------------------
T_START=$(now)
start_server
"$MKIMAGE_BIN" -o "$DIR/a.bin" --size "$IMG_SIZE" --version 1.0.0 --seed 1 >/dev/null || die "mkimage a"
"$MKIMAGE_BIN" -o "$DIR/b.bin" --size "$IMG_SIZE" --version 2.0.0 --seed 2 >/dev/null || die "mkimage b"

case $MODE in
seed)
    [ -n "$ONE_SEED" ] || die "mode seed needs a SEED"
    SEEDS=$ONE_SEED
    add_device "lf-$ONE_SEED"
    add_release "$DIR/b.bin" 2.0.0 "lf-$ONE_SEED"
    run_seed "$ONE_SEED"; rc=$?
    echo "proxy log: $DIR/s$ONE_SEED/proxy.log; device: $DIR/s$ONE_SEED/dev.out dev.err"
    exit $rc
    ;;
stale204)
    add_device lf-stale
    add_release "$DIR/b.bin" 2.0.0 lf-stale
    mkdir -p "$DIR/stale"
    start_proxy "$DIR/stale" 204 --rate 100 --only /status --kinds dup || die "proxy did not start"
    rc=0
    "$LFDEV_BIN" --server "$PXURL" --id lf-stale --key "$(cat "$DIR/keys/lf-stale")" --running "$DIR/a.bin" \
        --release "$DIR/b.bin" "${DEV_OPTS[@]}" >"$DIR/stale/dev.out" 2>"$DIR/stale/dev.err" || rc=$?
    stop_proxy
    cat "$DIR/stale/dev.out"
    if [ $rc != 0 ]; then
        echo "FAIL stale204: a stale 204 (duplicated status answer) read as the answer to a chunk request ends the update:"
        sed 's/^/    /' "$DIR/stale/dev.err" | tail -3
        echo "    (src/core/engine.c http_error(): a non-200 2xx is FOTA_ERR_HTTP, final; see docs/linkfault.md)"
        exit 1
    fi
    # the fault under test really happened: a duplicated 204 was sent, and a
    # check or chunk answer arrived behind it; each such stale answer costs
    # exactly one retry (no other fault is injected)
    dups=$(grep -c '/status status=204 fault=dup' "$DIR/stale/proxy.log")
    stale=$(grep -E '(/check|/chunk)' "$DIR/stale/proxy.log" | grep -c '+stale')
    retries=$(sed -n 's/^lf_device: result=.* retries=\([0-9]*\) .*/\1/p' "$DIR/stale/dev.out")
    [ "$dups" -ge 1 ] || { echo "FAIL stale204: the proxy duplicated no 204 status answer (log: $DIR/stale/proxy.log)"; exit 1; }
    [ "$stale" -ge 1 ] || { echo "FAIL stale204: $dups duplicated 204s, but no check or chunk answer arrived behind one"; exit 1; }
    [ "${retries:-x}" = "$stale" ] || { echo "FAIL stale204: $stale stale answers read for check/chunk, retries=${retries:-none} (want one retry each)"; exit 1; }
    echo "stale204: ok, $dups duplicated 204s sent, $stale read as a chunk answer, each cost one retry ($retries)"
    exit 0
    ;;
campaign) ;;
*) die "unknown mode $MODE" ;;
esac

SEEDS="$SEEDS $V2_SEEDS"
for s in $SEEDS; do add_device "lf-$s"; done
for d in lf-r100 lf-cli lf-arduino; do add_device $d; done
# shellcheck disable=SC2086
add_release "$DIR/b.bin" 2.0.0 $(printf 'lf-%s ' $SEEDS) lf-r100 lf-cli
add_release "$FW/esp32-arduino-b.bin" lf-b-arduino lf-arduino
T_SETUP=$(now)

# ---- seeds, LF_JOBS at a time ---------------------------------------------------
pids=()
for s in $SEEDS; do
    while [ "$(jobs -rp | grep -vcx "$SPID")" -ge "$JOBS" ]; do wait -n "${pids[@]}" 2>/dev/null || true; done
    run_seed "$s" &
    pids+=($!)
done
wait "${pids[@]}" 2>/dev/null
T_SEEDS=$(now)

extra_fail=0
run_backoff || extra_fail=$((extra_fail + 1))
run_cli || extra_fail=$((extra_fail + 1))
ARD_OPS=0
run_arduino || extra_fail=$((extra_fail + 1))
T_END=$(now)

# ---- summary -------------------------------------------------------------------
n=0 okc=0 failc=0 faults=0 ops=0 failed_seeds=""
for s in $SEEDS; do
    n=$((n + 1))
    read -r st f _ o <"$DIR/s$s/result" 2>/dev/null || st=fail
    if [ "$st" = ok ]; then okc=$((okc + 1)); else failc=$((failc + 1)); failed_seeds+=" $s"; fi
    faults=$((faults + ${f:-0})) ops=$((ops + ${o:-0}))
done
kinds=$(cat "$DIR"/s*/kinds 2>/dev/null | sort | uniq -c | sort -rn | awk '{ if (NR > 1) printf ", "; printf "%s %s", $2, $1 }')
echo "linkfault: $n seeds, $okc ok, $failc failed, faults injected=$faults ($kinds), program ops checked=$ops (+$ARD_OPS arduino)"
printf 'linkfault: time: setup %.1f s, seeds %.1f s (%s at a time), extra runs %.1f s, total %.1f s\n' \
    "$(echo "$T_SETUP - $T_START" | bc)" "$(echo "$T_SEEDS - $T_SETUP" | bc)" "$JOBS" \
    "$(echo "$T_END - $T_SEEDS" | bc)" "$(echo "$T_END - $T_START" | bc)"
[ $failc = 0 ] || echo "linkfault: failed seeds:$failed_seeds"
[ $failc = 0 ] && [ $extra_fail = 0 ]
