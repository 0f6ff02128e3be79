/*
 * mkapp.c - versions of one synthetic ESP32 application (mkimage.h,
 * sim_mkapp), for delta tests and benchmarks: the pairs should change the
 * way real releases do, not as two random images.
 *
 * The model: functions made of 2- and 3-byte "instructions" from a skewed
 * vocabulary (so the code compresses about as real Xtensa code does) and
 * 5-byte calls that hold the absolute address of their callee, placed in
 * IRAM (the first tenth) and IROM; a DROM segment with the app descriptor,
 * strings and a table of constants; a DRAM segment of initialised data.
 * Every function's content and length derive from (seed, index), so a
 * revision changes only what its edit says, and whatever an edit moves
 * changes every call that points past it, as relinking does. Revisions are
 * cumulative:
 *   1  constants changed (8 words of the table) and the version string
 *   2  one function edited: 12 instructions inserted; the code after it
 *      shifts, so every call into it changes
 *   3  functions moved: two runs of 3 functions swap places
 *   4  a segment grown: 2 KB of new data inside DRAM
 * Every revision has its own app_elf_sha256, as every build has.
 */
#include "mkimage.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "fota/error.h"
#include "fota/esp_image.h"
#include "simrand.h"

#define IRAM_ADDR 0x40080000u
#define IROM_ADDR 0x400D0020u
#define DROM_ADDR 0x3F400020u
#define DRAM_ADDR 0x3FFB0000u

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t mix(uint32_t a, uint32_t b)
{
    uint32_t s = a * 0x9E3779B9u ^ (b + 0x7F4A7C15u) * 0x85EBCA6Bu;
    s ^= s >> 15;
    return s ? s : 0x2545F491u;
}

struct app {
    uint32_t seed, rev, nfunc;
    uint32_t *order;   /* layout position -> function index */
    uint32_t *addr;    /* function index -> load address */
    uint32_t *len;     /* function index -> bytes */
};

/* Emit function f's body into out (NULL: only measure). The vocabulary and
 * the instruction stream derive from (seed, f) only. */
static uint32_t body(const struct app *a, uint32_t f, uint8_t *out)
{
    uint32_t r = mix(a->seed, f + 1), vr = mix(a->seed, 0xC0DEu);
    uint32_t n = 20 + xs_next(&r) % 150, i, pos = 0, k, extra = 0;
    uint8_t vocab[64][3];

    for (i = 0; i < 64; i++)
        for (k = 0; k < 3; k++)
            vocab[i][k] = (uint8_t)xs_next(&vr);
    if (a->rev >= 2 && f == a->nfunc / 3)
        extra = 12; /* revision 2: this function was edited */
    for (i = 0; i < n + extra; i++) {
        uint32_t x = i >= n / 2 && i < n / 2 + extra ? mix(f, i + 77) : xs_next(&r);
        uint32_t kind = x % 10, v = ((x >> 8) % 64) * ((x >> 16) % 64) / 64;
        if (i >= n / 2 && i < n / 2 + extra)
            v = (v + 5) % 64; /* inserted code: same vocabulary */
        if (kind == 9 && a->nfunc > 1) {
            uint32_t callee = (x >> 4) % a->nfunc;
            if (out) {
                out[pos] = 0xE5;
                put32(out + pos + 1, a->addr[callee]);
            }
            pos += 5;
        } else if (kind < 3) {
            if (out) {
                out[pos] = vocab[v][0];
                out[pos + 1] = (uint8_t)((vocab[v][1] & 0xF0) | ((x >> 24) & 0x0F));
            }
            pos += 2;
        } else {
            if (out) {
                out[pos] = vocab[v][0];
                out[pos + 1] = (uint8_t)((vocab[v][1] & 0xF0) | ((x >> 24) & 0x0F));
                out[pos + 2] = vocab[v][2];
            }
            pos += 3;
        }
    }
    while (pos % 4) {
        if (out)
            out[pos] = 0;
        pos++;
    }
    return pos;
}

static const char *const words[] = {"wifi",  "connect", "error",  "sensor", "value",  "inverter",
                                    "power", "failed",  "mqtt",   "topic",  "%d",     "voltage",
                                    "ok",    "timeout", "retry",  "config", "update", "http"};

