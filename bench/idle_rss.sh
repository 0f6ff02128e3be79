#!/usr/bin/env bash
# idle_rss.sh - fota-server's resident memory with many idle keep-alive
# device connections, at its default --conn-memory and at chosen values.
# Figures, no assertions.
#
# usage: bench/idle_rss.sh BUILD_DIR [N [CONN_MEMORY...]]
#   N default 10000; CONN_MEMORY values default "default 16384 32768"
#   ("default" runs the server without --conn-memory: its shipped value);
#   BENCH_RUNS rounds (default 3).
#
# Each round of each value: a fresh fota-server (temp dir, SQLite,
# --max-connections 2N+1024 --max-conn-per-ip 0 --idle-timeout 600, rate
# limits off), one registered device; bench/idleconns opens N connections,
# sends one authenticated keep-alive `check` on each, reads the answers and
# holds them idle; after 2 s VmRSS is read from /proc/PID/status, and one new
# request (curl, 5 s timeout) must still be served. Per connection =
# (VmRSS with N idle - VmRSS before) / N. Prints the median (min..max) of the
# rounds per value and the load average before and after.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [N [CONN_MEMORY...]]" >&2; exit 1; }
BUILD=$(cd "$1" && pwd) N=${2:-10000}
shift $(( $# >= 2 ? 2 : 1 ))
VALUES=("$@")
[ ${#VALUES[@]} -gt 0 ] || VALUES=(default 16384 32768)
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER_BIN=$BUILD/src/server/fota-server ADMIN_BIN=$BUILD/src/server/fota-admin
IDLE_BIN=$BUILD/bench/idleconns
for f in "$SERVER_BIN" "$ADMIN_BIN" "$IDLE_BIN"; do
    [ -x "$f" ] || { echo "idle_rss: missing $f (build first)" >&2; exit 1; }
done
for c in curl python3; do
    command -v $c >/dev/null || { echo "idle_rss: $c not installed" >&2; exit 1; }
done
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-idle-XXXXXX")
trap 'bench_cleanup; rm -rf "$DIR"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null ||
    echo "idle_rss: cannot raise ulimit -n to its hard limit $(ulimit -Hn)" >&2
[ "$(ulimit -n)" -gt $((N + 100)) ] ||
    { echo "idle_rss: ulimit -n is $(ulimit -n), $N connections need more" >&2; exit 1; }
RUNS=${BENCH_RUNS:-3}
maxc=$((N * 2 + 1024))
echo "idle_rss: $N idle connections, $RUNS rounds per value, ulimit -n $(ulimit -n)," \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

one_round() { # VALUE -> prints "rss0_kB rssN_kB per_conn_kB"
    local v=$1 extra=() rss0 rssN tok key pid
    [ "$v" = default ] || extra=("--conn-memory $v")
    rm -rf "$DIR/srv"
    start_server "$DIR/srv" warn "--max-connections $maxc" "--max-conn-per-ip 0" \
        "--idle-timeout 600" "${extra[@]}" >&2 || return 1
    key=$(device_add bench-1)
    tok=$(device_token "$key" bench-1)
    sleep 1
    rss0=$(rss_kb "$SPID")
    rm -f "$DIR/ready"
    "$IDLE_BIN" "$SPORT" "$N" 600 "$DIR/ready" "/api/inverter/fota/check?version=x" bench-1 "$tok" \
        >"$DIR/idle.out" 2>&1 &
    pid=$!
    BENCH_PIDS+=("$pid")
    wait_file "$DIR/ready" 600 || echo "idle_rss: idleconns not ready after 60 s" >&2
    sleep 2
    rssN=$(rss_kb "$SPID")
    echo "idle_rss: --conn-memory $v: $(cat "$DIR/ready" 2>/dev/null) VmRSS $rss0 -> $rssN kB;" \
        "new request meanwhile: $(curl -s -o /dev/null -m 5 -w '%{http_code}' \
        -H "X-Device-Id: bench-1" -H "X-Device-Token: $tok" \
        "$SURL/api/inverter/fota/check?version=x" || echo failed)" >&2
    bench_cleanup
    echo "$rss0 $rssN $(awk -v a="$rss0" -v b="$rssN" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }')"
}

for v in "${VALUES[@]}"; do
    R0=() RN=() PC=()
    for _ in $(seq "$RUNS"); do
        read -r a b c < <(one_round "$v") || exit 1
        R0+=("$a") RN+=("$b") PC+=("$c")
    done
    read -r m lo hi <<<"$(stats "${RN[@]}")"
    read -r pm plo phi <<<"$(stats "${PC[@]}")"
    read -r zm _ _ <<<"$(stats "${R0[@]}")"
    mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1000 }'; } # MB = 1000 kB of VmRSS
    echo "idle_rss: --conn-memory $v: $N idle: VmRSS median $(mb "$m") MB" \
        "($(mb "$lo")..$(mb "$hi")), before $(mb "$zm") MB; per connection $pm kB ($plo..$phi)"
    echo "RESULT conn_memory=$v n=$N rss_kB=$m rss_kB_min=$lo rss_kB_max=$hi per_conn_kB=$pm runs=$RUNS"
done
echo "idle_rss: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
