#!/usr/bin/env bash
# scale.sh - the 10,000-device load on one fota-server, on SQLite and on
# PostgreSQL (docs/performance.md, section 7): bench/fleetload with 10,000
# registered devices, 64 keep-alive connections polling `check` and 300
# devices downloading (chunk, and a status every 64 chunks), for S seconds;
# RUNS runs per backend, each on a fresh database, printed as the median
# with min..max. SQLite on a file in a temp folder on disk (not /dev/shm:
# its fsyncs are what is measured); PostgreSQL a throwaway cluster
# (tests/lib/pgcluster.sh) with fsync on. Figures only: nothing asserts.
#
# usage: bench/scale.sh BUILD_DIR FIRMWARE_FILE [RUNS] [SECONDS] [BACKENDS]
#   defaults: 3 runs, 10 s, "sqlite pg"
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR FIRMWARE_FILE [RUNS] [SECONDS] [BACKENDS]" >&2; exit 2; }
B=$(cd "$1" && pwd) FW=$2 RUNS=${3:-3} SECS=${4:-10} BACKENDS=${5:-sqlite pg}
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER=$B/src/server/fota-server LOAD=$B/bench/fleetload PGC=$HERE/../tests/lib/pgcluster.sh
for f in "$SERVER" "$LOAD"; do [ -x "$f" ] || { echo "scale.sh: not built: $f" >&2; exit 1; }; done
ulimit -n 65536 2>/dev/null
OUT=$(mktemp -d "${TMPDIR:-/tmp}/fota-scale-XXXXXX")
SPID= PGDIR=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    [ -n "$PGDIR" ] && sh "$PGC" stop "$PGDIR"
    rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
TOKEN=scale-bench-token-0123456789

one_run() { # BACKEND RUN -> fleetload's output in $OUT/BACKEND.RUN
    local be=$1 run=$2 dir=$OUT/run-$1-$2 db
    mkdir -p "$dir"
    if [ "$be" = pg ]; then
        PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-pg.XXXXXX")
        db=$(FOTA_PG_FSYNC=on sh "$PGC" start "$PGDIR") || return 1
        db="$db dbname=postgres"
    else
        db=$dir/db.sqlite
    fi
    echo "$TOKEN" >"$dir/token"
    "$SERVER" --db "$db" --data "$dir/data" --master-key-file "$dir/master.key" \
        --admin-token-file "$dir/token" --port 0 --port-file "$dir/port" --rate-addr 0 \
        --rate-device 0 --max-conn-per-ip 0 --max-connections 4096 --log-level warn \
        ${SCALE_SERVER_ARGS:-} \
        2>"$dir/server.log" &
    SPID=$!
    for _ in $(seq 500); do [ -s "$dir/port" ] && break; sleep 0.02; done
    [ -s "$dir/port" ] || { cat "$dir/server.log" >&2; return 1; }
    timeout $((SECS + 300)) "$LOAD" "$(cat "$dir/port")" "$TOKEN" "$FW" "$SPID" \
        --devices 10000 --pollers 64 --downloaders 300 --seconds "$SECS" >"$OUT/$be.$run"
    local rc=$?
    kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=
    # the database's size after the run (10,000 devices, their statuses)
    if [ "$be" = pg ]; then
        echo "RESULT dbsize kib=$(( $(psql "$db" -Atc 'SELECT pg_database_size(current_database())') / 1024 ))" >>"$OUT/$be.$run"
    else
        echo "RESULT dbsize kib=$(du -kc "$db"* | tail -1 | cut -f1)" >>"$OUT/$be.$run"
    fi
    if [ "$be" = pg ]; then sh "$PGC" stop "$PGDIR"; PGDIR=; fi
    return $rc
}

# median (min..max) of field F of the RESULT line K over the runs of BACKEND
stat() {
    grep -h "^RESULT $2 " "$OUT/$1".* | sed -n "s/.* $3=\([^ ]*\).*/\1/p" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
              printf "%s (%s..%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

for be in $BACKENDS; do
    for r in $(seq "$RUNS"); do
        echo "scale: $be run $r of $RUNS ..." >&2
        one_run "$be" "$r" || { echo "scale: $be run $r failed" >&2; cat "$OUT/$be.$r" >&2; }
    done
done
echo
echo "10,000 devices, 64 polling connections, 300 downloading, ${SECS} s a run;" \
     "median (min..max) of $RUNS runs; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-7s %-22s %-22s %-22s %-10s\n' backend request "req/s" "p50 ms" "p99 ms" "errors"
for be in $BACKENDS; do
    for k in check chunk status; do
        printf '%-8s %-7s %-22s %-22s %-22s %-10s\n' "$be" "$k" "$(stat "$be" $k rps)" \
            "$(stat "$be" $k p50_ms)" "$(stat "$be" $k p99_ms)" "$(stat "$be" $k errors)"
    done
    printf '%-8s %-7s %-22s server RSS %s KiB (peak %s KiB); database %s KiB\n' "$be" total \
        "$(stat "$be" total rps)" "$(stat "$be" total rss_kib)" "$(stat "$be" total hwm_kib)" \
        "$(stat "$be" dbsize kib)"
done