int sim_mkapp(uint8_t **out, uint32_t *out_len, uint32_t approx, const struct sim_mkimage_opts *o,
              unsigned rev)
{
    struct app a;
    uint32_t i, code = approx * 7 / 10, drom_len, dram_len, iram_len = 0, irom_len = 0;
    uint32_t niram, pos, total, r, k, segs[4][3], seg_at;
    uint8_t *b, ck = FOTA_IMG_CHECKSUM_SEED;
    uint8_t elf[32];
    int rc = FOTA_ERR_PARAM;

    if (!out || !o || approx < 16384 || approx > (8u << 20) || rev > 4 || o->chip_id != FOTA_CHIP_ESP32)
        return FOTA_ERR_PARAM;
    memset(&a, 0, sizeof a);
    a.seed = o->seed;
    a.rev = rev;
    a.nfunc = code / 240;
    a.order = calloc(a.nfunc, sizeof *a.order);
    a.addr = calloc(a.nfunc, sizeof *a.addr);
    a.len = calloc(a.nfunc, sizeof *a.len);
    b = NULL;
    if (!a.order || !a.addr || !a.len)
        goto done;
    for (i = 0; i < a.nfunc; i++) {
        a.order[i] = i;
        a.len[i] = body(&a, i, NULL);
    }
    if (rev >= 3) { /* functions moved */
        uint32_t p1 = a.nfunc / 2, p2 = a.nfunc * 3 / 4, t;
        for (i = 0; i < 3; i++) {
            t = a.order[p1 + i];
            a.order[p1 + i] = a.order[p2 + i];
            a.order[p2 + i] = t;
        }
    }
    niram = a.nfunc / 10;
    for (i = 0; i < a.nfunc; i++) {
        uint32_t f = a.order[i];
        if (i < niram) {
            a.addr[f] = IRAM_ADDR + iram_len;
            iram_len += a.len[f];
        } else {
            a.addr[f] = IROM_ADDR + irom_len;
            irom_len += a.len[f];
        }
    }
    drom_len = (approx * 2 / 10) & ~3u;
    dram_len = ((approx / 20) & ~3u) + (rev >= 4 ? 2048u : 0u);
    total = FOTA_IMG_HEADER_LEN + 4 * FOTA_IMG_SEG_HEADER_LEN + drom_len + dram_len + iram_len +
            irom_len;
    total = (total + 16) & ~15u; /* padding and checksum byte */
    total += FOTA_IMG_HASH_LEN;
    b = calloc(1, total);
    if (!b)
        goto done;
    b[0] = FOTA_IMG_MAGIC;
    b[1] = 4;
    b[2] = 2;
    b[3] = 0x20;
    put32(b + 4, IRAM_ADDR + 0x0F00u);
    b[8] = 0xEE;
    b[23] = 1;
    segs[0][0] = DROM_ADDR, segs[0][1] = drom_len;
    segs[1][0] = DRAM_ADDR, segs[1][1] = dram_len;
    segs[2][0] = IRAM_ADDR, segs[2][1] = iram_len;
    segs[3][0] = IROM_ADDR, segs[3][1] = irom_len;
    pos = FOTA_IMG_HEADER_LEN;
    for (k = 0; k < 4; k++) {
        put32(b + pos, segs[k][0]);
        put32(b + pos + 4, segs[k][1]);
        pos += FOTA_IMG_SEG_HEADER_LEN;
        segs[k][2] = pos;
        pos += segs[k][1];
    }
    /* DROM: app descriptor, strings, then the constants table */
    seg_at = segs[0][2];
    put32(b + seg_at, FOTA_APP_DESC_MAGIC);
    put32(b + seg_at + 4, o->secure_version);
    {
        const char *ver = o->version ? o->version : "1.0.0";
        size_t n = strlen(ver) < 31 ? strlen(ver) : 31;
        memcpy(b + seg_at + 16, ver, n);
        ver = o->project ? o->project : "fota-app";
        n = strlen(ver) < 31 ? strlen(ver) : 31;
        memcpy(b + seg_at + 48, ver, n);
        memcpy(b + seg_at + 80, "12:00:00", 8);
        memcpy(b + seg_at + 96, "Jun  1 2025", 11);
        memcpy(b + seg_at + 112, "v4.4.7", 6);
        r = mix(o->seed, 0xE1Fu + rev);
        for (i = 0; i < 32; i++)
            elf[i] = (uint8_t)xs_next(&r);
        memcpy(b + seg_at + 144, elf, 32);
    }
    r = mix(o->seed, 0x5747u);
    for (i = FOTA_APP_DESC_LEN; i < drom_len * 2 / 3;) {
        const char *w = words[xs_next(&r) % (sizeof words / sizeof words[0])];
        size_t n = strlen(w);
        if (i + n + 1 > drom_len * 2 / 3)
            break;
        memcpy(b + seg_at + i, w, n);
        i += (uint32_t)n;
        b[seg_at + i++] = (uint8_t)(xs_next(&r) % 4 ? ' ' : 0);
    }
    for (i = (drom_len * 2 / 3 + 3) & ~3u; i + 4 <= drom_len; i += 4) {
        uint32_t c = xs_next(&r);
        c = c % 3 ? c % 1000 : c; /* small constants and some full words */
        if (rev >= 1 && (i / 4) % (drom_len / 4 / 8 + 1) == 7)
            c += 1; /* revision 1: constants changed */
        put32(b + seg_at + i, c);
    }
    /* DRAM: initialised data; revision 4 inserts a 2 KB table in the middle */
    seg_at = segs[1][2];
    r = mix(o->seed, 0xDA7Au);
    for (i = 0, k = 0; i < dram_len; i += 4) {
        uint32_t c;
        if (rev >= 4 && i >= (dram_len - 2048) / 2 && k < 512) {
            c = 0x3FFB0000u + k * 16;
            k++;
        } else {
            c = xs_next(&r) % 7 ? 0 : xs_next(&r) % 256;
        }
        put32(b + seg_at + i, c);
    }
    /* code */
    for (i = 0; i < a.nfunc; i++) {
        uint32_t f = a.order[i];
        uint32_t at = a.addr[f] >= IROM_ADDR ? segs[3][2] + (a.addr[f] - IROM_ADDR)
                                             : segs[2][2] + (a.addr[f] - IRAM_ADDR);
        body(&a, f, b + at);
    }
    for (k = 0; k < 4; k++)
        for (i = 0; i < segs[k][1]; i++)
            ck ^= b[segs[k][2] + i];
    b[total - FOTA_IMG_HASH_LEN - 1] = ck;
    if (mbedtls_sha256_ret(b, total - FOTA_IMG_HASH_LEN, b + total - FOTA_IMG_HASH_LEN, 0) != 0) {
        rc = FOTA_ERR_CRYPTO;
        goto done;
    }
    *out = b;
    *out_len = total;
    b = NULL;
    rc = FOTA_OK;
done:
    free(b);
    free(a.order);
    free(a.addr);
    free(a.len);
    return rc;
}
