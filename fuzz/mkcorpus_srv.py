#!/usr/bin/env python3
"""mkcorpus_srv.py - regenerates the seed corpora of the server harnesses in
fuzz/corpus/srv_query/, srv_status/ and srv_upload/ (layouts at the top of
fuzz/fuzz_srv_*.c). Every image is synthetic, built here with its XOR
checksum and appended SHA-256 (as fuzz/mkcorpus.py does); manifests are
made with the format of include/fota/manifest.h.
usage: fuzz/mkcorpus_srv.py
"""
import base64
import hashlib
import struct

from corpuslib import app_desc, image as base_image, pattern, put, sbv2



# ---- srv_query: mode, message buffer size - 1, [max, hex], query --------------
for fname, seed in [
        ("check_ok", b"\x00\xffversion=1.0.0"),
        ("check_sv", b"\x00\xffversion=1.0.0&secure_version=3"),
        ("check_dup", b"\x00\x10version=1&version=2"),
        ("check_escaped", b"\x00\xffversion=v1.2%2e3&secure_version=%30"),
        ("chunk_ok", b"\x01\xffchunk=0"),
        ("chunk_rel", b"\x01\xffchunk=4294967295&release=12"),
        ("chunk_lead0", b"\x01\xffchunk=007"),           # regression: was accepted as 7
        ("chunk_noval", b"\x01\xffchunk=%31&release"),
        ("stream_ok", b"\x02\xffrelease=1&from=0"),
        ("stream_ovf", b"\x02\x20release=1&from=4294967296"),
        ("stream_unknown", b"\x02\xfffrom=1&release=2&x=3"),
        ("stream_many", b"\x02\xff" + b"&".join(b"a%d=1" % i for i in range(20))),
        ("u64_hex", b"\x03\x00" + struct.pack("<Q", 0xFFFFFFFF) + b"\x010x1E0000"),
        ("u64_smallmax", b"\x03\x00" + struct.pack("<Q", 5) + b"\x009"),  # regression: max - d wrapped
        ("u64_max", b"\x03\x00" + struct.pack("<Q", 2**64 - 1) + b"\x0018446744073709551615"),
]:
    put("srv_query", fname, seed)

# ---- srv_status: byte 0 bit 0 = structured; raw bodies ------------------------
for fname, body in [
        ("raw_ok", b'{"release":1,"state":"downloading","chunks_received":0,"error":""}'),
        ("raw_failed", b'{"release":7,"state":"failed","chunks_received":12,"error":"E_FLASH 0x1105"}'),
        ("raw_dup_state", b'{"release":1,"state":"installed","state":"confirmed","chunks_received":3,"error":""}'),
        ("raw_dup_escaped", b'{"release":1,"state":"installed","st\\u0061te":"x","chunks_received":3,"error":""}'),
        ("raw_extra", b'{"release":1,"state":"verifying","chunks_received":3,"error":"","x":1}'),
        ("raw_real", b'{"release":1.0,"state":"verifying","chunks_received":3,"error":""}'),
        ("raw_device", b'{"id":"dongle-1","chip":"esp32s3"}'),
        ("raw_device_nochip", b'{"id":"a.b_c-9"}'),
]:
    put("srv_status", fname, b"\x00" + body)
# structured: members, leading space, then per member: key, kind, value bytes
ok = bytes([4, 0, 0, 0, 5, 1, 4, 3, 0, 2, 0, 10, 3, 4, 5, 200]) + b"abcde"
put("srv_status", "st_ok", b"\x01" + ok)
put("srv_status", "st_dup", b"\x01" + bytes([5]) + ok[1:] + bytes([4, 1, 4, 3, 1]))


# ---- srv_upload ---------------------------------------------------------------
def image(chip=0, hash_appended=1, desc=None):
    return base_image(chip, [(0x3F400020, (desc or app_desc()) + pattern(200, 7)),
                             (0x40080000, pattern(300, 8))], hash_appended)


def manifest(img, version, project, chip=0, chunk=1024, sv=0):
    m = struct.pack("<IBBHIII I", 0x4D544F46, 1, 0, chip, len(img), chunk, sv, 0)
    m += hashlib.sha256(img).digest() + version.ljust(32, b"\0") + project.ljust(32, b"\0")
    return m + bytes(8)


def upload(flags, slot, chunk, mut=0, version=b"", extra=b""):
    return (bytes([flags]) + struct.pack("<IH", slot, chunk - 16) + bytes([mut, len(version)]) +
            version + extra)


