/*
 * harness.h - black-box test harness for fota-server: starts the real binary
 * (fork/exec, --port 0 --port-file) on a fresh temp folder, talks to it over
 * HTTP on 127.0.0.1 with libcurl, and stops or kills it.
 *
 * Every check prints what was expected and what came, then aborts the test
 * program (ctest reports the failure with that output).
 */
#ifndef FOTA_TEST_SERVER_HARNESS_H
#define FOTA_TEST_SERVER_HARNESS_H

#include "fota/wire.h" /* the wire rules: chunk-HMAC prefix, v2 layout */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <jansson.h>

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                             \
            fprintf(stderr, "\n");                                                    \
            abort();                                                                  \
        }                                                                             \
    } while (0)

extern const char *h_server_bin; /* argv[1] */
extern const char *h_fw_dir;     /* argv[2] */
extern const char *h_admin_token;

struct srv {
    pid_t pid;
    unsigned port;
    char dir[256];  /* holds db.sqlite, data/, master.key, admin.token, server.log */
    char url[64];   /* http://127.0.0.1:PORT */
    char db[512];   /* --db: <dir>/db.sqlite, or a PostgreSQL conninfo (FOTA_TEST_PG) */
};

/* Whether the servers run on PostgreSQL: FOTA_TEST_PG is set (a conninfo
 * without dbname, from tests/lib/pgcluster.sh); then h_newdir also creates
 * a fresh database for the server, so the same tests run on both stores. */
int h_pg(void);
/* Runs sql on s's database (SQLite file or PostgreSQL database) as an
 * operator would, outside the server: 0 and the first column of the first
 * row in out ("" when no row), or -1 and the error message in out. */
int h_sql(struct srv *s, const char *sql, char *out, size_t n);

/* Parse argv (server binary, firmware dir), init libcurl. */
void h_init(int argc, char **argv);
/* Make a fresh temp dir for s (s->dir). */
void h_newdir(struct srv *s);
/* Start fota-server on s->dir (NULL-terminated extra args). Waits for the
 * port file. */
void h_start(struct srv *s, const char *const *extra);
void h_stop(struct srv *s);  /* SIGTERM, expects exit 0 */
void h_kill(struct srv *s);  /* SIGKILL */
void h_cleanup(struct srv *s); /* rm -rf s->dir */

struct resp {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[128];
    char retry_after[32];
};
void resp_free(struct resp *r);
/* libcurl write callback appending the body to a struct resp (NUL-kept). */
size_t h_body_sink(char *p, size_t sz, size_t n, void *ud);

/* One request. headers: NULL-terminated. body may be NULL. Returns 0, or -1
 * on a transport error (connection refused, reset). */
int h_http(struct resp *r, const char *method, const char *url, const char *const *headers,
           const void *body, size_t len);

/* Admin call; checks the status and returns the parsed JSON (or NULL for 204). */
json_t *h_admin(struct srv *s, const char *method, const char *path, const char *body,
                long want_status);
/* Upload a release from fw dir file (query e.g. "version=1.0.0"). */
json_t *h_upload(struct srv *s, const char *fw_file, const char *query, struct resp *raw);

/* Device credentials: key from "device add", headers ready for h_http. */
struct dev {
    char id[65];
    uint8_t key[32];
    char hid[128];
    char htok[128];
};
void h_device_add(struct srv *s, const char *id, const char *chip, struct dev *d);
void h_device_creds(struct dev *d, const char *id, const uint8_t key[32]);
/* Device GET/POST. */
int h_dev(struct dev *d, struct resp *r, const char *method, struct srv *s, const char *path,
          const char *body);

/* Checks an error answer: status, JSON content type, {"error": code, "message": ...}. */
void h_check_error(const struct resp *r, long status, const char *code);

uint8_t *h_read_file(const char *path, size_t *len);
char *h_fw_path(const char *name); /* static buffer */
void h_hex(const uint8_t *in, size_t n, char *out);
void h_sha256(const void *data, size_t n, uint8_t out[32]);
void h_chunk_hmac(const uint8_t key[32], const uint8_t sha[32], uint32_t n, const uint8_t *data,
                  size_t len, char hex_out[65]);
/* Decode standard padded base64; checks it is canonical. Returns malloc'd. */
uint8_t *h_b64decode(const char *s, size_t *len);

#endif
