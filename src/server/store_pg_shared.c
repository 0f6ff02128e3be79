/*
 * store_pg_shared.c - what several fota-server nodes share through the
 * PostgreSQL database beyond the rows of store_pg.c: release bytes and the
 * fleet-wide download slots.
 *
 * Release bytes are content-addressed: rows (sha256, seq, data) of at most
 * BLOB_PART bytes, written in one transaction before the release row, so a
 * release visible to any node always has its bytes; each node keeps its own
 * file copy in its data folder (release.c fetches a missing one on first
 * use and checks its SHA-256 before serving it). Bytes travel in libpq's
 * binary format (no hex doubling).
 *
 * Download slots: one row per downloading device with the time it last
 * asked; admission takes a transaction-scoped advisory lock so two nodes
 * cannot both hand out the last slot. Slots are soft state (a lost one only
 * frees a slot early), so they commit with synchronous_commit off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_pg_int.h"

#define BLOB_PART (256 * 1024)
#define SLOTS_LOCK 0x666f7462 /* pg_advisory_xact_lock key of the slots */

static int blob_body(PGconn *c, const char *sha, const uint8_t *data, size_t len)
{
    for (size_t off = 0, seq = 0; off < len || (len == 0 && seq == 0); off += BLOB_PART, seq++) {
        size_t n = len - off < BLOB_PART ? len - off : BLOB_PART;
        char seqs[24];
        const char *v[3] = {sha, seqs, (const char *)data + off};
        int lens[3] = {0, 0, (int)n};
        int fmts[3] = {0, 0, 1};
        PGresult *r;
        int rc;

        snprintf(seqs, sizeof seqs, "%zu", seq);
        r = PQexecParams(c, "INSERT INTO release_blobs (sha256, seq, data) VALUES ($1,$2,$3)"
                            " ON CONFLICT DO NOTHING", 3, NULL, v, lens, fmts, 0);
        rc = pg_check(r, "store release bytes");
        PQclear(r);
        if (rc != STORE_OK)
            return STORE_ERR;
        if (len == 0)
            break;
    }
    return STORE_OK;
}

struct blob_put { const char *sha; const uint8_t *data; size_t len; };
static int blob_put_body(PGconn *c, void *ctx)
{
    const struct blob_put *b = ctx;
    return blob_body(c, b->sha, b->data, b->len);
}

int pg_blob_put(struct store *s, const char *sha, const uint8_t *data, size_t len)
{
    struct blob_put b = {sha, data, len};
    return pg_tx(s, blob_put_body, &b);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int pg_blob_get(struct store *s, const char *sha, int fd)
{
    const char *v[1] = {sha};
    PGconn *c = pg_acquire(s);
    PGresult *r;
    int rc;

    if (!c)
        return STORE_ERR;
    /* parts in order, as binary (resultFormat 1) */
    r = PQexecParams(c, "SELECT data FROM release_blobs WHERE sha256 = $1 ORDER BY seq", 1,
                     NULL, v, NULL, NULL, 1);
    rc = pg_check(r, "read release bytes");
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++)
        if (write_all(fd, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0))) {
            SLOG(SLOG_ERROR, "cannot write release %s to its cache file: %s", sha,
                 strerror(errno));
            rc = STORE_ERR;
        }
    PQclear(r);
    pg_release(s, c);
    return rc == STORE_EXISTS ? STORE_ERR : rc;
}

static int admit_body(PGconn *c, const char *id, unsigned max, int64_t now, unsigned idle)
{
    struct pg_args a = {0}, o = {0}, d = {0};
    PGresult *r;
    int n = 0, rc;
    int64_t held;

    pg_i64(&a, SLOTS_LOCK);
    if (pg_cmd(c, "SET LOCAL synchronous_commit = off", NULL, "slots", NULL) ||
        pg_cmd(c, "SELECT pg_advisory_xact_lock($1)", &a, "slots lock", NULL))
        return STORE_ERR;
    pg_i64(&o, now - (int64_t)idle);
    if (pg_cmd(c, "DELETE FROM download_slots WHERE refreshed_at < $1", &o, "free slots", NULL))
        return STORE_ERR;
    pg_i64(&d, now);
    pg_txt(&d, id);
    if (pg_cmd(c, "UPDATE download_slots SET refreshed_at = $1 WHERE device_id = $2", &d,
               "refresh slot", &n))
        return STORE_ERR;
    if (n == 1)
        return STORE_OK;
    r = pg_run(c, "SELECT COUNT(*) FROM download_slots", NULL);
    rc = pg_check(r, "count slots");
    held = rc == STORE_OK ? pg_i64_at(r, 0, 0) : 0;
    PQclear(r);
    if (rc != STORE_OK)
        return STORE_ERR;
    if (held >= (int64_t)max)
        return STORE_EXISTS;
    return pg_cmd(c, "INSERT INTO download_slots (refreshed_at, device_id) VALUES ($1,$2)", &d,
                  "take slot", NULL) ? STORE_ERR : STORE_OK;
}

int pg_download_admit(struct store *s, const char *id, unsigned max, int64_t now,
                      unsigned idle)
{
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    if (pg_cmd(c, "BEGIN", NULL, "begin", NULL)) {
        pg_release(s, c);
        return STORE_ERR;
    }
    rc = admit_body(c, id, max, now, idle);
    /* a refusal commits too: the expired slots it freed stay free */
    if (rc != STORE_ERR && pg_cmd(c, "COMMIT", NULL, "commit slots", NULL))
        rc = STORE_ERR;
    if (rc == STORE_ERR)
        pg_cmd(c, "ROLLBACK", NULL, "rollback", NULL);
    pg_release(s, c);
    return rc;
}

int pg_download_done(struct store *s, const char *id)
{
    struct pg_args a = {0};
    PGconn *c = pg_acquire(s);
    int rc;

    if (!c)
        return STORE_ERR;
    pg_txt(&a, id);
    rc = pg_cmd(c, "DELETE FROM download_slots WHERE device_id = $1", &a, "free slot", NULL);
    pg_release(s, c);
    return rc == STORE_OK ? STORE_OK : STORE_ERR;
}
