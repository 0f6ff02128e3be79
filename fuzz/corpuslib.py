"""corpuslib.py - what the seed generators (mkcorpus.py, mkcorpus_srv.py)
share: writing a seed, a deterministic byte pattern, and a synthetic ESP32
app image built segment by segment with its XOR checksum (seed 0xEF) and
appended SHA-256 (layout in include/fota/esp_image.h)."""
import hashlib
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(name, fname, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def pattern(n, seed):
    return bytes((i * 31 + seed * 7 + (i >> 5)) & 0xFF for i in range(n))


def app_desc(version=b"1.4.0", project=b"fuzz-demo", secure_version=0):
    d = struct.pack("<III", 0xABCD5432, secure_version, 0) + b"\0" * 4
    d += version.ljust(32, b"\0") + project.ljust(32, b"\0")
    d += b"12:00:00".ljust(16, b"\0") + b"Jan  1 2025".ljust(16, b"\0")
    d += b"v5.1".ljust(32, b"\0") + bytes(32)
    return d.ljust(256, b"\0")


def sbv2(img, blocks=1):
    """img signed as espsecure lays out secure boot v2 (include/fota/esp_image.h):
    0xFF padding to 4096, a sector of `blocks` blocks (magic, version 2, digest,
    patterned key and signature, CRC), the rest 0xFF."""
    import zlib
    padded = img + b"\xff" * (-len(img) % 4096)
    digest = hashlib.sha256(padded).digest()
    sector = b""
    for b in range(blocks):
        blk = bytes([0xE7, 0x02, 0, 0]) + digest + pattern(1196 - 36, 11 + b)
        blk += struct.pack("<I", zlib.crc32(blk)) + b"\0" * 16
        sector += blk
    return padded + sector + b"\xff" * (4096 - len(sector))


def image(chip=0, segs=None, hash_appended=1):
    if segs is None:
        segs = [(0x3F400020, app_desc() + pattern(200, 7)), (0x40080000, pattern(300, 8)),
                (0x400D0020, pattern(1000, 9))]
    hdr = struct.pack("<BBBBI", 0xE9, len(segs), 2, 0x20, 0x40081000)
    hdr += bytes([0xEE, 0, 0, 0]) + struct.pack("<HBHH", chip, 0, 0, 0xFFFF)
    hdr = hdr.ljust(23, b"\0") + bytes([hash_appended])
    body, ck = b"", 0xEF
    for addr, data in segs:
        body += struct.pack("<II", addr, len(data)) + data
        for b in data:
            ck ^= b
    img = hdr + body
    img += b"\0" * (15 - len(img) % 16) + bytes([ck])
    if hash_appended:
        img += hashlib.sha256(img).digest()
    return img
