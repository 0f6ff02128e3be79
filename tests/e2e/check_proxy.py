#!/usr/bin/env python3
"""check_proxy.py - an on-path attacker between devices and fota-server, for
e2e_downgrade_proxy.sh: a real HTTP proxy on loopback that forwards every
request to the server unchanged, except `check`:

  the device's reported version in the query becomes 0.0.1 (so the honest
  server offers the old release it would refuse to a newer device), and the
  answer is rewritten by MODE (read from MODE_FILE at each request):
    pass        unchanged
    downgrade   "allow_downgrade": true added (the old release's genuine
                manifest and signature are kept)
    relabel     "version" set to "9.9.9" (manifest and signature kept)

usage: check_proxy.py PORT_FILE UPSTREAM_PORT MODE_FILE
"""
import http.client
import http.server
import json
import os
import sys
import urllib.parse

port_file, upstream, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip()
    except OSError:
        return "pass"


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def forward(self, method):
        path = self.path
        u = urllib.parse.urlsplit(path)
        is_check = u.path == "/api/inverter/fota/check"
        if is_check:
            q = [(k, "0.0.1" if k == "version" else v)
                 for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True)]
            path = u.path + "?" + urllib.parse.urlencode(q)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("host", "connection", "content-length")}
        c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        m = mode()
        if is_check and r.status == 200 and m != "pass":
            o = json.loads(data)
            if o.get("update"):
                if m == "downgrade":
                    o["allow_downgrade"] = True
                elif m == "relabel":
                    o["version"] = "9.9.9"
                data = json.dumps(o).encode()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date",
                                 "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        c.close()

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
