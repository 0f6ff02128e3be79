#!/usr/bin/env python3
"""task_stack.py - worst stack of libfota's update task on ESP-IDF, from
GCC's -fcallgraph-info=su files of the esp32c3 cross build (tests/esp-idf/cross.sh).

Inputs: the per-entry lines of scripts/footprint-stack.py for the core
("entry fota_run stack=N port_at=M": the core's deepest chain from that API
function, and the deepest core stack under which a port callback runs), and
the port's .ci files. Walks the port's call graph from the task function
fota_task; a call into the core's API function E costs
    stack(E) + P            (stack(E) alone when E calls no callback)
where P is the deepest port callback (part_*, boot_*, http_*, store_*,
sha/hmac, ecdsa, log, ...: the functions the port binds into struct
fota_config) with what it calls in the port. stack(E) already follows the
body sinks that http_get calls back, but not the transport's own frames
between the two; adding P to the whole of stack(E) covers them (at most one
callback is ever on the stack, under any core frame), so this is an upper
bound. ESP-IDF's own functions are
leaves here: their frames are not in these files, and the task's stack size
must leave room for them (esp_http_client, esp-tls, mbedTLS, NVS).
Recursion or an unbounded dynamic frame is an error.

usage: task_stack.py SRCROOT CORE_ENTRIES_FILE PORT_CI...
prints: stack=<n> chain=<f(n) > ... > [core E: n] > ...> port=<n> (<callback chain>)
"""
import glob
import re
import sys

NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"')
STACK = re.compile(r'\\n(\d+) bytes \(([^)]*)\)')
ENTRY = re.compile(r'^entry (\w+) stack=(\d+) port_at=(-?\d+)$', re.M)


def short(t):
    return t.rsplit(":", 1)[-1]


def main():
    root, entries_file, cis = sys.argv[1], sys.argv[2], sys.argv[3:]
    core = {e: (int(s), int(p)) for e, s, p in ENTRY.findall(open(entries_file).read())}
    if not core:
        print("error: no core entry figures in " + entries_file)
        return 1
    frame, edges = {}, {}
    for ci in cis:
        txt = open(ci).read()
        for t, lab in NODE.findall(txt):
            m = STACK.search(lab)
            if m:
                if "dynamic" in m.group(2) and "bounded" not in m.group(2):
                    print("error: unbounded dynamic frame in " + short(t))
                    return 1
                frame[short(t)] = int(m.group(1))
        for s, t in EDGE.findall(txt):
            edges.setdefault(short(s), []).append(short(t))

    def walk(f, cost_of_core, memo, seen=()):
        if f in seen:
            raise SystemExit("error: recursion through " + f)
        if f in memo:
            return memo[f]
        best = (0, [])
        for t in edges.get(f, []):
            if t in core:
                d = (cost_of_core(t), ["[core %s: %d]" % (t, cost_of_core(t))])
            elif t in frame:
                d = walk(t, cost_of_core, memo, seen + (f,))
            else:
                continue        # ESP-IDF or libc: a leaf here
            if d[0] > best[0]:
                best = d
        r = (frame[f] + best[0], ["%s(%d)" % (f, frame[f])] + best[1])
        memo[f] = r
        return r

    # the port callbacks: what the port binds into struct fota_config
    hdr = open(root + "/include/fota/fota.h").read()
    m = re.search(r'struct fota_config \{(.*?)\n\};', hdr, re.S)
    fields = set(re.findall(r'\(\*(\w+)\)\s*\(', m.group(1))) if m else set()
    cbs = set()
    for src in glob.glob(root + "/src/ports/esp-idf/*.c") + glob.glob(root + "/src/ports/mbedtls/*.c"):
        for field, fn in re.findall(r'\bc->(\w+)\s*=\s*(\w+)\s*;', open(src).read()):
            if field in fields and fn != "NULL":
                cbs.add(fn)
    port, memo = (0, []), {}
    for cb in sorted(cbs):
        if cb not in frame:
            print("error: callback %s not in the call graph" % cb)
            return 1
        d = walk(cb, lambda e: 0, memo)   # callbacks do not call the core API
        if d[0] > port[0]:
            port = d

    def core_cost(e):
        stack, port_at = core[e]
        return stack + port[0] if port_at >= 0 else stack

    if "fota_task" not in frame:
        print("error: fota_task not in the call graph")
        return 1
    task = walk("fota_task", core_cost, {})
    print("stack=%d chain=%s port=%d (%s)" % (task[0], " > ".join(task[1]), port[0],
                                               " > ".join(port[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
