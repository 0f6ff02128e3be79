#!/usr/bin/env bash
# dashboard_fleet.sh - what the dashboard's fleet page costs the server: the
# time of GET /api/admin/fleet and GET /api/admin/devices (the two requests
# the page repeats every 5 s) for N devices all seen in the last day, each
# with a full update in its history (downloading, verifying, installed,
# confirmed; every 20th rolled back), plus OLD older rows per device (two
# days and more ago: history outside the window, which the page must not
# pay for; default 0). The rows are written into the database directly
# while the server is stopped (the fastest way to make a big fleet; the
# server then reads them as its own). BACKEND sqlite (a file in a temp
# folder) or pg (a throwaway cluster, tests/lib/pgcluster.sh, ANALYZEd after
# the load as autovacuum would). Figures only.
#   bench/dashboard_fleet.sh BUILD_DIR [N] [BACKEND] [OLD]   (3000 sqlite 0)
# Per path: the median of 20 requests in wall time (min, max), and the CPU
# time per request of the server (and, on pg, of PostgreSQL's backends),
# from /proc: less at the mercy of a busy machine than the wall time.
set -euo pipefail
B=$(cd "${1:?usage: $0 BUILD_DIR [N] [sqlite|pg] [OLD]}" && pwd) N=${2:-3000}
BACKEND=${3:-sqlite} OLD=${4:-0} RUNS=20
PGC=$(cd "$(dirname "$0")/.." && pwd)/tests/lib/pgcluster.sh
D=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-dash-XXXXXX")
SPID= PGDIR=
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  [ -n "$PGDIR" ] && sh "$PGC" stop "$PGDIR"
  rm -rf "$D"
}
trap cleanup EXIT
cd "$D"
echo bench-token > tok
case $BACKEND in
sqlite) DB=$D/db ;;
pg) PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-pg.XXXXXX")
    DB="$(sh "$PGC" start "$PGDIR") dbname=postgres" ;;
*) echo "$0: BACKEND is sqlite or pg" >&2; exit 2 ;;
esac
start() {
  rm -f port
  "$B/src/server/fota-server" --db "$DB" --data data --master-key-file mk --admin-token-file tok \
    --port 0 --port-file port --rate-addr 0 --log-level error 2>log & SPID=$!
  for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
  [ -s port ] || { cat log >&2; exit 1; }
  URL=http://127.0.0.1:$(cat port)
}
start
"$B/src/sim/fota-mkimage" -o a.bin --size 65536 --version 2.0.0 --seed 1 >/dev/null
FOTA_SERVER=$URL FOTA_ADMIN_TOKEN=bench-token "$B/src/server/fota-admin" release add a.bin >/dev/null
# fota-server exits 0 at SIGTERM; anything else is a failed stop
kill $SPID; wait $SPID || { echo "dashboard_fleet: the server's stop failed (exit $?):" >&2; cat log >&2; exit 1; }
SPID=
now=$(date +%s)
if [ "$BACKEND" = sqlite ]; then
python3 - "$N" "$now" "$OLD" <<'PY'
import sqlite3, sys
n, now, old = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect("db")
for i in range(n):
    dev = f"dongle-{i:05d}"
    bad = i % 20 == 0
    db.execute("INSERT INTO devices (id, chip, current_version, reported_version, state,"
               " status_release, chunks_received, last_error, last_seen, created_at)"
               " VALUES (?, 0, ?, '1.0.0', ?, 1, 64, ?, ?, ?)",
               (dev, '' if bad else '2.0.0', 'rolled_back' if bad else 'confirmed',
                'rolled_back' if bad else '', now - i % 86000, now - 90000))
    for k in range(old, 0, -1):  # oldest first, as the server appends them
        st = "confirmed" if k % 4 == 0 else "failed" if k % 10 == 1 else "downloading"
        db.execute("INSERT INTO status_history (device_id, release_id, state, chunks_received,"
                   " error, at) VALUES (?, 1, ?, 64, ?, ?)",
                   (dev, st, 'hmac_mismatch' if st == 'failed' else '', now - 2 * 86400 - k * 3600))
    t = now - i % 86000 - 60
    for k, st in enumerate(["downloading", "verifying", "installed",
                            "rolled_back" if bad else "confirmed"]):
        db.execute("INSERT INTO status_history (device_id, release_id, state, chunks_received,"
                   " error, at) VALUES (?, 1, ?, 64, ?, ?)",
                   (dev, st, 'rolled_back' if st == 'rolled_back' else '', t + 10 * k))
