#!/usr/bin/env python3
"""mkcorpus.py - regenerates the seed corpora in fuzz/corpus/<harness>/.

Every seed is synthetic (no bytes of a real firmware): chunk bodies carry the
correct HMAC for the key and image SHA-256 hard-coded in fuzz/fuzz_common.h,
images are built here segment by segment with their XOR checksum and
appended SHA-256. Input layouts are described at the top of each harness.
usage: fuzz/mkcorpus.py   (rewrites fuzz/corpus/)
"""
import base64
import hashlib
import hmac
import json
import struct
import zlib

from corpuslib import app_desc, image, pattern, put, sbv2

KEY = bytes(range(32))
IMG_SHA = b"\xa5" * 16 + b"\x5a" * 16


def split(sizes):
    assert len(sizes) <= 7
    return bytes([len(sizes)] + list(sizes))


# ---- chunk -----------------------------------------------------------------
def chunk_body(index, data, mac=None, order=("chunk_number", "data", "hmac"), sep=", "):
    if mac is None:
        mac = hmac.new(KEY, IMG_SHA + struct.pack(">I", index) + data, hashlib.sha256).hexdigest()
    fields = {"chunk_number": str(index), "data": '"%s"' % base64.b64encode(data).decode(),
              "hmac": '"%s"' % mac}
    return ("{" + sep.join('"%s": %s' % (k, fields[k]) for k in order) + "}").encode()


def chunk_seed(fname, sizes, expect, index, body):
    put("chunk", fname, split(sizes) + struct.pack("<HH", expect, index) + body)


d1024 = pattern(1024, 1)
d100 = pattern(100, 2)
chunk_seed("valid_1024_whole", [], 1024, 0, chunk_body(0, d1024))
chunk_seed("valid_100_pieces", [1, 3, 7, 64], 100, 7, chunk_body(7, d100))
chunk_seed("valid_last_short", [200, 0, 13], 37, 1042, chunk_body(1042, pattern(37, 3),
           order=("hmac", "data", "chunk_number"), sep=",\n  "))
