#!/usr/bin/env bash
# e2e_v2: protocol v2 (one streamed request per download) through the real
# server.
#  1. --protocol v2: installed, ota_1 byte-identical to b; the server's access
#     log shows one stream request and no chunk request.
#  2. the server is SIGKILLed mid-stream and restarted on the same port: the
#     device retries and resumes with a new stream request from its next
#     chunk (from > 0, seen by a relay on the way), retries > 0, and not the
#     whole image fetched twice; ota_1 byte-identical to the ~1.2 MB image.
#     Loopback moves 1.2 MB in milliseconds (the whole stream sits in the
#     killed server's socket buffer and would still be delivered), so the
#     device talks through a small python3 relay that paces the server's
#     bytes (about 600 KB/s), logs each request line, and at the kill drops
#     the open connection with what it and the kernel still hold for it, as a
#     crashed host or a broken link would.
#  3. --protocol auto (the default) uses v2 when check offers it.
# usage: e2e_v2.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 missing (the pacing relay)"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
IMG=$DIR/big.bin
"$MKIMAGE_BIN" -o "$IMG" --size 1228800 --version 4.0.0 --seed 7 >/dev/null || fail "fota-mkimage"

streams() { log_count "GET /api/inverter/fota/stream $1 "; }
chunks() { log_count "GET /api/inverter/fota/chunk $1 "; }

start_server
PORT0=$PORT
KEY1=$(add_device dongle-1)
RB=$(add_release "$B" 2.0.0)
deploy "$RB" dongle-1

# --- 1. v2 update ---------------------------------------------------------------
F=$DIR/flash1.bin
dev_expect 0 "$F" provision "$A"
dev_expect 0 "$F" --server "$URL" --id dongle-1 --key "$KEY1" --protocol v2 \
    --running-version 1.0.0 update
out_has "update: installed release $RB in ota_1"
check_ota1 "$F" "$B"
[ "$(streams dongle-1)" = 1 ] || fail "$(streams dongle-1) stream requests, expected 1"
[ "$(chunks dongle-1)" = 0 ] || fail "$(chunks dongle-1) chunk requests with --protocol v2, expected 0"
size=$(stat -c %s "$B")
want=$((8 + ((size + 1023) / 1024) * 38 + size))
grep -q "GET /api/inverter/fota/stream dongle-1 200 $want " "$DIR/server.log" ||
    fail "no stream log line with the body length $want"
ok "--protocol v2: installed, byte-identical, 1 stream request ($want bytes), 0 chunk requests"

# --- 2. server killed mid-stream ---------------------------------------------------
cat >"$DIR/relay.py" <<'PY'
# relay.py LISTEN_PORT_FILE UPSTREAM_PORT RATE LOG CUT: a pacing TCP relay.
# When the file CUT is touched, the connections opened before it are
# dropped with whatever the relay and its upstream socket still hold.
import os, socket, sys, threading, time
pf, up, rate, logf, cut = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
def cut_since(t0):
    try:
        return os.stat(cut).st_mtime >= t0
    except OSError:
        return False
lock = threading.Lock()
down_total = [0]
def log(msg):
    with lock, open(logf, "a") as f:
        f.write(msg + "\n")
def pipe_up(c, u):  # device -> server: as is, request lines logged
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            if d.startswith(b"GET ") or d.startswith(b"POST "):
                log("req " + d.split(b"\r\n", 1)[0].decode("latin-1"))
            u.sendall(d)
    except OSError:
        pass
    for s in (u,):
        try: s.shutdown(socket.SHUT_WR)
        except OSError: pass
def pipe_down(u, c):  # server -> device: paced
    t0 = time.time()
    try:
        while not cut_since(t0):
            d = u.recv(4096)
            if not d:
                break
            c.sendall(d)
            with lock:
                down_total[0] += len(d)
                n = down_total[0]
            if n // 65536 != (n - len(d)) // 65536:
                log("down %d" % n)
            time.sleep(len(d) / rate)
    except OSError:
        pass
    for s in (c, u):
        try: s.close()
        except OSError: pass
