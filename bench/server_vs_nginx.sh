#!/usr/bin/env bash
# server_vs_nginx.sh - fota-server's v1 chunk throughput against nginx
# serving the very same response bodies as static files, and the server's
# memory with many idle keep-alive connections. Figures, no assertions.
#
# usage: bench/server_vs_nginx.sh BUILD_DIR [WRK_SECONDS] [CONNS...]
#   WRK_SECONDS default 10; CONNS default "1000 10000"
#
# (1) fresh fota-server (temp dir, rate limits off), a 1,068,032-byte
#     synthetic release, one device, deployed. Every v1 chunk body of that
#     device is fetched once (curl) into ROOT/c/N; nginx (own config,
#     worker_processes 2, access_log off, keep-alive) serves ROOT on loopback.
#     wrk -t2 -c64 -dWRK_SECONDS with bench/wrk_chunks.lua walks the chunk
#     numbers 0..1042 on both (with X-Device-Id / X-Device-Token for
#     fota-server). Reference: nginx, in the same run, same machine.
# (2) bench/idleconns holds 1,000 then 10,000 idle keep-alive connections
#     (each made one `check` request first); the server's VmRSS is read at 0,
#     1k, 10k, and one new request (curl, 5 s timeout) must still be served.
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

start_server "$DIR/srv" warn "--max-connections $maxc" "--max-conn-per-ip 0" "--idle-timeout 600" || exit 1
"$MKIMAGE_BIN" -o "$DIR/img.bin" --size 1068032 --version 1.4.0 --seed 1 >/dev/null
REL=$(release_add "$DIR/img.bin" 1.4.0)
KEY=$(device_add bench-1)
admin deploy "$REL" --device bench-1 >/dev/null
TOK=$(device_token "$KEY" bench-1)
TOTAL=$(( (1068032 + 1023) / 1024 ))

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

run_wrk() { # URL PREFIX SUFFIX -> prints requests/s
    TOTAL=$TOTAL PREFIX=$2 SUFFIX=$3 DEV_ID=bench-1 DEV_TOKEN=$TOK \
        wrk -t2 -c64 -d"${SECS}s" --timeout 5s -s "$HERE/wrk_chunks.lua" "$1" >"$DIR/wrk.out" 2>&1
    grep -E "Requests/sec|Non-2xx|Socket errors" "$DIR/wrk.out" | sed 's/^/    /' >&2
    awk '/Requests\/sec/ {print $2}' "$DIR/wrk.out"
}
echo "server_vs_nginx: wrk -t2 -c64 -d${SECS}s, chunk numbers 0..$((TOTAL - 1)) in turn" >&2
RPS_NGINX=$(run_wrk "http://127.0.0.1:$NPORT" "/c/" "")
RPS_SERVER=$(run_wrk "$SURL" "/api/inverter/fota/chunk?chunk=" "&release=$REL")
ratio=$(awk -v a="$RPS_SERVER" -v b="$RPS_NGINX" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "met" : "NOT met" }')
echo "server_vs_nginx: nginx ${RPS_NGINX} req/s, fota-server ${RPS_SERVER} req/s, ratio ${ratio} (target >= 0.80: $verdict)"
echo "RESULT rps_nginx=$RPS_NGINX rps_server=$RPS_SERVER ratio=$ratio"

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
