#!/usr/bin/env python3
"""task_stack.py - worst stack of libfota's update task on ESP-IDF, from
GCC's -fcallgraph-info=su files of the esp32c3 cross build (tests/esp-idf/cross.sh).

The bound is the sum of three parts, each the deepest chain of our own
frames (ESP-IDF functions are leaves: their frames are not in these files):
  task  fota_task and the port's round (fota_esp_check_and_update), down to
        the core's API,
  core  the core's deepest chain from its API, port callbacks' sinks included
        (scripts/footprint-stack.py, the same analysis as `make footprint`),
  port  the deepest port callback (part_*, boot_*, http_*, store_*, sha/hmac,
        ecdsa, log, ...) with what it calls in the port.
Adding the core's full depth to the deepest callback over-counts (a callback
runs at `port_at`, not at the deepest core frame), so this is an upper bound.

usage: task_stack.py SRCROOT CORE_STACK PORT_CI... (CORE_STACK from footprint-stack.py)
prints: task=<n> core=<n> port=<n> (<callback chain>) total=<n>
"""
import re
import sys

NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"')
STACK = re.compile(r'\\n(\d+) bytes \(([^)]*)\)')


def short(t):
    return t.rsplit(":", 1)[-1]


def main():
    root, core_stack, cis = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
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
    core_api = {"fota_init", "fota_check", "fota_begin", "fota_step", "fota_run",
                "fota_confirm", "fota_rollback", "fota_boot_info", "fota_report"}
    memo = {}

    def depth(f, stop, seen=()):
        if f in seen:
            raise SystemExit("error: recursion through " + f)
        if f not in frame or f in stop:
            return 0, []
        if f in memo:
            return memo[f]
        best = (0, [])
        for t in edges.get(f, []):
            if t == "__indirect_call":
                continue
            d = depth(t, stop, seen + (f,))
            if d[0] > best[0]:
                best = d
        r = (frame[f] + best[0], ["%s(%d)" % (f, frame[f])] + best[1])
        memo[f] = r
        return r

    task = depth("fota_task", core_api)
    memo.clear()
    # port callbacks: the functions the port binds into struct fota_config
    cbs = set()
    import glob
    hdr = open(root + "/include/fota/fota.h").read()
    m = re.search(r'struct fota_config \{(.*?)\n\};', hdr, re.S)
    fields = set(re.findall(r'\(\*(\w+)\)\s*\(', m.group(1))) if m else set()
    for src in glob.glob(root + "/src/ports/esp-idf/*.c"):
        for field, fn in re.findall(r'\bc->(\w+)\s*=\s*(\w+)\s*;', open(src).read()):
            if field in fields:
                cbs.add(fn)
    port = (0, [])
    for cb in sorted(cbs):
        if cb not in frame:
            print("error: callback %s not in the call graph" % cb)
            return 1
        d = depth(cb, set())
        if d[0] > port[0]:
            port = d
    total = task[0] + core_stack + port[0]
    print("task=%d (%s) core=%d port=%d (%s) total=%d" % (
        task[0], " > ".join(task[1]), core_stack, port[0], " > ".join(port[1]), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
