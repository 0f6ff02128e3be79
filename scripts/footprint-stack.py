#!/usr/bin/env python3
"""footprint-stack.py - worst-case stack depth of the libfota core from GCC's
call-graph files (-fcallgraph-info=su, VCG format, one .ci per object).

Used by scripts/footprint. Walks the call graph from the public API entry
points and prints the deepest chain. Indirect calls are resolved as far as the
source allows:
  * `x->name(...)` where name is a callback of struct fota_config is a port
    callback: its own stack is unknown ("+ port callback stack"); core
    functions passed as arguments on that call (the http_get body sink) are
    assumed to be called back from inside it, so their chains are added. When
    the sink is passed on through a `fota_body_fn` parameter (request.c's
    get()), every core function of the body-sink shape
    `int f(void *, const uint8_t *, uint32_t)` is assumed (worst case).
  * `io->name(...)` where name is a callback of struct fota_patch_io
    (include/fota/patch.h: the patcher's flash access) reaches every core
    function named in an initializer of a struct fota_patch_io (engine.c's
    patch_out_write and the two readers).
  * any other indirect call (e.g. json.c's `fn(...)`) may reach every core
    function that the core passes as an argument to a function defined in the
    same file as the call (chunk_member/check_member for fota_json_feed).
Recursion, unbounded dynamic frames and unclassifiable indirect calls are
errors (exit 1).

usage: footprint-stack.py SRCROOT FOTA_H FILE.ci...   (FP_DEBUG=1: list resolved indirect calls)
prints lines
  stack=<bytes> port_at=<bytes> chain=<f1(n) > f2(n) > ...>
  (port_at: deepest core stack at which a port callback runs, -1 if none;
   worst case = max(stack, port_at + the port callback's own stack))
  error: <text>
"""
import re
import sys

ENTRIES = ["fota_init", "fota_check", "fota_begin", "fota_step", "fota_run",
           "fota_confirm", "fota_rollback", "fota_boot_info", "fota_report"]

NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"'
                  r'\s*label:\s*"([^"]*)"')
STACK = re.compile(r'\\n(\d+) bytes \(([^)]*)\)')


def short(title):
    return title.rsplit(":", 1)[-1] if ":" in title else title


