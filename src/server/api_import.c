/*
 * api_import.c - onboarding a fleet:
 *   POST /api/admin/device-import   thousands of devices in one idempotent
 *        call, from CSV (Content-Type: text/csv; "id,chip,tags" lines, tags
 *        separated by ';', a header line and '#' comments allowed) or JSON
 *        ({"devices": [{"id": ..., "chip": ..., "tags": [...], "key": ...}]}).
 *        A key (64 hex, 4th CSV field) is one the device already holds: it
 *        is stored wrapped under the master secret (keys_wrap), never in
 *        clear; without one the key is derived (keys.h).
 *        The answer reports every line: created, exists (same chip; its tags
 *        are added) or error (why), with the device's key for the created
 *        and existing ones, so the factory's provisioning export can be made
 *        (and made again) from it.
 *   POST /api/admin/device-tags     {"device": ID, "add": [...], "remove": [...]}
 * Device keys are derived from the master secret (keys.h), never stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fota/esp_image.h"
#include "devcache.h"
#include "http.h"
#include "keys.h"
#include "log.h"

#define IMPORT_ROWS_MAX 100000

struct line {
    int lineno;
    const char *error; /* a refusal of this line before the store */
    char msg[120];
    int has_key;
    uint8_t key[KEY_LEN]; /* the imported key, wiped after use */
};

/* A key given for a row: 64 hex digits. */
static const char *take_key(const char *hex, struct line *l)
{
    if (!hex || !*hex)
        return NULL;
    if (strlen(hex) != 2 * KEY_LEN || keys_unhex(hex, l->key, KEY_LEN) < 0)
        return "key must be 64 hex digits";
    l->has_key = 1;
    return NULL;
}

static int valid_tag(const char *t)
{
    return t && *t && strlen(t) <= STORE_TAG_MAX && keys_valid_device_id(t);
}