img = image()
c3 = image(chip=5, hash_appended=0, desc=app_desc(b"2.0.1", b"c3-app", 3))
put("srv_upload", "valid", upload(0, 0x140000, 1024) + img)
put("srv_upload", "valid_version", upload(2, 0x140000, 1024, version=b"1.4.0-rc1") + img)
put("srv_upload", "c3_nohash", upload(0, 0x10000, 4096) + c3)
put("srv_upload", "sbv2", upload(0, 0x140000, 1024) + sbv2(img))
put("srv_upload", "sbv2_three_blocks", upload(0, 0x140000, 1024) + sbv2(img, 3))
put("srv_upload", "too_large", upload(0, 600, 1024) + img)
put("srv_upload", "truncated_fixup", upload(1, 0, 1024) + img[:700])
put("srv_upload", "bad_checksum", upload(0, 0, 1024) + img[:-40] + bytes([img[-40] ^ 1]) + img[-39:])
put("srv_upload", "bad_hash", upload(0, 0, 1024) + img[:-1] + bytes([img[-1] ^ 1]))
put("srv_upload", "manifest_true", upload(4, 0x140000, 1024, mut=0) + img)
put("srv_upload", "manifest_sv", upload(4, 0x140000, 1024, mut=4 | 0x20) + img)
put("srv_upload", "manifest_version", upload(4 | 2, 0x140000, 1024, mut=6, version=b"1.5") + img)
put("srv_upload", "manifest_raw_ok", upload(8, 0x140000, 1024,
                                             extra=manifest(img, b"1.4.0", b"fuzz-demo")) + img)
put("srv_upload", "manifest_raw_chunk", upload(8, 0x140000, 2048,
                                                extra=manifest(img, b"1.4.0", b"fuzz-demo")) + img)
text = base64.b64encode(manifest(c3, b"2.0.1", b"c3-app", chip=5, chunk=4096, sv=3))
put("srv_upload", "manifest_b64_ok", upload(12, 0x10000, 4096, extra=bytes([len(text)]) + text) + c3)
put("srv_upload", "manifest_b64_short", upload(12, 0x10000, 4096,
                                               extra=bytes([len(text) - 1]) + text[:-1]) + c3)
sig = base64.b64encode(pattern(64, 3))
put("srv_upload", "signature_b64", upload(12, 0x10000, 4096, extra=bytes([len(sig)]) + sig) + c3)

# A segment length that wraps start + len past 2^32 under a slot size near
# 2^32 (the shape of ../shared/repro/fuzz_srv_upload-crash-fb59fd18.bin, made
# here from synthetic bytes): the walk must refuse it as slot_size.
wrap = bytearray(img)
wrap[28:32] = struct.pack("<I", 0xFFFFFFF0)     # first segment: 32 + len wraps to 16
put("srv_upload", "seg_len_wraps", upload(0, 0xFFFFFFFE, 1024) + bytes(wrap))

# An app descriptor whose project_name is not UTF-8 (refused with 422
# bad_app_descriptor; before, the release was stored and hid itself).
put("srv_upload", "desc_project_ff", upload(0, 0x140000, 1024)
    + image(desc=app_desc(b"1.0.0", b"p\xff\xfe", 0)))

# ---- srv_utf8: mode byte (& 3), then text (layouts in fuzz/fuzz_srv_utf8.c) ---
for fname, seed in [
        ("valid_mixed", b"\x00" + "a\u00e9\u20ac\U0001F600".encode()),
        ("overlong_nul", b"\x00\xc0\x80"),
        ("overlong_slash", b"\x00\xe0\x80\xaf"),
        ("surrogate", b"\x00\xed\xa0\x80"),
        ("above_max", b"\x00\xf4\x90\x80\x80"),
        ("cut_sequence", b"\x00abc\xe2\x82"),
        ("lone_continuation", b"\x00\x80\xbf"),
        ("query_check_ff", b"\x01version=%FF%FE"),
        ("query_check_ok", b"\x01version=1.0-%C3%A9t%C3%A9"),
        ("query_upload_ff", b"\x01version=1.%FF&slot_size=0x140000"),
        ("query_cut_echo", b"\x01a" + b"%C3%A9" * 30 + b"=1"),
        ("query_nul", b"\x01version=1%00x"),
        ("header_nul", b"\x02X-Device-Id: dev-a\x00x\nX-Device-Token: ab"),
        ("header_ctl", b"\x02X-Trace: a\x01b"),
        ("header_latin1", b"\x02User-Agent: caf\xe9"),
        ("header_te_cl", b"\x02Transfer-Encoding: chunked\nContent-Length: 5"),
        ("header_two_cl", b"\x02Content-Length: 2\nContent-Length: 70"),
        ("header_te_gzip", b"\x02Transfer-Encoding: gzip, chunked"),
        ("header_dotdot", b"\x02X-Device-Id: .."),
        ("target_slash", b"\x03/api%2Fadmin%2Freleases"),
        ("target_ff", b"\x03/api/%FF"),
        ("target_params", b"\x03/api/inverter/fota/check?" + b"&".join(b"p%d=1" % i for i in range(40))),
]:
    put("srv_utf8", fname, seed)
