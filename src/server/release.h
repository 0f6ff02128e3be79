/*
 * release.h - making a release from an uploaded image, and serving its bytes.
 *
 * Ingestion: the body is streamed to <data>/tmp/ (never held whole in
 * memory), then checked with the core's image functions (header, app
 * descriptor, segments, XOR checksum, appended SHA-256) and against the slot
 * size, then fsynced and renamed to <data>/images/<sha256hex> before the
 * database row is inserted: a crash leaves at worst an unreferenced image
 * file, never a row without bytes.
 *
 * On a shared store (several nodes on one PostgreSQL database) the order is
 * bytes into the database (store_ops.blob_put), the row, then the rename
 * into images/: an image file there always has its row, so no node's
 * start-up cleanup (even in a shared folder) takes it for an orphan; a node that lacks a release's file fetches it from there on first use
 * into its own data folder, checked against the SHA-256. Temp files carry
 * the node id (--node-id), so a node's start-up cleanup never removes
 * another node's upload in a shared folder.
 *
 * Serving: each release's file is mapped once (and its SHA-256 re-checked
 * then) and kept for the life of the process; releases are immutable, so a
 * chunk request costs no open() and no read().
 */
#ifndef FOTA_SERVER_RELEASE_H
#define FOTA_SERVER_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"
#include "store.h"

struct upload;

/* Params checked before the body is accepted. */
struct upload_params {
    char version[STORE_VERSION_MAX + 1]; /* "" = take it from the descriptor */
    uint64_t slot_size;
    uint32_t chunk_size;
    int has_manifest;                    /* X-Fota-Manifest / X-Fota-Signature given */
    uint8_t manifest[128];
    uint8_t signature[64];
};

struct upload *upload_begin(struct server *srv, const struct upload_params *p);
/* -1 on an I/O error (logged). */
int upload_feed(struct upload *u, const void *data, size_t len);
uint64_t upload_received(const struct upload *u);
/* Removes the temp file if it is still there. */
void upload_free(struct upload *u);

/* Result of upload_finish: on success rel is filled (and stored);
 * otherwise status/code/message describe the refusal. */
struct ingest_result {
    unsigned status;    /* 201 or an error status */
    const char *code;   /* snake_case error code */
    char message[512];
    struct store_release rel;
};
void upload_finish(struct upload *u, struct ingest_result *res);

/* The checks of upload_finish that need no store and no file: the image
 * (header, app descriptor, size vs p->slot_size, segment walk, XOR checksum,
 * appended SHA-256), the version, and with p->has_manifest the manifest
 * against the release being made. 0 with rel (all but id and created_at) and
 * sha (SHA-256 of the size bytes) filled, or -1 with res->status, code and
 * message set. Fuzzed by fuzz/fuzz_srv_upload.c. */
int release_check(const uint8_t *img, uint64_t size, const struct upload_params *p,
                  struct store_release *rel, uint8_t sha[32], struct ingest_result *res);

/* Mapped bytes of a release. Valid until images_free. The base64 text of
 * every chunk (device-independent) is computed once, when the release is
 * first mapped: chunk n is b64[b64_off[n] .. b64_off[n + 1]). */
struct image {
    struct store_release rel;
    uint8_t sha[32];
    const uint8_t *data;
    size_t size;
    uint32_t total_chunks;
    char *b64;
    size_t *b64_off; /* total_chunks + 1 offsets */
};

/* Fill img->total_chunks, b64 and b64_off from img->data, size and
 * rel.chunk_size (for a patch served like a release: patches.c). 0 or -1. */
int images_b64(struct image *img);

struct image_cache *images_new(void);
void images_free(struct image_cache *c);
/* STORE_OK, STORE_NOT_FOUND (no such release) or STORE_ERR (bytes missing
 * or corrupt: logged). */
int images_get(struct server *srv, int64_t id, const struct image **out);

#endif