def serve(c):
    u = socket.socket()
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    try:
        u.connect(("127.0.0.1", up))
    except OSError:
        c.close()
        return
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    threading.Thread(target=pipe_up, args=(c, u), daemon=True).start()
    pipe_down(u, c)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(pf + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
import os; os.rename(pf + ".tmp", pf)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$DIR/relay.py" "$DIR/relay.port" "$PORT0" 600000 "$DIR/relay.log" "$DIR/cut" &
BGPIDS+=($!)
for _ in $(seq 250); do [ -s "$DIR/relay.port" ] && break; sleep 0.02; done
[ -s "$DIR/relay.port" ] || fail "relay did not start"
RURL=http://127.0.0.1:$(cat "$DIR/relay.port")
RBIG=$(add_release "$IMG" 4.0.0)
KEY2=$(add_device dongle-2)
deploy "$RBIG" dongle-2
F=$DIR/flash2.bin
dev_expect 0 "$F" provision "$A"
"$DEVICE_BIN" --flash "$F" --server "$RURL" --id dongle-2 --key "$KEY2" --protocol v2 \
    --running-version 1.0.0 --backoff-ms 200 --max-attempts 30 update >"$DIR/dev2.out" 2>"$DIR/dev2.err" &
DPID=$!
BGPIDS+=("$DPID")
# wait for ~300 KB of the stream to have reached the device
down() { { sed -n "s/^down //p" "$DIR/relay.log" 2>/dev/null || true; } | tail -1; }
for _ in $(seq 1000); do
    d=$(down)
    [ -n "$d" ] && [ "$d" -ge 300000 ] && break
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.01
done
kill -0 "$DPID" 2>/dev/null || { cat "$DIR/dev2.out" "$DIR/dev2.err" >&2; fail "device ended before the kill"; }
kill_server KILL
touch "$DIR/cut"
ok "SIGKILLed fota-server mid-stream after $(down) bytes relayed"
sleep 1
start_server "$PORT0"
[ "$PORT" = "$PORT0" ] || fail "restarted server on port $PORT, expected $PORT0"
rc=0
wait "$DPID" || rc=$?
cat "$DIR/dev2.out"
[ $rc = 0 ] || { cat "$DIR/dev2.err" >&2; fail "device exit $rc after the server restart"; }
grep -q "update: installed release $RBIG in ota_1" "$DIR/dev2.out" || fail "device did not report installed"
retries=$(sed -n 's/.*retries=\([0-9]*\).*/\1/p' "$DIR/dev2.out" | tail -1)
[ -n "$retries" ] && [ "$retries" -gt 0 ] || fail "retries=$retries after a server kill, expected > 0"
fetched=$(sed -n 's/.*chunks_fetched=\([0-9]*\).*/\1/p' "$DIR/dev2.out" | tail -1)
[ "$fetched" -le 1200 ] || fail "chunks_fetched=$fetched: verified chunks were fetched again"
check_ota1 "$F" "$IMG"
froms=$(sed -n "s/^req GET \/api\/inverter\/fota\/stream?release=$RBIG&from=\([0-9]*\) .*/\1/p" "$DIR/relay.log")
first=$(printf '%s\n' "$froms" | sed -n 1p)
last=$(printf '%s\n' "$froms" | tail -1)
[ "$first" = 0 ] || fail "first stream request from=$first, expected 0 (relay log: $(cat "$DIR/relay.log" | grep req))"
[ "$(printf '%s\n' "$froms" | wc -l)" -ge 2 ] && [ "$last" -gt 0 ] ||
    fail "no resumed stream request with from > 0 (from values: $(echo $froms))"
ok "device resumed with a new stream from chunk $last (streams from: $(echo $froms)), retries=$retries, chunks_fetched=$fetched, ota_1 byte-identical"

# --- 3. auto uses v2 when offered ----------------------------------------------------
KEY3=$(add_device dongle-3)
deploy "$RB" dongle-3
F=$DIR/flash3.bin
dev_expect 0 "$F" provision "$A"
dev_expect 0 "$F" --server "$URL" --id dongle-3 --key "$KEY3" --protocol auto \
    --running-version 1.0.0 update
out_has "update: installed release $RB in ota_1"
check_ota1 "$F" "$B"
[ "$(streams dongle-3)" = 1 ] && [ "$(chunks dongle-3)" = 0 ] ||
    fail "--protocol auto: $(streams dongle-3) stream and $(chunks dongle-3) chunk requests, expected 1 and 0"
ok "--protocol auto: v2 used (1 stream request, 0 chunk requests)"

kill_server TERM
echo "e2e_v2: all checks passed"
