#!/usr/bin/env bash
# server_vs_nginx.sh - fota-server's v1 chunk throughput against nginx
# serving the very same response bodies as static files, and the server's
# memory with many idle keep-alive connections. Figures, no assertions.
#
# usage: bench/server_vs_nginx.sh BUILD_DIR [WRK_SECONDS] [CONNS...]
#   WRK_SECONDS default 10; CONNS default "1000 10000"; BENCH_RUNS (default 3)
#
# (1) two fresh fota-servers (temp dirs), each with a 1,068,032-byte
#     synthetic release, one device, deployed: "tuned" (rate limits off:
#     --rate-device 0 --rate-addr 0) and "defaults" (the shipped
#     configuration: rate limits on, 200 req/s per device with a burst of 10 s
#     worth, 1000 req/s per address). Every v1 chunk body of the tuned
#     server's device is fetched once (curl) into ROOT/c/N; nginx (own config
#     tuned as its docs recommend: worker_processes auto, open_file_cache,
#     sendfile + tcp_nopush, access_log off, keep-alive) serves ROOT on
#     loopback. wrk -t2 -c64 -dWRK_SECONDS with bench/wrk_chunks.lua walks the
#     chunk numbers 0..1042 on all three, BENCH_RUNS rounds interleaved
#     (nginx, tuned, defaults in each round); each figure is the median of
#     the rounds, with min and max. For "defaults" both what was answered
#     (200 and 429) and what was served (200) are reported: from one address
#     the shipped per-address limit is the ceiling, by design.
#     Reference: nginx, in the same rounds, same machine.
# (2) bench/idleconns holds 1,000 then 10,000 idle keep-alive connections
#     (each made one `check` request first) on the tuned server; its VmRSS is
#     read at 0, 1k, 10k, and one new request (curl, 5 s timeout) must still
#     be served.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [WRK_SECONDS] [CONNS...]" >&2; exit 1; }
BUILD=$(cd "$1" && pwd) SECS=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
CONNS=("$@")
[ ${#CONNS[@]} -gt 0 ] || CONNS=(1000 10000)
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER_BIN=$BUILD/src/server/fota-server ADMIN_BIN=$BUILD/src/server/fota-admin
MKIMAGE_BIN=$BUILD/src/sim/fota-mkimage IDLE_BIN=$BUILD/bench/idleconns
for f in "$SERVER_BIN" "$ADMIN_BIN" "$MKIMAGE_BIN" "$IDLE_BIN"; do
    [ -x "$f" ] || { echo "server_vs_nginx: missing $f (build first)" >&2; exit 1; }
done
for c in wrk nginx curl python3; do
    command -v $c >/dev/null || { echo "server_vs_nginx: $c not installed" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-nginx-XXXXXX")
trap 'bench_cleanup; rm -rf "$DIR"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
maxc=$(( ${CONNS[-1]} * 2 + 1024 ))

RUNS=${BENCH_RUNS:-3}
TOTAL=$(( (1068032 + 1023) / 1024 ))
"$MKIMAGE_BIN" -o "$DIR/img.bin" --size 1068032 --version 1.4.0 --seed 1 >/dev/null
# the shipped configuration first (its own folder, port and device)
BENCH_DEFAULTS=1 start_server "$DIR/srv-defaults" warn || exit 1
D_PID=$SPID D_URL=$SURL
D_REL=$(release_add "$DIR/img.bin" 1.4.0)
D_KEY=$(device_add bench-1)
admin deploy "$D_REL" --device bench-1 >/dev/null
D_TOK=$(device_token "$D_KEY" bench-1)
grep -m1 "limits:" "$DIR/srv-defaults/server.log" | sed 's/^.*limits:/server_vs_nginx: defaults server limits:/'
# the tuned one (rate limits off; also the idle-connection run below)
start_server "$DIR/srv" warn "--max-connections $maxc" "--max-conn-per-ip 0" "--idle-timeout 600" || exit 1
REL=$(release_add "$DIR/img.bin" 1.4.0)
KEY=$(device_add bench-1)
admin deploy "$REL" --device bench-1 >/dev/null
TOK=$(device_token "$KEY" bench-1)

# (1) the same bodies as static files
mkdir -p "$DIR/www/c"
curl -s -f -H "X-Device-Id: bench-1" -H "X-Device-Token: $TOK" \
    "$SURL/api/inverter/fota/chunk?chunk=[0-$((TOTAL - 1))]&release=$REL" -o "$DIR/www/c/#1" ||
    { echo "server_vs_nginx: could not dump the chunk bodies" >&2; exit 1; }
n=$(find "$DIR/www/c" -type f | wc -l)
bytes=$(du -cb "$DIR/www/c" | awk 'END {print $1}')
echo "server_vs_nginx: dumped $n chunk bodies ($bytes bytes, avg $((bytes / n)) per body) for release $REL"
chmod a+rx "$DIR" && chmod -R a+rX "$DIR/www" # nginx workers run as nobody when we are root
start_nginx "$DIR/nginx" "$DIR/www" || exit 1
curl -s -f -o /dev/null "http://127.0.0.1:$NPORT/c/0" || { echo "server_vs_nginx: nginx does not serve /c/0" >&2; exit 1; }
echo "server_vs_nginx: nginx $(nginx -v 2>&1 | sed 's/.*: //'), worker_processes auto ($(nproc) CPUs), open_file_cache, sendfile + tcp_nopush"

run_wrk() { # URL PREFIX SUFFIX TOKEN -> prints "requests/s 2xx-requests/s"
    TOTAL=$TOTAL PREFIX=$2 SUFFIX=$3 DEV_ID=bench-1 DEV_TOKEN=$4 \
        wrk -t2 -c64 -d"${SECS}s" --timeout 5s -s "$HERE/wrk_chunks.lua" "$1" >"$DIR/wrk.out" 2>&1
    grep -E "Requests/sec|Non-2xx|Socket errors" "$DIR/wrk.out" | sed 's/^/    /' >&2
    awk -v secs="$SECS" '/Requests\/sec/ { rps = $2 } / requests in / { n = $1; t = $4 + 0 }
        /Non-2xx/ { bad = $NF } END { if (t <= 0) t = secs; printf "%s %.2f\n", rps, (n - bad) / t }' "$DIR/wrk.out"
}
echo "server_vs_nginx: wrk -t2 -c64 -d${SECS}s, chunk numbers 0..$((TOTAL - 1)) in turn, $RUNS rounds" >&2
NG=() TU=() DA=() DOK=()
for r in $(seq "$RUNS"); do
    echo "server_vs_nginx: round $r: nginx, fota-server tuned, fota-server defaults" >&2
    read -r a _ < <(run_wrk "http://127.0.0.1:$NPORT" "/c/" "" "")
    read -r b _ < <(run_wrk "$SURL" "/api/inverter/fota/chunk?chunk=" "&release=$REL" "$TOK")
    read -r c ok < <(run_wrk "$D_URL" "/api/inverter/fota/chunk?chunk=" "&release=$D_REL" "$D_TOK")
    NG+=("$a") TU+=("$b") DA+=("$c") DOK+=("$ok")
    echo "server_vs_nginx: round $r: nginx $a req/s, tuned $b req/s, defaults $c req/s answered ($ok served 200)"
done
read -r ng_m ng_lo ng_hi <<<"$(stats "${NG[@]}")"
read -r tu_m tu_lo tu_hi <<<"$(stats "${TU[@]}")"
read -r da_m da_lo da_hi <<<"$(stats "${DA[@]}")"
read -r dok_m dok_lo dok_hi <<<"$(stats "${DOK[@]}")"
ratio=$(awk -v a="$tu_m" -v b="$ng_m" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
dratio=$(awk -v a="$da_m" -v b="$ng_m" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "met" : "NOT met" }')
echo "server_vs_nginx: median (min..max) of $RUNS: nginx $ng_m ($ng_lo..$ng_hi) req/s;" \
    "fota-server tuned $tu_m ($tu_lo..$tu_hi) req/s, ratio $ratio (target >= 0.80: $verdict);" \
    "fota-server defaults $da_m ($da_lo..$da_hi) req/s answered, $dok_m ($dok_lo..$dok_hi) served 200, ratio answered $dratio"
echo "RESULT rps_nginx=$ng_m rps_nginx_min=$ng_lo rps_nginx_max=$ng_hi rps_server=$tu_m rps_server_min=$tu_lo rps_server_max=$tu_hi ratio=$ratio rps_defaults=$da_m rps_defaults_min=$da_lo rps_defaults_max=$da_hi rps_defaults_200=$dok_m rps_defaults_200_min=$dok_lo rps_defaults_200_max=$dok_hi ratio_defaults=$dratio runs=$RUNS"

# (2) idle keep-alive connections
limit_note=$("$SERVER_BIN" --help 2>&1 | grep -o -- '--max-connections N *[^(]*(default [0-9]*)' | head -1)
echo "server_vs_nginx: server started with --max-connections $maxc --max-conn-per-ip 0 --idle-timeout 600 when supported (${limit_note:-no such option}); ulimit -n $(ulimit -n)"
probe() {
    curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}s' -H "X-Device-Id: bench-1" \
        -H "X-Device-Token: $TOK" "$SURL/api/inverter/fota/check?version=x" || echo "failed"
}
echo "server_vs_nginx: idle 0: VmRSS $(rss_kb "$SPID") kB; new request: $(probe)"
RSS_LINE="rss_kB_0=$(rss_kb "$SPID")"
for N in "${CONNS[@]}"; do
    rm -f "$DIR/ready"
    "$IDLE_BIN" "$SPORT" "$N" 120 "$DIR/ready" "/api/inverter/fota/check?version=x" bench-1 "$TOK" \
        >"$DIR/idle.out" 2>&1 &
    IPID=$!
    BENCH_PIDS+=("$IPID")
    wait_file "$DIR/ready" 600 || echo "server_vs_nginx: idleconns $N not ready after 60 s"
    sleep 1
    rss=$(rss_kb "$SPID")
    echo "server_vs_nginx: idle $N: $(cat "$DIR/ready" 2>/dev/null) VmRSS $rss kB; new request meanwhile: $(probe)"
    RSS_LINE+=" rss_kB_$N=$rss"
    kill "$IPID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$IPID" 2>/dev/null || break; sleep 0.1; done
    cat "$DIR/idle.out"
    sleep 1
done
echo "RESULT $RSS_LINE"
