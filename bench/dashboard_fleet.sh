#!/usr/bin/env bash
# dashboard_fleet.sh - what the dashboard's fleet page costs the server: the
# time of GET /api/admin/fleet and GET /api/admin/devices (the two requests
# the page repeats every 5 s) for N devices all seen in the last day, each
# with a full update in its history (downloading, verifying, installed,
# confirmed; every 20th rolled back). The rows are written into the SQLite
# file directly while the server is stopped (the fastest way to make a big
# fleet; the server then reads them as its own). Figures only.
#   bench/dashboard_fleet.sh BUILD_DIR [N]      (default N = 3000)
set -euo pipefail
B=$(cd "${1:?usage: $0 BUILD_DIR [N]}" && pwd) N=${2:-3000}
D=$(mktemp -d "${TMPDIR:-/tmp}/fota-bench-dash-XXXXXX")
trap 'kill $SPID 2>/dev/null; rm -rf "$D"' EXIT
cd "$D"
echo bench-token > tok
start() {
  rm -f port
  "$B/src/server/fota-server" --db db --data data --master-key-file mk --admin-token-file tok \
    --port 0 --port-file port --log-level error 2>log & SPID=$!
  for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
  URL=http://127.0.0.1:$(cat port)
}
start
"$B/src/sim/fota-mkimage" -o a.bin --size 65536 --version 2.0.0 --seed 1 >/dev/null
FOTA_SERVER=$URL FOTA_ADMIN_TOKEN=bench-token "$B/src/server/fota-admin" release add a.bin >/dev/null
kill $SPID; wait $SPID || true
now=$(date +%s)
python3 - "$N" "$now" <<'PY'
import sqlite3, sys
n, now = int(sys.argv[1]), int(sys.argv[2])
db = sqlite3.connect("db")
for i in range(n):
    dev = f"dongle-{i:05d}"
    bad = i % 20 == 0
    db.execute("INSERT INTO devices (id, chip, current_version, reported_version, state,"
               " status_release, chunks_received, last_error, last_seen, created_at)"
               " VALUES (?, 0, ?, '1.0.0', ?, 1, 64, ?, ?, ?)",
               (dev, '' if bad else '2.0.0', 'rolled_back' if bad else 'confirmed',
                'rolled_back' if bad else '', now - i % 86000, now - 90000))
    t = now - i % 86000 - 60
    for k, st in enumerate(["downloading", "verifying", "installed",
                            "rolled_back" if bad else "confirmed"]):
        db.execute("INSERT INTO status_history (device_id, release_id, state, chunks_received,"
                   " error, at) VALUES (?, 1, ?, 64, ?, ?)",
                   (dev, st, 'rolled_back' if st == 'rolled_back' else '', t + 10 * k))
db.commit()
PY
start
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f ms (min %.1f, max %.1f, %d runs)", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000, NR}'; }
for path in /api/admin/fleet /api/admin/devices; do
  size=$(curl -s -H "Authorization: Bearer bench-token" "$URL$path" | wc -c)
  t=$(for _ in $(seq 10); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer bench-token" "$URL$path"
      done | median)
  echo "GET $path, $N devices: $t, $size bytes"
done