chunk_seed("valid_empty_pieces", [0, 5], 2, 3, chunk_body(3, b"\x00\xff"))
body = chunk_body(5, d100)
chunk_seed("truncated", [16], 100, 5, body[: len(body) // 2])
chunk_seed("oversized_data", [], 10, 4, chunk_body(4, pattern(20, 4)))
chunk_seed("wrong_index", [], 100, 6, chunk_body(5, d100))
chunk_seed("wrong_hmac", [], 100, 5, chunk_body(5, d100, mac="00" * 32))
chunk_seed("unknown_field", [], 3, 1, chunk_body(1, b"abc")[:-1] + b', "extra": 1}')
chunk_seed("dup_field", [], 3, 1, chunk_body(1, b"abc")[:-1] + b', "chunk_number": 1}')

# ---- check -----------------------------------------------------------------
offer = {"update": True, "release": 12, "version": "1.4.0", "size": 1068032,
         "chunk_size": 1024, "total_chunks": 1043, "sha256": IMG_SHA.hex()}
put("check", "no_update", split([]) + b'{"update": false}')
put("check", "offer", split([]) + json.dumps(offer).encode())
put("check", "offer_pieces", split([1, 2, 9]) + json.dumps(offer, indent=2).encode())
put("check", "offer_unknown", split([32]) + json.dumps(dict(offer, channel="beta",
    extra={"a": [1, 2]}, rollout=0.5)).encode())
put("check", "version_long", split([]) + json.dumps(dict(offer, version="v" * 40)).encode())
put("check", "missing_sha", split([]) + json.dumps({k: v for k, v in offer.items()
                                                    if k != "sha256"}).encode())
put("check", "escapes", split([3]) + b'{"update":true,"version":"1.\\u0034.0\\/x","release":1,'
    b'"size":5,"chunk_size":512,"total_chunks":1,"sha256":"' + b"AB" * 32 + b'"}')

# ---- base64 ----------------------------------------------------------------
for i, raw in enumerate([b"", b"f", b"fo", b"foo", b"foob", pattern(48, 5), pattern(200, 6)]):
    put("base64", "valid_%d" % i, split([1, 5]) + b"\xff" + base64.b64encode(raw))
put("base64", "small_cap", split([]) + b"\x02" + base64.b64encode(b"hello"))
put("base64", "noncanonical", split([]) + b"\xff" + b"Zh==")
put("base64", "bad_pad", split([]) + b"\xff" + b"Zm9v=Zm9")
put("base64", "whitespace", split([]) + b"\xff" + b"Zm9v\nYmFy")

# ---- json ------------------------------------------------------------------
for i, t in enumerate([b'{}', b'{"a": 1, "b": "x", "c": true, "d": false, "e": null}',
                       b'{"nested": {"x": [1, {"y": "z"}]}, "n": 4294967295}',
                       b'{"big": 4294967296, "neg": -1, "frac": 1.5, "exp": 1e3}',
                       b'{"s": "\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\"}',
                       b'{"a_very_long_key_name_here": "v"}',
                       b' { "a" : "b" } ', b'{"a": "b"} {"c": 1}', b'[1, 2]']):
    put("json", "doc_%d" % i, split([2, 1, 7]) + t)


# ---- image -----------------------------------------------------------------
full = image()
assert len(full) % 16 == 0
put("image", "full_c0_hash", split([]) + struct.pack("<I", 0x140000) + b"\x00" + full)
put("image", "full_pieces_any", split([7, 64, 255]) + struct.pack("<I", 0x140000) + b"\xff" + full)
c3 = image(chip=5, hash_appended=0)
put("image", "c3_nohash", split([100]) + struct.pack("<I", 0x10000) + b"\x05" + c3)
put("image", "head_512", split([]) + struct.pack("<I", 0x140000) + b"\x00" + full[:512])
put("image", "limit_small", split([]) + struct.pack("<I", 600) + b"\x00" + full)
put("image", "wrong_chip", split([]) + struct.pack("<I", 0x140000) + b"\x09" + full)
put("image", "sbv2_one_block", split([]) + struct.pack("<I", 0x140000) + b"\x00" + sbv2(full))
put("image", "sbv2_two_blocks", split([200, 7]) + struct.pack("<I", 0x140000) + b"\x00" + sbv2(full, 2))


# ---- otadata ---------------------------------------------------------------
def ota_entry(seq, state=2, crc=None):
    if seq is None:
        return b"\xff" * 32
    c = zlib.crc32(struct.pack("<I", seq), 0xFFFFFFFF) if crc is None else crc
    return struct.pack("<I", seq) + b"\xff" * 20 + struct.pack("<II", state, c)


def pt_entry(ptype, sub, off, size, label, flags=0):
    return struct.pack("<BBBBII", 0xAA, 0x50, ptype, sub, off, size) + \
        label.encode().ljust(16, b"\0") + struct.pack("<I", flags)


table = (pt_entry(1, 2, 0x9000, 0x5000, "nvs") + pt_entry(1, 0, 0xE000, 0x2000, "otadata") +
         pt_entry(0, 0x10, 0x10000, 0x140000, "app0") + pt_entry(0, 0x11, 0x150000, 0x140000, "app1") +
         pt_entry(1, 0x82, 0x290000, 0x160000, "spiffs") +
         pt_entry(1, 3, 0x3F0000, 0x10000, "coredump"))
md5 = b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(table).digest()
tail = b"\x02\x00\x03"   # 2 slots, slot 0, 4 MB
put("otadata", "blank_default_pt", ota_entry(None) + ota_entry(None) + tail + table + md5 + b"\xff" * 32)
put("otadata", "seq1_seq2", ota_entry(1) + ota_entry(2, 1) + b"\x01\x00\x03" + table + b"\xff" * 32)
put("otadata", "aborted", ota_entry(3, 4) + ota_entry(2, 2) + b"\x01\x01\x03" + table)
put("otadata", "bad_crc", ota_entry(7, 0, crc=0x12345678) + ota_entry(6) + tail + table)
put("otadata", "high_seq", ota_entry(0x7FFFFFF0) + ota_entry(None) + tail + table[:96])
put("otadata", "factory_pt", ota_entry(None) + ota_entry(1) + b"\x00\x00\x03" +
    pt_entry(1, 2, 0x9000, 0x6000, "nvs") + pt_entry(1, 1, 0xF000, 0x1000, "phy_init") +
    pt_entry(0, 0, 0x10000, 0x100000, "factory") + b"\xff" * 32)

# ---- partcsv ---------------------------------------------------------------
default_csv = b"""# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x140000,
app1,     app,  ota_1,   0x150000,0x140000,
spiffs,   data, spiffs,  0x290000,0x160000,
coredump, data, coredump,0x3F0000,0x10000,
"""
put("partcsv", "default", default_csv)
put("partcsv", "auto_offsets", b"""# Name, Type, SubType, Offset, Size, Flags
nvs, data, nvs, , 24K,
otadata, data, ota, , 8K,
phy_init, data, phy, , 4K,
factory, app, factory, , 1M,
ota_0, app, ota_0, , 1M,
ota_1, app, ota_1, , 1M, encrypted
""")
put("partcsv", "overlap", default_csv.replace(b"0x150000", b"0x140000"))
put("partcsv", "bad_field", b"nvs, data, nvs, 0x9000, 0x5000q,\n")
put("partcsv", "crlf_quotes", default_csv.replace(b"\n", b"\r\n"))

# Limits near 2^32 with a segment length that wraps start + len (the walk
# once indexed its header buffer out of bounds there; see docs/fuzzing.md).
wrap = bytearray(full)
seg2 = 24 + 8 + struct.unpack_from("<I", full, 28)[0]
wrap[seg2 + 4:seg2 + 8] = struct.pack("<I", 0xFFFFFF00)
put("image", "seg_len_wraps_top", split([9]) + struct.pack("<I", 0xFFFFFFFE) + b"\x00" + bytes(wrap))


# ---- patch -----------------------------------------------------------------
# Streams of include/fota/patch.h, written token by token (the base is the
# harness's 2000-byte pattern; its SHA-256 is not checked there).
def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def patch_hdr(kind, size, base_size=0, wlog=12):
    return (b"FOTP" + bytes([1, kind, wlog, 0]) + struct.pack("<II", size, base_size)
            + (b"\x11" * 32 if kind == 2 else bytes(32)))


def lit(data):
    if len(data) > 61:
        return bytes([63]) + varint(len(data) - 62) + data
    return bytes([len(data) - 1]) + data


def addw(d=None):
    if d is None:
        return bytes([61])
    return bytes([62]) + varint(((d << 1) ^ (d >> 31)) & 0xFFFFFFFF)


def match(dist, length):
    l = min(length - 3, 7)
    t = bytes([0x80 | (l << 4) | ((dist - 1) >> 8), (dist - 1) & 0xFF])
    return t + (varint(length - 10) if l == 7 else b"")


def copy(length, d=None):
    t = 0x60 if d is not None else 0x40
    ext = length > 31
    out = bytes([t | (31 if ext else length - 1)]) + (varint(length - 32) if ext else b"")
    return out + (varint(((d << 1) ^ (d >> 31)) & 0xFFFFFFFF) if d is not None else b"")


put("patch", "compressed", split([]) + patch_hdr(1, 300) + lit(b"abcdefgh" * 8) + match(8, 200)
    + match(264, 36))
put("patch", "delta", split([5, 0, 200]) + patch_hdr(2, 3000, 2000) + copy(1000) + lit(b"xy")
    + copy(900, 50) + match(1902, 3) + copy(87, -1905) + addw(36) + addw() + lit(bytes(range(200)) * 5))
put("patch", "truncated", split([1]) + patch_hdr(1, 300) + lit(b"abc"))
put("patch", "sector_cross", split([]) + patch_hdr(1, 8192) + lit(b"q" * 4000) + match(1, 200))
