/*
 * v1source.h - an in-process update source that speaks wire protocol v1
 * exactly as fota-server does (same JSON, same base64, same HMACs), for tests
 * that need thousands of updates per second and for fault injection at the
 * transport boundary. It is not a mock of the core: it is a second
 * implementation of the server's side of the protocol, and tests check that
 * the real server and this one agree.
 */
#ifndef SIM_V1SOURCE_H
#define SIM_V1SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "fota/fota.h"

struct v1_source {
    /* the release */
    const uint8_t *image;
    uint32_t size;
    uint32_t chunk_size;          /* 1024 by default */
    uint32_t release;
    char version[FOTA_VERSION_MAX + 1];
    uint8_t sha256[32];
    /* the device it serves */
    char device_id[FOTA_ID_MAX + 1];
    uint8_t key[32];
    char token[65];               /* expected X-Device-Token, cached for */
    uint8_t token_key[32];        /* this key */
    char token_id[FOTA_ID_MAX + 1]; /* and this id */
    int offer;                    /* 0: check says {"update": false} */
    /* additions after v1: served in check when set */
    uint32_t secure_version;
    int allow_downgrade;
    int v2;                       /* offer protocol v2 (stream) too */
    uint32_t stream_requests;
    int has_manifest, has_signature;
    uint8_t manifest[FOTA_MANIFEST_LEN];
    uint8_t signature[FOTA_SIGNATURE_LEN];
    /* a patch stream (fota/patch.h) that makes the image: check offers it
     * ("encoding") to a device whose check asks for that encoding (enc=)
     * and, for a delta, names patch_base as its running image (base=); the
     * chunks and the stream of a request with enc= carry the patch, their
     * HMACs bound to patch_sha256, as fota-server does */
    const uint8_t *patch;
    uint32_t patch_size;
    uint8_t patch_enc;            /* FOTA_ENC_COMPRESSED or FOTA_ENC_DELTA */
    uint8_t patch_sha256[32];
    uint8_t patch_base[32];       /* a delta's base: its appended SHA-256 */
    uint32_t patch_offers;        /* checks answered with the patch */
    /* delivery: body handed in pieces of at most piece bytes (0: whole) */
    uint32_t piece;
    /* fault injection: may rewrite body (capacity cap) and status for a
     * request; chunk is the index, or -1 for check. */
    void (*mutate)(void *arg, long chunk, char *body, size_t *len, size_t cap, int *status);
    void *mutate_arg;
    /* what happened */
    uint32_t check_requests, chunk_requests, status_posts;
    uint64_t chunk_bytes;         /* decoded bytes served in chunks */
    long first_chunk;             /* first chunk index requested (-1: none) */
    char last_status[256];
};

/* Fill src for image (not copied: keep it alive). Computes the SHA-256. */
void v1_source_init(struct v1_source *src, const uint8_t *image, uint32_t size,
                    uint32_t release, const char *version, const char *device_id,
                    const uint8_t key[32]);

/* Offer patch (size bytes, kept alive by the caller) for the image: a
 * compressed image (base NULL) or a delta from the image whose appended
 * SHA-256 is base. Computes its SHA-256. */
void v1_source_set_patch(struct v1_source *src, const uint8_t *patch, uint32_t size, int enc,
                         const uint8_t base[32]);

/* The transport callbacks' work (the simulated device binds them). */
int v1_source_get(struct v1_source *src, const char *path, const struct fota_http_header *h,
                  unsigned nh, fota_body_fn on_body, void *arg, int *status);
int v1_source_post(struct v1_source *src, const char *path, const struct fota_http_header *h,
                   unsigned nh, const char *body, uint32_t len, int *status);

/* The chunk body the server sends for index n (for tests). Returns length. */
size_t v1_chunk_body(const struct v1_source *src, uint32_t n, char *out, size_t cap);

#endif