def main():
    root, fota_h, cis = sys.argv[1], sys.argv[2], sys.argv[3:]
    errors = []
    frame = {}      # title -> bytes
    qual = {}       # title -> static/dynamic/...
    edges = {}      # title -> list of (target title, label)
    for ci in cis:
        txt = open(ci).read()
        for t, lab in NODE.findall(txt):
            m = STACK.search(lab)
            if m:
                frame[t] = int(m.group(1))
                qual[t] = m.group(2)
        for s, t, lab in EDGE.findall(txt):
            edges.setdefault(s, []).append((t, lab))

    # callbacks of struct fota_config
    h = open(fota_h).read()
    m = re.search(r'struct fota_config \{(.*?)\n\};', h, re.S)
    port_cbs = set(re.findall(r'\(\*(\w+)\)\s*\(', m.group(1))) if m else set()
    # callbacks of struct fota_patch_io (the patcher's io), in patch.h beside fota.h
    io_cbs = set()
    try:
        ph = open(fota_h.rsplit("/", 1)[0] + "/patch.h").read()
        m = re.search(r'struct fota_patch_io \{(.*?)\n\};', ph, re.S)
        io_cbs = set(re.findall(r'\(\*(\w+)\)\s*\(', m.group(1))) if m else set()
    except OSError:
        pass
    io_targets = set()

    defined = set(frame)                # titles with a body
    by_name = {}
    for t in defined:
        by_name.setdefault(short(t), []).append(t)

    def resolve(t):
        if t in defined:
            return t
        c = by_name.get(short(t), [])
        glob = [x for x in c if ":" not in x]
        return glob[0] if glob else (c[0] if len(c) == 1 else None)

    src_cache = {}

    def src_lines(path):
        if path not in src_cache:
            try:
                src_cache[path] = open(path if path.startswith("/") else root + "/" + path).read().split("\n")
            except OSError:
                src_cache[path] = []
        return src_cache[path]

    # functions whose address the core passes to a direct call: callee file -> set
    fnames = set(short(t) for t in defined)
    passed_to_file = {}
    sink_fns, sink_params = set(), set()
    func_file = {}
    for t in defined:
        f = t.rsplit(":", 1)[0] if ":" in t else None
        func_file[short(t)] = f
    # file of a global function: from the label of a node is not kept; use edge labels
    # of calls inside it (first edge's file) or scan sources.
    for path in sorted(set(lab.rsplit(":", 2)[0] for es in edges.values() for _, lab in es)):
        text = "\n".join(src_lines(path))
        for fn in fnames:
            if re.search(r'^\w[^;{]*\b' + fn + r'\s*\([^;]*\)\s*\{', text, re.M):
                func_file.setdefault(fn, path)
                if func_file[fn] is None:
                    func_file[fn] = path
        # body sinks: core functions of the fota_body_fn shape
        for sm in re.finditer(r'^int\s+(\w+)\s*\(\s*void\s*\*\s*\w+\s*,\s*const\s+uint8_t\s*'
                              r'\*\s*\w+\s*,\s*uint32_t\s+\w+\s*\)\s*\{', text, re.M):
            if sm.group(1) in fnames:
                sink_fns.add(sm.group(1))
        # parameters of type fota_body_fn
        for pm in re.finditer(r'fota_body_fn\s+(\w+)\s*[,)]', text):
            sink_params.add(pm.group(1))
        # functions named in a struct fota_patch_io initializer
        for im in re.finditer(r'struct\s+fota_patch_io\s+\w+\s*=\s*\{([^}]*)\}', text):
            io_targets |= set(a for a in re.findall(r'\b(\w+)\b', im.group(1)) if a in fnames)
        # calls g(..., fn, ...) with fn a core function passed by address
        for cm in re.finditer(r'\b(\w+)\s*\(([^;{}]*)\)', text):
            g, args = cm.group(1), cm.group(2)
            for a in re.findall(r'\b(\w+)\b(?!\s*\()', args):
                if a in fnames and a != g:
                    passed_to_file.setdefault(g, set()).add(a)

    def callee_at(lab):
        path, line, col = lab.rsplit(":", 2)
        lines = src_lines(path)
        ln = int(line) - 1
        if ln >= len(lines):
            return None, ""
        stmt = " ".join(lines[ln:ln + 4])
        rest = lines[ln][int(col) - 1:] if int(col) - 1 < len(lines[ln]) else lines[ln]
        mm = re.search(r'(?:->|\.)?(\w+)\s*\(', rest)
        return (mm.group(1) if mm else None), stmt

    def expand(t):
        """Resolved successors: list of (target title or None, via-port-callback name)."""
        out = []
        for (tt, lab) in edges.get(t, []):
            if tt != "__indirect_call":
                r = resolve(tt)
                if r is None:
                    continue            # external (memcpy etc.): leaf
                out.append((r, None))
                continue
            name, stmt = callee_at(lab)
            if name in io_cbs and io_targets:
                for a in sorted(io_targets):
                    r = resolve(a)
                    if r:
                        out.append((r, None))
                continue
            if name in port_cbs:
                out.append((None, name))
                for a in re.findall(r'\b(\w+)\b(?!\s*\()', stmt):
                    cands = [a] if a in fnames else (sorted(sink_fns) if a in sink_params else [])
                    for b in cands:
                        r = resolve(b)
                        if r and r != t:
                            out.append((r, name))
            else:
                myfile = lab.rsplit(":", 2)[0]
                targets = set()
                for g, fs in passed_to_file.items():
                    if func_file.get(g) == myfile:
                        targets |= fs
                if not targets:
                    errors.append("unresolved indirect call %s in %s" % (lab, short(t)))
                for a in sorted(targets):
                    r = resolve(a)
                    if r:
                        out.append((r, None))
        return out

    if __import__("os").environ.get("FP_DEBUG"):
        for t in sorted(defined):
            for r, via in expand(t):
                if via or any(x == "__indirect_call" for x, _ in edges.get(t, [])):
                    print("debug", short(t), "->", short(r) if r else None, via)
    memo = {}
    onstack = []

    def depth(t):
        if t in memo:
            return memo[t]
        if t in onstack:
            cyc = onstack[onstack.index(t):] + [t]
            errors.append("recursion: " + " > ".join(short(x) for x in cyc))
            return (0, -1, [])
        onstack.append(t)
        if "dynamic" in qual.get(t, "") and "bounded" not in qual.get(t, ""):
            errors.append("unbounded dynamic stack frame in " + short(t))
        best = (0, -1, [])
        portd = -1          # deepest core depth below t at which a port callback runs
        for (r, via) in expand(t):
            if r is None:
                portd = max(portd, 0)
                continue
            d, p, ch = depth(r)
            portd = max(portd, p)
            if via is not None:
                portd = max(portd, 0)
            if d > best[0]:
                best = (d, p, (["[port %s]" % via] if via else []) + ch)
        onstack.pop()
        f = frame.get(t, 0)
        res = (f + best[0], f + portd if portd >= 0 else -1,
               ["%s(%d)" % (short(t), f)] + best[2])
        memo[t] = res
        return res

    worst = (0, -1, [])
    worst_port = -1
    for e in ENTRIES:
        r = resolve(e)
        if r is None:
            errors.append("entry point %s not found in the call graph" % e)
            continue
        d = depth(r)
        print("entry %s stack=%d port_at=%d" % (e, d[0], d[1]))
        worst_port = max(worst_port, d[1])
        if d[0] > worst[0]:
            worst = d
    print("stack=%d port_at=%d chain=%s" % (worst[0], worst_port, " > ".join(worst[2])))
    for e in sorted(set(errors)):
        print("error: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