static void trim(char **s, char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

/* One CSV line (NUL-terminated, modified) into row; NULL or the problem. */
static const char *csv_row(char *p, struct store_import_row *row, struct line *l)
{
    char *f[4] = {NULL, NULL, NULL, NULL}, *end;
    const char *why;
    int nf = 0;

    while (nf < 4) {
        char *comma = strchr(p, ',');
        end = comma ? comma : p + strlen(p);
        trim(&p, &end);
        *end = '\0';
        f[nf++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    /* as given, for the report (printable ASCII: the report is JSON) */
    snprintf(row->id, sizeof row->id, "%s", f[0]);
    for (char *c = row->id; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    if (strchr(p, ',') && nf == 4)
        return "more than 4 fields (id,chip,tags,key)";
    if (!keys_valid_device_id(f[0]))
        return "id must be 1-64 of [A-Za-z0-9._-]";
    row->chip = f[1] && *f[1] ? fota_chip_from_name(f[1]) : 0;
    if (row->chip < 0)
        return "unknown chip (esp32, esp32s2, esp32s3, esp32c3, ...)";
    char *save = NULL;
    for (char *tok = f[2] ? strtok_r(f[2], "; ", &save) : NULL; tok;
         tok = strtok_r(NULL, "; ", &save)) {
        if (row->ntags == STORE_TAGS_MAX)
            return "more than 8 tags";
        if (!valid_tag(tok))
            return "a tag must be 1-32 of [A-Za-z0-9._-]";
        snprintf(row->tags[row->ntags++], sizeof row->tags[0], "%s", tok);
    }
    if ((why = take_key(f[3], l)))
        return why;
    return NULL;
}

static const char *json_row(json_t *o, struct store_import_row *row, struct line *l)
{
    const char *key;
    json_t *v, *tags;
    size_t i;

    if (!json_is_object(o))
        return "not an object";
    json_object_foreach(o, key, v)
        if (strcmp(key, "id") && strcmp(key, "chip") && strcmp(key, "tags") && strcmp(key, "key"))
            return "unknown field (expected id, chip, tags, key)";
    if (!keys_valid_device_id(json_string_value(json_object_get(o, "id"))))
        return "id must be 1-64 of [A-Za-z0-9._-]";
    snprintf(row->id, sizeof row->id, "%s", json_string_value(json_object_get(o, "id")));
    v = json_object_get(o, "chip");
    row->chip = !v ? 0 : json_is_string(v) ? fota_chip_from_name(json_string_value(v)) : -1;
    if (row->chip < 0)
        return "unknown chip (esp32, esp32s2, esp32s3, esp32c3, ...)";
    tags = json_object_get(o, "tags");
    if (tags && !json_is_array(tags))
        return "tags must be a list";
    json_array_foreach(tags, i, v) {
        if (row->ntags == STORE_TAGS_MAX)
            return "more than 8 tags";
        if (!valid_tag(json_string_value(v)))
            return "a tag must be 1-32 of [A-Za-z0-9._-]";
        snprintf(row->tags[row->ntags++], sizeof row->tags[0], "%s", json_string_value(v));
    }
    v = json_object_get(o, "key");
    if (v && !json_is_string(v))
        return "key must be 64 hex digits";
    return take_key(json_string_value(v), l);
}

/* Parse the body into rows/lines; -1 when it has answered. */
static int parse_import(struct request *r, struct store_import_row **rows_out,
                        struct line **lines_out, size_t *n_out)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    int csv = ct && !strncasecmp(ct, "text/csv", 8);
    struct store_import_row *rows = NULL;
    struct line *lines = NULL;
    size_t n = 0, cap = 0;
    json_t *doc = NULL, *list = NULL;
    char *copy = NULL, *p, *nl;
    int lineno = 0;

    if (csv) {
        if (!(copy = malloc(r->body_len + 1)))
            return -1;
        memcpy(copy, r->body ? r->body : "", r->body_len);
        copy[r->body_len] = '\0';
        if (strlen(copy) != r->body_len) {
            free(copy);
            http_error(r, 400, "bad_request", "the CSV holds a NUL byte");
            return -1;
        }
    } else {
        json_error_t je;
        doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
        list = json_object_get(doc, "devices");
        if (!json_is_array(list) || json_object_size(doc) != 1) {
            json_decref(doc);
            http_error(r, 400, "bad_request", "body must be {\"devices\": [...]} (JSON) or CSV "
                       "with Content-Type: text/csv");
            return -1;
        }
    }
    for (p = copy;; ) {
        struct store_import_row row;
        const char *why;
        char *line = NULL;
        json_t *item = NULL;

        if (csv) {
            if (!p || !*p)
                break;
            nl = strchr(p, '\n');
            if (nl)
                *nl = '\0';
            line = p;
            p = nl ? nl + 1 : NULL;
            lineno++;
            while (*line == ' ' || *line == '\t')
                line++;
            if (!*line || *line == '\r' || *line == '#' ||
                (lineno == 1 && !strncmp(line, "id,", 3) && strstr(line, "chip")))
                continue;
        } else {
            if ((size_t)lineno >= json_array_size(list))
                break;
            item = json_array_get(list, (size_t)lineno++);
        }
        if (n == IMPORT_ROWS_MAX) {
            free(rows), free(lines), free(copy), json_decref(doc);
            http_error(r, 413, "too_large", "at most %d devices per import", IMPORT_ROWS_MAX);
            return -1;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            void *a = realloc(rows, nc * sizeof *rows), *b;
            if (!a)
                break;
            rows = a;
            if (!(b = realloc(lines, nc * sizeof *lines)))
                break;
            lines = b;
            cap = nc;
        }
        memset(&row, 0, sizeof row);
        memset(&lines[n], 0, sizeof lines[n]);
        why = csv ? csv_row(line, &row, &lines[n]) : json_row(item, &row, &lines[n]);
        lines[n].lineno = lineno;
        if (!why)
            for (size_t k = 0; k < n && !why; k++)
                if (!lines[k].error && !strcmp(rows[k].id, row.id))
                    why = "the same id is on an earlier line";
        lines[n].error = why;
        rows[n++] = row;
    }
    free(copy);
    json_decref(doc);
    *rows_out = rows;
    *lines_out = lines;
    *n_out = n;
    return 0;
}

enum MHD_Result admin_device_import_post(struct request *r)
{
    struct server *srv = r->srv;
    struct store_import_row *rows = NULL, *good = NULL;
    struct line *lines = NULL;
    size_t n = 0, ngood = 0, created = 0, existing = 0, failed = 0;
    char buf[128];
    json_t *out;
    int rc;

    if (http_query_problem(r, NULL, NULL, buf, sizeof buf))
        return http_error(r, 400, "bad_request", "%s", buf);
    if (parse_import(r, &rows, &lines, &n) < 0)
        return MHD_YES;
    good = calloc(n ? n : 1, sizeof *good);
    if (!good) {
        free(rows), free(lines);
        return MHD_NO;
    }
    for (size_t i = 0; i < n; i++) {
        if (lines[i].error)
            continue;
        if (lines[i].has_key) {
            rows[i].has_key = 1;
            if (keys_wrap(&srv->keys, rows[i].id, lines[i].key, rows[i].wrapped) < 0) {
                lines[i].error = "cannot wrap the key";
                continue;
            }
        }
        good[ngood++] = rows[i];
    }
    rc = ngood ? srv->ops->device_import(srv->store, good, ngood) : STORE_OK;
    if (rc != STORE_OK) {
        free(rows), free(lines), free(good);
        return http_store_error(r, rc, "registering the devices");
    }
    out = json_array();
    for (size_t i = 0, g = 0; i < n; i++) {
        json_t *o = json_pack("{s:i, s:s}", "line", lines[i].lineno, "id", rows[i].id);
        if (lines[i].error) {
            json_object_set_new(o, "result", json_string("error"));
            json_object_set_new(o, "error", json_string(lines[i].error));
            failed++;
        } else {
            struct store_import_row *row = &good[g++];
            if (row->result == STORE_ERR) {
                snprintf(lines[i].msg, sizeof lines[i].msg, "already registered as an %s",
                         fota_chip_name(row->existing_chip));
                json_object_set_new(o, "result", json_string("error"));
                json_object_set_new(o, "error", json_string(lines[i].msg));
                failed++;
            } else {
                uint8_t key[KEY_LEN];
                char hex[65];
                json_t *tags;
                if (devcache_device_key(srv, row->id, key) < 0) {
                    json_decref(o);
                    json_decref(out);
                    for (size_t z = 0; z < n; z++)
                        explicit_bzero(lines[z].key, KEY_LEN);
                    free(rows), free(lines), free(good);
                    return http_store_error(r, STORE_ERR, "reading a device key");
                }
                if (lines[i].has_key && !keys_ct_equal(key, lines[i].key, KEY_LEN)) {
                    /* registered before with another key: the device's key
                     * would not authenticate */
                    explicit_bzero(key, sizeof key);
                    json_object_set_new(o, "result", json_string("error"));
                    json_object_set_new(o, "error", json_string("already registered with "
                                                                "another key"));
                    json_array_append_new(out, o);
                    failed++;
                    continue;
                }
                tags = json_array();
                keys_hex(key, KEY_LEN, hex);
                explicit_bzero(key, sizeof key);
                for (int t = 0; t < row->ntags; t++)
                    json_array_append_new(tags, json_string(row->tags[t]));
                json_object_set_new(o, "result", json_string(row->result == STORE_OK ? "created"
                                                                                     : "exists"));
                json_object_set_new(o, "chip", json_string(fota_chip_name(row->chip)));
                json_object_set_new(o, "tags", tags);
                json_object_set_new(o, "key", json_string(hex));
                explicit_bzero(hex, sizeof hex);
                if (row->result == STORE_OK)
                    created++;
                else
                    existing++;
            }
        }
        json_array_append_new(out, o);
    }
    SLOG(SLOG_INFO, "device import: %zu created, %zu already there, %zu refused", created,
         existing, failed);
    for (size_t z = 0; z < n; z++)
        explicit_bzero(lines[z].key, KEY_LEN);
    explicit_bzero(good, (n ? n : 1) * sizeof *good);
    free(rows), free(lines), free(good);
    return http_json(r, 200, json_pack("{s:I, s:I, s:I, s:o}", "created", (json_int_t)created,
                                       "existing", (json_int_t)existing, "failed",
                                       (json_int_t)failed, "devices", out));
}

static int tag_cb(void *ctx, const char *tag)
{
    json_array_append_new(ctx, json_string(tag));
    return 0;
}

/* A list of tags from field name of o into v[] (at most STORE_TAGS_MAX). */
static int tag_list(json_t *o, const char *name, const char **v, size_t *n)
{
    json_t *a = json_object_get(o, name), *t;
    size_t i;
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > STORE_TAGS_MAX)
        return -1;
    json_array_foreach(a, i, t) {
        if (!valid_tag(json_string_value(t)))
            return -1;
        v[(*n)++] = json_string_value(t);
    }
    return 0;
}

enum MHD_Result admin_device_tags_post(struct request *r)
{
    struct server *srv = r->srv;
    const char *add[STORE_TAGS_MAX], *rem[STORE_TAGS_MAX], *id, *key;
    size_t nadd, nrem;
    json_error_t je;
    json_t *o, *v, *tags;
    char buf[128];
    int rc;
    enum MHD_Result ret;

    if (http_query_problem(r, NULL, NULL, buf, sizeof buf))
        return http_error(r, 400, "bad_request", "%s", buf);
    o = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return http_error(r, 400, "bad_request", "body must be {\"device\": ID, \"add\": [...], "
                          "\"remove\": [...]}");
    }
    json_object_foreach(o, key, v)
        if (strcmp(key, "device") && strcmp(key, "add") && strcmp(key, "remove")) {
            json_decref(o);
            return http_error(r, 400, "bad_request", "unknown field \"%.40s\" (expected device, "
                              "add, remove)", key);
        }
    id = json_string_value(json_object_get(o, "device"));
    if (!keys_valid_device_id(id) || tag_list(o, "add", add, &nadd) ||
        tag_list(o, "remove", rem, &nrem)) {
        json_decref(o);
        return http_error(r, 400, "bad_request", "device must be a device id, add and remove "
                          "lists of at most 8 tags of 1-32 [A-Za-z0-9._-]");
    }
    rc = srv->ops->device_tag(srv->store, id, add, nadd, rem, nrem);
    if (rc == STORE_NOT_FOUND) {
        ret = http_error(r, 404, "not_found", "unknown device \"%s\"", id);
        json_decref(o);
        return ret;
    }
    tags = json_array();
    if (rc == STORE_OK)
        rc = srv->ops->device_tags(srv->store, id, tag_cb, tags);
    if (rc != STORE_OK) {
        json_decref(o);
        json_decref(tags);
        return http_store_error(r, rc, "tagging the device");
    }
    ret = http_json(r, 200, json_pack("{s:s, s:o}", "id", id, "tags", tags));
    json_decref(o);
    return ret;
}
