#!/usr/bin/env python3
"""status_fsyncs.py - how many fsyncs fota-server makes for status posts
(docs/server.md, "Durability and the rate of fsyncs"). Starts the server
under `strace -f -c -e trace=fsync,fdatasync` on a fresh folder, registers a
device, uploads and deploys a release, lets the device check, then posts N
statuses: "progress" (the same state, growing chunks_received: they
collapse into one row) or "transitions" (alternating states: one row each,
capped at 200 per device). Prints the 204s, the status_history rows and
strace's count (the set-up accounts for about 15 syncs of its own).

usage: bench/status_fsyncs.py FOTA_SERVER FIRMWARE_DIR N progress|transitions
needs: strace (apt-get install strace)
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN, FW, N, MODE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
d = tempfile.mkdtemp(prefix="fota-fsyncs-")
open(d + "/tok", "w").write("admintok\n")
p = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", d + "/strace",
                      BIN, "--db", d + "/db", "--data", d + "/data", "--master-key-file", d + "/mk",
                      "--admin-token-file", d + "/tok", "--port", "0", "--port-file", d + "/port"],
                     stderr=open(d + "/log", "w"))
while not (os.path.exists(d + "/port") and open(d + "/port").read().strip()):
    time.sleep(0.05)
PORT = int(open(d + "/port").read())


def raw(req):
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(req)
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def body(o):
    return json.loads(o.partition(b"\r\n\r\n")[2])


def admin(method, path, data=b""):
    return raw(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admintok\r\n"
               f"Connection: close\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)


key = bytes.fromhex(body(admin("POST", "/api/admin/devices", b'{"id":"dev-a"}'))["key"])
tok = hmac.new(key, b"token:dev-a", hashlib.sha256).hexdigest()
DEV = f"X-Device-Id: dev-a\r\nX-Device-Token: {tok}\r\n".encode()
rid = body(admin("POST", "/api/admin/releases?version=2.0.0",
                 open(FW + "/esp32-arduino-a.bin", "rb").read()))["id"]
admin("POST", "/api/admin/deployments", json.dumps({"release": rid, "devices": ["dev-a"]}).encode())


def dev(method, path, data=b""):
    return raw(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode() + DEV +
               f"Content-Length: {len(data)}\r\n\r\n".encode() + data)


dev("GET", "/api/inverter/fota/check?version=1")
t0 = time.time()
codes = []
for i in range(N):
    state = "downloading" if MODE == "progress" or i % 2 else "verifying"
    k = i + 1 if MODE == "progress" else N
    st = {"release": rid, "state": state, "chunks_received": k, "error": ""}
    codes.append(dev("POST", "/api/inverter/fota/status", json.dumps(st).encode()).split(b" ")[1])
t1 = time.time()
for c in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split():
    os.kill(int(c), signal.SIGTERM)
p.wait()
rows = sqlite3.connect(d + "/db").execute("SELECT COUNT(*) FROM status_history").fetchone()[0]
print(f"{N} {MODE} posts: {codes.count(b'204')} x 204 in {t1 - t0:.1f} s; status_history rows: {rows}")
print(open(d + "/strace").read())
