/*
 * release.c - release ingestion (streamed upload, image checks,
 * content-addressed store) and the cache of mapped release images.
 * See release.h for the crash-safety order of the steps.
 */
#include "release.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "fota/error.h"
#include "fota/esp_image.h"
#include "fota/manifest.h"
#include "fota/version.h"
#include "keys.h"
#include "log.h"
#include "utf8.h"

struct upload {
    struct server *srv;
    struct upload_params p;
    int fd;
    char tmp[PATH_MAX];
    uint64_t received;
};

struct upload *upload_begin(struct server *srv, const struct upload_params *p)
{
    struct upload *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->srv = srv;
    u->p = *p;
    /* named after the node: start-up cleanup removes only its own */
    snprintf(u->tmp, sizeof u->tmp, "%s/tmp/upload-%s-XXXXXX", srv->data_dir, srv->node_id);
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd < 0) {
        SLOG(SLOG_ERROR, "cannot create upload temp file in %s/tmp: %s", srv->data_dir,
             strerror(errno));
        free(u);
        return NULL;
    }
    return u;
}

int upload_feed(struct upload *u, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(u->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            SLOG(SLOG_ERROR, "write to %s failed: %s", u->tmp, strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
        u->received += (uint64_t)w;
    }
    return 0;
}

uint64_t upload_received(const struct upload *u)
{
    return u->received;
}

void upload_free(struct upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    if (u->tmp[0])
        unlink(u->tmp);
    free(u);
}

static void refuse(struct ingest_result *res, unsigned status, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void refuse(struct ingest_result *res, unsigned status, const char *code,
                   const char *fmt, ...)
{
    va_list ap;
    res->status = status;
    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A malformed secure boot v2 signature sector: what the walk found, where. */
static void refuse_sig_sector(struct ingest_result *res, const struct fota_img_walk *w,
                              uint64_t size)
{
    static const char *const why[] = {
        [FOTA_SBV2_BAD_MAGIC] = "does not start with the magic byte 0xE7",
        [FOTA_SBV2_BAD_VERSION] = "has a version other than 0x02 (RSA-PSS)",
        [FOTA_SBV2_BAD_CRC] = "has a block_crc that does not match its first 1196 bytes",
        [FOTA_SBV2_NOT_BLANK] = "should be blank (all 0xFF) but is not",
        [FOTA_SBV2_NO_BLOCK] = "is blank: the sector holds no signature block",
    };
    uint32_t at = w->sig_offset + (uint32_t)w->sig_block * FOTA_SBV2_BLOCK_LEN;

    if (!w->sig_fault || w->sig_fault >= sizeof why / sizeof why[0])
        refuse(res, 422, "bad_signature_sector",
               "image ends at byte %u, then %llu bytes: expected nothing, or padding to byte %u "
               "and a %u-byte secure boot v2 signature sector (ending at byte %u)",
               w->total, (unsigned long long)(size - w->total), w->sig_offset,
               FOTA_SBV2_SECTOR_LEN, w->sig_offset + FOTA_SBV2_SECTOR_LEN);
    else if (w->sig_block >= FOTA_SBV2_BLOCKS)
        refuse(res, 422, "bad_signature_sector",
               "secure boot v2 signature sector at byte %u: its last %u bytes (from byte %u) "
               "should be blank (all 0xFF) but are not",
               w->sig_offset, FOTA_SBV2_SECTOR_LEN - FOTA_SBV2_BLOCKS * FOTA_SBV2_BLOCK_LEN, at);
    else
        refuse(res, 422, "bad_signature_sector",
               "secure boot v2 signature sector at byte %u: block %u (byte %u) %s", w->sig_offset,
               w->sig_block, at, why[w->sig_fault]);
}

/* The checks a device would make, with messages saying what was expected and
 * what came. Returns 0 when the image is acceptable. */
static int check_image(const uint8_t *img, uint64_t size, const struct upload_params *p,
                       struct fota_app_info *info, uint8_t sha[32], struct ingest_result *res)
{
    struct fota_img_walk w;
    uint32_t hash_off = 0;
    int rc;

    if (size == 0) {
        refuse(res, 400, "bad_request", "empty body: expected an ESP32 application image");
        return -1;
    }
    rc = fota_img_check_head(img, size > FOTA_IMG_HEAD_LEN ? FOTA_IMG_HEAD_LEN : (uint32_t)size,
                             FOTA_CHIP_ANY, info);
    switch (rc) {
    case FOTA_OK:
        break;
    case FOTA_ERR_IMG_MAGIC:
        refuse(res, 422, "not_an_image",
               "not an ESP image: byte 0 is 0x%02X, expected the image magic 0xE9", img[0]);
        return -1;
    case FOTA_ERR_TRUNCATED:
        refuse(res, 422, "truncated_image",
               "truncated image: %llu bytes, shorter than the %u-byte header and app descriptor",
               (unsigned long long)size, FOTA_IMG_HEAD_LEN);
        return -1;
    case FOTA_ERR_IMG_NOT_APP:
        refuse(res, 422, "not_an_app",
               "not an application image: no app descriptor (expected magic 0xABCD5432 at "
               "byte %u, found 0x%08X)",
               FOTA_APP_DESC_OFFSET, le32(img + FOTA_APP_DESC_OFFSET));
        return -1;
    default:
        refuse(res, 422, "bad_image_format",
               "malformed image header: segment count %u (expected 1..%u), hash_appended %u "
               "(expected 0 or 1)",
               img[1], FOTA_IMG_MAX_SEGMENTS, img[23]);
        return -1;
    }
    if (size > p->slot_size) {
        refuse(res, 422, "image_too_large",
               "image is %llu bytes, larger than the %llu-byte slot", (unsigned long long)size,
               (unsigned long long)p->slot_size);
        return -1;
    }
    fota_img_walk_init(&w, (uint32_t)p->slot_size);
    fota_img_walk_feed(&w, img, (uint32_t)size);
    rc = fota_img_walk_finish(&w, &hash_off);
    switch (rc) {
    case FOTA_OK:
        break;
    case FOTA_ERR_TRUNCATED:
        if (w.total)
            refuse(res, 422, "truncated_image",
                   "truncated image: %llu bytes, its segments and hash need %u",
                   (unsigned long long)size, w.total);
        else
            refuse(res, 422, "truncated_image",
                   "truncated image: %llu bytes, it ends inside segment %u of %u",
                   (unsigned long long)size, w.seg_index, w.seg_count);
        return -1;
    case FOTA_ERR_TOO_LARGE:
        if (w.sig_offset && size > (uint64_t)w.sig_offset + FOTA_SBV2_SECTOR_LEN)
            refuse(res, 422, "bad_image_format",
                   "image has %llu bytes but its segments, checksum and hash end at byte %u "
                   "and its secure boot v2 signature sector at byte %u: %llu bytes too many",
                   (unsigned long long)size, w.total, w.sig_offset + FOTA_SBV2_SECTOR_LEN,
                   (unsigned long long)(size - w.sig_offset - FOTA_SBV2_SECTOR_LEN));
        else
            refuse(res, 422, "bad_image_format",
                   "image has %llu bytes but its segments, checksum and hash end at byte %u "
                   "(a secure boot v2 signature sector would start at byte %u)",
                   (unsigned long long)size, w.total, w.sig_offset);
        return -1;
    case FOTA_ERR_IMG_SIG_SECTOR:
        refuse_sig_sector(res, &w, size);
        return -1;
    case FOTA_ERR_SLOT_SIZE:
        refuse(res, 422, "bad_image_format",
               "a segment header claims data past the %llu-byte slot (malformed or truncated "
               "image)",
               (unsigned long long)p->slot_size);
        return -1;
    case FOTA_ERR_IMG_CHECKSUM:
        refuse(res, 422, "bad_image_checksum",
               "image checksum mismatch: stored 0x%02X, computed 0x%02X over the segments",
               w.stored_checksum, w.checksum);
        return -1;
    default:
        refuse(res, 422, fota_errname(rc), "image refused: %s", fota_strerror(rc));
        return -1;
    }
    if (hash_off) {
        uint8_t h[32];
        char want[65], got[65];
        keys_sha256(img, hash_off, h);
        if (!keys_ct_equal(h, img + hash_off, 32)) {
            keys_hex(img + hash_off, 32, want);
            keys_hex(h, 32, got);
            refuse(res, 422, "bad_image_hash",
                   "appended SHA-256 does not match: image says %s, bytes 0..%u hash to %s",
                   want, hash_off, got);
            return -1;
        }
    } else {
        SLOG(SLOG_WARN, "release image has no appended SHA-256 (hash_appended = 0)");
    }
    if (fota_img_walk_signed(&w))
        SLOG(SLOG_INFO, "release image carries a secure boot v2 signature sector of %u "
             "block(s) at byte %u (structure checked; the signature is the device's to verify)",
             w.sig_blocks, w.sig_offset);
    keys_sha256(img, size, sha);
    return 0;
}

/* What a device can take in an offer: 1-31 printable bytes. */
static int valid_version(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > FOTA_VERSION_OFFER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return 0;
    return 1;
}

/* The signed manifest must describe exactly the release being made. 0, or
 * -1 with a 422 manifest_mismatch naming the first field that differs. */
static int check_manifest(const struct upload_params *p, const struct store_release *rel,
                          const uint8_t sha[32], struct ingest_result *res)
{
    struct fota_manifest m;
    char want[65], got[65];

    if (fota_manifest_decode(p->manifest, &m) != FOTA_OK) {
        refuse(res, 422, "bad_manifest", "X-Fota-Manifest is not a manifest of format 1");
        return -1;
    }
    if (memcmp(m.sha256, sha, 32) != 0) {
        keys_hex(m.sha256, 32, want);
        keys_hex(sha, 32, got);
        refuse(res, 422, "manifest_mismatch",
               "manifest field sha256 is %s, the uploaded image hashes to %s", want, got);
        return -1;
    }
    if ((int64_t)m.size != rel->size) {
        refuse(res, 422, "manifest_mismatch", "manifest field size is %u, the image is %lld bytes",
               m.size, (long long)rel->size);
        return -1;
    }
    if ((int)m.chip_id != rel->chip) {
        refuse(res, 422, "manifest_mismatch", "manifest field chip is %s (%u), the image is for %s",
               fota_chip_name(m.chip_id), m.chip_id, fota_chip_name(rel->chip));
        return -1;
    }
    if (m.chunk_size != rel->chunk_size) {
        refuse(res, 422, "manifest_mismatch",
               "manifest field chunk_size is %u, the release is served in chunks of %u "
               "(chunk_size=%u)", m.chunk_size, rel->chunk_size, rel->chunk_size);
        return -1;
    }
    if (strcmp(m.version, rel->version) != 0) {
        refuse(res, 422, "manifest_mismatch",
               "manifest field version is \"%s\", the release's version is \"%s\"", m.version,
               rel->version);
        return -1;
    }
    if (m.secure_version != rel->secure_version) {
        refuse(res, 422, "manifest_mismatch",
               "manifest field secure_version is %u, the image's app descriptor says %u",
               m.secure_version, rel->secure_version);
        return -1;
    }
    if (strcmp(m.project, rel->project) != 0) {
        refuse(res, 422, "manifest_mismatch",
               "manifest field project is \"%s\", the image's app descriptor says \"%s\"",
               m.project, rel->project);
        return -1;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int release_check(const uint8_t *img, uint64_t size, const struct upload_params *p,
                  struct store_release *rel, uint8_t sha[32], struct ingest_result *res)
{
    struct fota_app_info info;

    if (check_image(img, size, p, &info, sha, res))
        return -1;
    memset(rel, 0, sizeof *rel);
    snprintf(rel->version, sizeof rel->version, "%s", p->version[0] ? p->version : info.version);
    if (!rel->version[0]) {
        refuse(res, 422, "missing_version",
               "no version given and the image's app descriptor has none: pass version=...");
        return -1;
    }
    if (!valid_version(rel->version)) {
        refuse(res, 422, "bad_version",
               "version \"%s\" (%zu bytes) cannot be offered: a device takes 1-%u printable "
               "bytes; pass version=...", rel->version, strlen(rel->version),
               FOTA_VERSION_OFFER_MAX);
        return -1;
    }
    rel->size = (int64_t)size;
    rel->chip = info.chip_id;
    snprintf(rel->project, sizeof rel->project, "%s", info.project_name);
    snprintf(rel->idf_ver, sizeof rel->idf_ver, "%s", info.idf_ver);
    rel->secure_version = info.secure_version;
    /* stored and shown as JSON text: refused unless UTF-8 (utf8.h) */
    if (!utf8_valid_str(rel->version) || !utf8_valid_str(rel->project) ||
        !utf8_valid_str(rel->idf_ver)) {
        refuse(res, 422, "bad_app_descriptor",
               "the image's app descriptor %s is not valid UTF-8 text",
               !utf8_valid_str(rel->version)   ? "version"
               : !utf8_valid_str(rel->project) ? "project_name"
                                               : "idf_ver");
        return -1;
    }
    keys_hex(sha, 32, rel->sha256);
    rel->chunk_size = p->chunk_size;
    rel->slot_size = (int64_t)p->slot_size;
    if (p->has_manifest) {
        if (check_manifest(p, rel, sha, res))
            return -1;
        memcpy(rel->manifest, p->manifest, sizeof rel->manifest);
        memcpy(rel->signature, p->signature, sizeof rel->signature);
        rel->is_signed = 1;
    }
    return 0;
}

static int put_blob(struct server *srv, int fd, uint64_t size, const char *sha)
{
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
    int rc;

    if (map == MAP_FAILED) {
        SLOG(SLOG_ERROR, "mmap of image %s failed: %s", sha, strerror(errno));
        return STORE_ERR;
    }
    rc = srv->ops->blob_put(srv->store, sha, map, size);
    if (map)
        munmap(map, size);
    return rc;
}

void upload_finish(struct upload *u, struct ingest_result *res)
{
    struct server *srv = u->srv;
    struct store_release *rel = &res->rel;
    struct store_release old;
    uint8_t sha[32];
    char final[PATH_MAX], dir[PATH_MAX];
    void *map = NULL;
    int rc;

    memset(res, 0, sizeof *res);
    if (u->received > 0) {
        map = mmap(NULL, u->received, PROT_READ, MAP_SHARED, u->fd, 0);
        if (map == MAP_FAILED) {
            SLOG(SLOG_ERROR, "mmap of %s failed: %s", u->tmp, strerror(errno));
            refuse(res, 500, "internal_error", "cannot read the uploaded image back");
            return;
        }
    }
    rc = release_check(map, u->received, &u->p, rel, sha, res);
    if (map)
        munmap(map, u->received);
    if (rc)
        return;
    if (!rel->is_signed && srv->require_signed) {
        refuse(res, 422, "unsigned_release",
               "this server accepts only signed releases (X-Fota-Manifest and "
               "X-Fota-Signature; fota-admin release add --sign KEY)");
        return;
    }

    /* Same bytes twice: refuse with the existing id (documented choice: a
     * release's version and slot are fixed once made). */
    if (srv->ops->release_by_sha256(srv->store, rel->sha256, &old) == STORE_OK) {
        refuse(res, 409, "already_exists",
               "this image (sha256 %s) is already release %lld, version \"%s\"", rel->sha256,
               (long long)old.id, old.version);
        return;
    }

    if (fsync(u->fd) < 0) {
        SLOG(SLOG_ERROR, "fsync of %s failed: %s", u->tmp, strerror(errno));
        refuse(res, 500, "internal_error", "cannot store the image");
        return;
    }
    if (snprintf(dir, sizeof dir, "%s/images", srv->data_dir) >= (int)sizeof dir ||
        snprintf(final, sizeof final, "%s/%s", dir, rel->sha256) >= (int)sizeof final) {
        refuse(res, 500, "internal_error", "data folder path too long");
        return;
    }
    if (srv->ops->blob_put) {
        /* A shared store: the bytes, then the row, then the local copy, so
         * an image file in a (maybe shared) images/ always has its row and
         * no node's start-up takes it for an orphan (release.h). */
        if (put_blob(srv, u->fd, u->received, rel->sha256) != STORE_OK) {
            refuse(res, 503, "store_unavailable", "cannot store the image in the database");
            return;
        }
    } else {
        /* Identical content may already be there (a crash after the
         * rename); rename replaces it atomically with the same bytes. */
        if (fchmod(u->fd, 0444) < 0 || rename(u->tmp, final) < 0 || fsync_dir(dir) < 0) {
            SLOG(SLOG_ERROR, "cannot move %s to %s: %s", u->tmp, final, strerror(errno));
            refuse(res, 500, "internal_error", "cannot store the image");
            return;
        }
        u->tmp[0] = '\0'; /* nothing to unlink any more */
    }
    rc = srv->ops->release_insert(srv->store, rel);
    if (rc == STORE_EXISTS) {
        refuse(res, 409, "already_exists", "this image (sha256 %s) is already a release",
               rel->sha256);
        return;
    }
    if (rc != STORE_OK) {
        refuse(res, 503, "store_unavailable", "cannot record the release");
        return;
    }
    if (srv->ops->blob_put) {
        /* the local copy; without it this node fetches the bytes on first use */
        if (fchmod(u->fd, 0444) < 0 || rename(u->tmp, final) < 0 || fsync_dir(dir) < 0)
            SLOG(SLOG_WARN, "release %lld: no local copy at %s (%s); fetched on first use",
                 (long long)rel->id, final, strerror(errno));
        else
            u->tmp[0] = '\0';
    }
    res->status = 201;
    SLOG(SLOG_INFO, "release %lld: version \"%s\", %lld bytes, %s, sha256 %s, %s", (long long)rel->id,
         rel->version, (long long)rel->size, fota_chip_name(rel->chip), rel->sha256,
         rel->is_signed ? "signed" : "unsigned");
}

/* --- image cache ------------------------------------------------------------ */

struct image_cache {
    pthread_mutex_t mu;
    struct image **v;
    size_t n, cap;
};

struct image_cache *images_new(void)
{
    struct image_cache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void image_free(struct image *img)
{
    if (img->size)
        munmap((void *)img->data, img->size);
    free(img->b64);
    free(img->b64_off);
    free(img);
}

/* Base64 of every chunk, back to back (see struct image). */
static int image_b64(struct image *img)
{
    uint32_t cs = img->rel.chunk_size, total;
    size_t need = 0, olen;

    if (cs == 0)
        return -1;
    total = (uint32_t)((img->size + cs - 1) / cs);
    img->total_chunks = total;
    for (uint32_t n = 0; n < total; n++) {
        size_t len = img->size - (size_t)n * cs < cs ? img->size - (size_t)n * cs : cs;
        need += 4 * ((len + 2) / 3);
    }
    img->b64 = malloc(need + 1);
    img->b64_off = malloc(((size_t)total + 1) * sizeof *img->b64_off);
    if (!img->b64 || !img->b64_off)
        return -1;
    img->b64_off[0] = 0;
    for (uint32_t n = 0; n < total; n++) {
        size_t off = (size_t)n * cs;
        size_t len = img->size - off < cs ? img->size - off : cs;
        if (mbedtls_base64_encode((unsigned char *)img->b64 + img->b64_off[n],
                                  need + 1 - img->b64_off[n], &olen, img->data + off, len) != 0)
            return -1;
        img->b64_off[n + 1] = img->b64_off[n] + olen;
    }
    return 0;
}

int images_b64(struct image *img)
{
    return image_b64(img);
}

void images_free(struct image_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        image_free(c->v[i]);
    free(c->v);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static struct image *cache_find(struct image_cache *c, int64_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i]->rel.id == id)
            return c->v[i];
    return NULL;
}

/* A release uploaded through another node: its bytes from the shared
 * store into this node's data folder (temp file named after the node,
 * checked against the release's SHA-256, fsynced, renamed into images/).
 * Errors are logged; the caller's open() then fails as for a missing file. */
static void fetch_blob(struct server *srv, const struct store_release *rel, const char *final)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    uint8_t h[32], want[32];
    struct stat st;
    void *map;
    int fd, ok = 0;

    snprintf(dir, sizeof dir, "%s/images", srv->data_dir);
    snprintf(tmp, sizeof tmp, "%s/tmp/fetch-%s-XXXXXX", srv->data_dir, srv->node_id);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        SLOG(SLOG_ERROR, "cannot create %s: %s", tmp, strerror(errno));
        return;
    }
    if (srv->ops->blob_get(srv->store, rel->sha256, fd) == STORE_OK && fstat(fd, &st) == 0 &&
        (uint64_t)st.st_size == (uint64_t)rel->size && st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            keys_sha256(map, (size_t)st.st_size, h);
            ok = keys_unhex(rel->sha256, want, 32) == 0 && keys_ct_equal(h, want, 32);
            munmap(map, (size_t)st.st_size);
        }
    }
    if (ok && fsync(fd) == 0 && fchmod(fd, 0444) == 0 && rename(tmp, final) == 0 &&
        fsync_dir(dir) == 0) {
        SLOG(SLOG_INFO, "release %lld: fetched %lld bytes from the database into %s",
             (long long)rel->id, (long long)rel->size, final);
    } else {
        SLOG(SLOG_ERROR, "release %lld: cannot fetch its bytes from the database%s",
             (long long)rel->id, ok ? "" : " (missing, or not its sha256)");
        unlink(tmp);
    }
    close(fd);
}

int images_get(struct server *srv, int64_t id, const struct image **out)
{
    struct image_cache *c = srv->images;
    struct image *img;
    char path[PATH_MAX];
    struct stat st;
    uint8_t h[32];
    int fd, rc;

    pthread_mutex_lock(&c->mu);
    img = cache_find(c, id);
    pthread_mutex_unlock(&c->mu);
    if (img) {
        *out = img;
        return STORE_OK;
    }

    img = calloc(1, sizeof *img);
    if (!img)
        return STORE_ERR;
    rc = srv->ops->release_get(srv->store, id, &img->rel);
    if (rc != STORE_OK) {
        free(img);
        return rc;
    }
    snprintf(path, sizeof path, "%s/images/%s", srv->data_dir, img->rel.sha256);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && srv->ops->blob_get) {
        fetch_blob(srv, &img->rel, path);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != (uint64_t)img->rel.size ||
        st.st_size == 0) {
        SLOG(SLOG_ERROR, "release %lld: image file %s is missing or not %lld bytes", (long long)id,
             path, (long long)img->rel.size);
        if (fd >= 0)
            close(fd);
        free(img);
        return STORE_ERR;
    }
    img->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (img->data == MAP_FAILED) {
        SLOG(SLOG_ERROR, "release %lld: mmap of %s failed: %s", (long long)id, path,
             strerror(errno));
        free(img);
        return STORE_ERR;
    }
    img->size = (size_t)st.st_size;
    /* Bytes on disk could have rotted or been replaced: serve only what
     * still hashes to the release's SHA-256. */
    keys_sha256(img->data, img->size, h);
    if (keys_unhex(img->rel.sha256, img->sha, 32) < 0 || !keys_ct_equal(h, img->sha, 32)) {
        SLOG(SLOG_ERROR, "release %lld: %s does not hash to its sha256; not serving it",
             (long long)id, path);
        munmap((void *)img->data, img->size);
        free(img);
        return STORE_ERR;
    }
    if (image_b64(img) < 0) {
        SLOG(SLOG_ERROR, "release %lld: no memory for its base64 chunks", (long long)id);
        image_free(img);
        return STORE_ERR;
    }
    pthread_mutex_lock(&c->mu);
    struct image *other = cache_find(c, id);
    int cached = 0;
    if (!other) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            struct image **v = realloc(c->v, cap * sizeof *v);
            if (v) {
                c->v = v;
                c->cap = cap;
            }
        }
        if (c->n < c->cap) {
            c->v[c->n++] = img;
            cached = 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (!cached) {
        /* another thread mapped it first, or no memory to cache it */
        image_free(img);
        if (!other)
            return STORE_ERR;
        img = other;
    }
    *out = img;
    return STORE_OK;
}
