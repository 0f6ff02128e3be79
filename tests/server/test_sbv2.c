/*
 * test_sbv2.c - server_sbv2: releases made from secure boot v2 signed images
 * (an app image, padding to 4 KB and a signature sector as espsecure lays it
 * out; rule in include/fota/esp_image.h). A well-formed one uploads (before
 * issue 11 it was refused as bad_image_format: bytes past the appended hash)
 * and its release covers the whole file; malformed sectors are refused with
 * 422 and a message naming the fault. Images come from the simulator's
 * image maker (random signature bytes: structure only, see mkimage.h).
 */
#include <stdlib.h>
#include <string.h>

#include "fota/esp_image.h"
#include "fota/esp_ota.h"
#include "harness.h"
#include "mkimage.h"

#define IMG 200000u

static uint8_t *make(uint32_t seed, unsigned blocks, uint32_t *len)
{
    struct sim_mkimage_opts o = {FOTA_CHIP_ESP32, "4.0.0", "sbv2", 0, seed, 0};
    uint8_t *b;
    *len = sim_mkimage_sbv2_len(IMG);
    b = calloc(1, *len + 64);
    CHECK(b && sim_mkimage(b, IMG, &o) == 0 && sim_mkimage_sbv2(b, IMG, seed, blocks) == 0,
          "make a signed image");
    return b;
}

static void put_file(struct srv *s, const char *name, const uint8_t *b, size_t n, char *path,
                     size_t pn)
{
    FILE *f;
    snprintf(path, pn, "%s/%s", s->dir, name);
    f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n && fclose(f) == 0, "write %s", path);
}

static void refused(struct srv *s, const char *name, const uint8_t *b, size_t n,
                    const char *code, const char *needle)
{
    char path[512];
    struct resp r;
    json_t *j;
    put_file(s, name, b, n, path, sizeof path);
    j = h_upload(s, path, "version=4.0.0", &r);
    h_check_error(&r, 422, code);
    CHECK(strstr(r.body, needle), "%s: message should mention \"%s\": %s", name, needle, r.body);
    printf("ok: %s refused: %s\n", name, r.body);
    resp_free(&r);
    json_decref(j);
}

int main(int argc, char **argv)
{
    struct srv s;
    struct resp r;
    uint32_t len;
    uint8_t *b, sha[32];
    char path[512], hex[65];
    json_t *j;

    h_init(argc, argv);
    h_newdir(&s);
    h_start(&s, NULL);

    /* well-formed, one and three blocks */
    for (unsigned blocks = 1; blocks <= 3; blocks += 2) {
        char name[32];
        b = make(blocks, blocks, &len);
        snprintf(name, sizeof name, "signed-%u.bin", blocks);
        put_file(&s, name, b, len, path, sizeof path);
        j = h_upload(&s, path, blocks == 1 ? "version=4.0.0" : "version=4.0.1", &r);
        CHECK(r.status == 201, "%s: expected 201, got %ld: %s", name, r.status, r.body);
        h_sha256(b, len, sha);
        h_hex(sha, 32, hex);
        CHECK(json_integer_value(json_object_get(j, "size")) == (json_int_t)len,
              "%s: release size %lld, the file is %u bytes", name,
              (long long)json_integer_value(json_object_get(j, "size")), len);
        CHECK(strcmp(json_string_value(json_object_get(j, "sha256")), hex) == 0,
              "%s: release sha256 covers the whole file", name);
        printf("ok: %s (%u bytes, sector of %u block(s) at %u) accepted, sha256 of the whole "
               "file\n", name, len, blocks, len - FOTA_SBV2_SECTOR_LEN);
        resp_free(&r);
        json_decref(j);
        free(b);
    }
    {
        char logpath[600];
        size_t ln;
        char *log;
        snprintf(logpath, sizeof logpath, "%s/server.log", s.dir);
        log = (char *)h_read_file(logpath, &ln);
        CHECK(strstr(log, "secure boot v2 signature sector of 3 block(s) at byte 200704"),
              "the server logs the signature sector");
        free(log);
    }

    /* malformed sectors */
    b = make(9, 1, &len);
    uint32_t sig = len - FOTA_SBV2_SECTOR_LEN;
    b[sig] = 0xE8;
    refused(&s, "magic.bin", b, len, "bad_signature_sector", "magic byte 0xE7");
    b[sig] = 0xE7;
    b[sig + 1] = 0x03;
    refused(&s, "version.bin", b, len, "bad_signature_sector", "version other than 0x02");
    b[sig + 1] = 0x02;
    b[sig + 700] ^= 0x01;
    refused(&s, "crc.bin", b, len, "bad_signature_sector", "block 0 (byte 200704) has a block_crc");
    b[sig + 700] ^= 0x01;
    b[sig + 4095] = 0x00;
    refused(&s, "tail.bin", b, len, "bad_signature_sector", "should be blank");
    b[sig + 4095] = 0xFF;
    refused(&s, "extra.bin", b, len + 16, "bad_image_format",
            "signature sector at byte 204800: 16 bytes too many");
    refused(&s, "truncated.bin", b, len - 1000, "bad_signature_sector",
            "expected nothing, or padding to byte 200704");
    refused(&s, "padding-only.bin", b, sig, "bad_image_format",
            "a secure boot v2 signature sector would start at byte 200704");
    memmove(b + IMG, b + sig, FOTA_SBV2_SECTOR_LEN); /* no padding before the sector */
    refused(&s, "no-padding.bin", b, IMG + FOTA_SBV2_SECTOR_LEN, "bad_signature_sector",
            "secure boot v2 signature sector at byte 200704");
    free(b);

    h_stop(&s);
    h_cleanup(&s);
    printf("server_sbv2: all checks passed\n");
    return 0;
}