db.commit()
PY
else
# the same rows as the SQLite branch above, in SQL
psql -q -v ON_ERROR_STOP=1 "$DB" <<SQL
INSERT INTO devices (id, chip, current_version, reported_version, state, status_release,
    chunks_received, last_error, last_seen, created_at)
  SELECT 'dongle-' || lpad(i::text, 5, '0'), 0, CASE WHEN i % 20 = 0 THEN '' ELSE '2.0.0' END,
    '1.0.0', CASE WHEN i % 20 = 0 THEN 'rolled_back' ELSE 'confirmed' END, 1, 64,
    CASE WHEN i % 20 = 0 THEN 'rolled_back' ELSE '' END, $now - i % 86000, $now - 90000
  FROM generate_series(0, $N - 1) i;
INSERT INTO status_history (device_id, release_id, state, chunks_received, error, at)
  SELECT 'dongle-' || lpad(i::text, 5, '0'), 1, st, 64,
    CASE WHEN st = 'failed' THEN 'hmac_mismatch' ELSE '' END, $now - 2 * 86400 - k * 3600
  FROM generate_series(0, $N - 1) i, generate_series($OLD, 1, -1) k,
    LATERAL (SELECT CASE WHEN k % 4 = 0 THEN 'confirmed' WHEN k % 10 = 1 THEN 'failed'
                    ELSE 'downloading' END AS st) s
  ORDER BY i, k DESC;
INSERT INTO status_history (device_id, release_id, state, chunks_received, error, at)
  SELECT 'dongle-' || lpad(i::text, 5, '0'), 1, st, 64,
    CASE WHEN st = 'rolled_back' THEN 'rolled_back' ELSE '' END, $now - i % 86000 - 60 + 10 * k
  FROM generate_series(0, $N - 1) i, generate_series(0, 3) k,
    LATERAL (SELECT CASE k WHEN 0 THEN 'downloading' WHEN 1 THEN 'verifying'
                    WHEN 2 THEN 'installed' ELSE CASE WHEN i % 20 = 0 THEN 'rolled_back'
                    ELSE 'confirmed' END END AS st) s
  ORDER BY i, k;
ANALYZE;
SQL
fi
start
# CPU ticks (utime + stime) of the server, and on pg of every PostgreSQL
# process of the cluster (its backends hold the pooled connections)
ticks() {
  local p pids=$SPID
  [ -n "$PGDIR" ] && pids="$pids $(pgrep -P "$(head -1 "$PGDIR/data/postmaster.pid")" | tr '\n' ' ')"
  for p in $pids; do
    [ -r "/proc/$p/stat" ] && sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'
  done | awk '{s += $1} END {print s + 0}'
}
HZ=$(getconf CLK_TCK)
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f ms (min %.1f, max %.1f, %d runs)", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000, NR}'; }
for path in /api/admin/fleet /api/admin/devices; do
  size=$(curl -s -H "Authorization: Bearer bench-token" "$URL$path" | wc -c)
  t0=$(ticks)
  t=$(for _ in $(seq $RUNS); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer bench-token" "$URL$path"
      done | median)
  cpu=$(awk -v a="$t0" -v b="$(ticks)" -v hz="$HZ" -v n=$RUNS 'BEGIN {printf "%.1f", (b - a) * 1000 / hz / n}')
  echo "GET $path, $N devices ($BACKEND, $OLD older rows each): $t; CPU $cpu ms/request; $size bytes"
done
