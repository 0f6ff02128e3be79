/*
 * partcsv.c - ESP-IDF partition CSV parser and binary table writer (see
 * partcsv.h). Follows gen_esp32part.py: full-line '#' comments, fields split
 * on ',' and stripped, keywords case-insensitive, numbers as int(v, 0) with
 * an optional K/M suffix, an empty Offset placed after the previous
 * partition (aligned 0x10000 for app, 0x1000 for data), and partitions in
 * ascending order so that an explicit offset below the previous end is an
 * overlap. It is stricter where a device would fail later anyway.
 */
#include "partcsv.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md5.h>

#include "fota/error.h"

static const char default_csv[] =
    "# Name,   Type, SubType, Offset,  Size, Flags\n"
    "nvs,      data, nvs,     0x9000,  0x5000,\n"
    "otadata,  data, ota,     0xe000,  0x2000,\n"
    "app0,     app,  ota_0,   0x10000, 0x140000,\n"
    "app1,     app,  ota_1,   0x150000,0x140000,\n"
    "spiffs,   data, spiffs,  0x290000,0x15C000,\n"
    "fota,     data, undefined,0x3EC000,0x4000,\n"
    "coredump, data, coredump,0x3F0000,0x10000,\n";

const char *sim_pt_default_csv(void)
{
    return default_csv;
}

static const struct {
    const char *name;
    uint8_t sub;
} data_subtypes[] = {
    {"ota", FOTA_PT_SUB_OTADATA},   {"phy", FOTA_PT_SUB_PHY},
    {"nvs", FOTA_PT_SUB_NVS},       {"coredump", FOTA_PT_SUB_COREDUMP},
    {"nvs_keys", FOTA_PT_SUB_NVS_KEYS}, {"efuse", FOTA_PT_SUB_EFUSE},
    {"undefined", FOTA_PT_SUB_UNDEFINED}, {"esphttpd", FOTA_PT_SUB_ESPHTTPD},
    {"fat", FOTA_PT_SUB_FAT},       {"spiffs", FOTA_PT_SUB_SPIFFS},
    {"littlefs", FOTA_PT_SUB_LITTLEFS},
};
#define N_DATA_SUBTYPES (sizeof data_subtypes / sizeof data_subtypes[0])

#define MAX_FIELD 64

static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
    va_list ap;
    int n = 0;
    if (err && errlen) {
        if (line > 0)
            n = snprintf(err, errlen, "line %d: ", line);
        if (n >= 0 && (size_t)n < errlen) {
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return FOTA_ERR_PTABLE;
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* int(v, 0) with an optional k/m suffix; 0 on success. Only values that fit
 * in 32 bits are accepted. */
static int parse_num(const char *v, uint32_t *out)
{
    uint64_t mul = 1, x = 0;
    size_t n = strlen(v);
    int base = 10, digits = 0;

    if (n && (v[n - 1] == 'k' || v[n - 1] == 'K'))
        mul = 1024, n--;
    else if (n && (v[n - 1] == 'm' || v[n - 1] == 'M'))
        mul = 1024 * 1024, n--;
    if (n >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'))
        base = 16, v += 2, n -= 2;
    else if (n > 1 && v[0] == '0')
        return -1; /* Python refuses "010" */
    for (; n; v++, n--) {
        int d;
        if (*v >= '0' && *v <= '9')
            d = *v - '0';
        else if (base == 16 && isxdigit((unsigned char)*v))
            d = tolower((unsigned char)*v) - 'a' + 10;
        else
            return -1;
        x = x * (uint64_t)base + (uint64_t)d;
        if (x > 0xFFFFFFFFull)
            return -1;
        digits++;
    }
    if (!digits)
        return -1;
    x *= mul;
    if (x > 0xFFFFFFFFull)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

static int parse_type(const char *v, uint8_t *t)
{
    uint32_t x;
    if (ieq(v, "app"))
        *t = FOTA_PT_TYPE_APP;
    else if (ieq(v, "data"))
        *t = FOTA_PT_TYPE_DATA;
    else if (parse_num(v, &x) == 0 && x <= 0xFE)
        *t = (uint8_t)x;
    else
        return -1;
    return 0;
}

static int parse_subtype(const char *v, uint8_t type, uint8_t *s)
{
    uint32_t x;
    unsigned i;

    if (type == FOTA_PT_TYPE_APP) {
        if (ieq(v, "factory")) {
            *s = FOTA_PT_SUB_FACTORY;
            return 0;
        }
        if (ieq(v, "test")) {
            *s = FOTA_PT_SUB_TEST;
            return 0;
        }
        if ((v[0] == 'o' || v[0] == 'O') && strlen(v) >= 5 && strlen(v) <= 6 &&
            (v[1] == 't' || v[1] == 'T') && (v[2] == 'a' || v[2] == 'A') && v[3] == '_' &&
            isdigit((unsigned char)v[4]) && (v[5] == '\0' || isdigit((unsigned char)v[5])) &&
            !(v[4] == '0' && v[5])) {
            unsigned n = (unsigned)(v[4] - '0');
            if (v[5])
                n = n * 10u + (unsigned)(v[5] - '0');
            if (n >= FOTA_MAX_OTA_SLOTS)
                return -1;
            *s = (uint8_t)(FOTA_PT_SUB_OTA_0 + n);
            return 0;
        }
    } else if (type == FOTA_PT_TYPE_DATA) {
        for (i = 0; i < N_DATA_SUBTYPES; i++)
            if (ieq(v, data_subtypes[i].name)) {
                *s = data_subtypes[i].sub;
                return 0;
            }
    }
    if (parse_num(v, &x) == 0 && x <= 0xFE) {
        *s = (uint8_t)x;
        return 0;
    }
    return -1;
}

/* Split one line into up to 7 stripped fields (7 = "too many"). */
static int split_fields(const char *line, size_t len, char f[7][MAX_FIELD], int *nf,
                        int *too_long)
{
    size_t i = 0;
    int n = 0;

    *too_long = 0;
    while (n < 7) {
        size_t start = i, end;
        while (i < len && line[i] != ',')
            i++;
        end = i;
        while (start < end && isspace((unsigned char)line[start]))
            start++;
        while (end > start && isspace((unsigned char)line[end - 1]))
            end--;
        if (end - start >= MAX_FIELD) {
            *too_long = 1;
            end = start + MAX_FIELD - 1;
        }
        memcpy(f[n], line + start, end - start);
        f[n][end - start] = '\0';
        n++;
        if (i >= len)
            break;
        i++; /* skip ',' */
    }
    *nf = n;
    return 0;
}

static const char *type_name(uint8_t t)
{
    return t == FOTA_PT_TYPE_APP ? "app" : "data";
}

int sim_pt_parse_csv_flash(const char *text, uint32_t flash_size, uint32_t pt_offset,
                           struct fota_partition *out, int max, int *count, char *err,
                           size_t errlen)
{
    /* first free offset: right after the partition table's sector */
    uint64_t last_end = (uint64_t)(pt_offset ? pt_offset : FOTA_PT_OFFSET_DEFAULT) +
                        FOTA_SECTOR_SIZE;
    const char *p = text;
    int line_no = 0, n = 0, i;

    if (!text || !out || !count || max < 0)
        return FOTA_ERR_PARAM;
    *count = 0;
    if (err && errlen)
        err[0] = '\0';
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *q = p;
        char f[7][MAX_FIELD];
        int nf, too_long;
        struct fota_partition part;
        uint32_t align, off, size;

        line_no++;
        p = eol ? eol + 1 : p + len;
        while (len && isspace((unsigned char)*q))
            q++, len--;
        while (len && isspace((unsigned char)q[len - 1]))
            len--;
        if (len == 0 || q[0] == '#')
            continue;

        split_fields(q, len, f, &nf, &too_long);
        if (nf < 5)
            return fail(err, errlen, line_no,
                        "expected at least 5 fields (Name, Type, SubType, Offset, Size), found %d",
                        nf);
        if (nf > 6)
            return fail(err, errlen, line_no,
                        "expected at most 6 fields (Name, Type, SubType, Offset, Size, Flags), found more");
        if (too_long)
            return fail(err, errlen, line_no, "field longer than %d characters", MAX_FIELD - 1);
        if (n >= max || n >= SIM_PT_MAX_ENTRIES)
            return fail(err, errlen, line_no, "too many partitions (at most %d)",
                        max < SIM_PT_MAX_ENTRIES ? max : SIM_PT_MAX_ENTRIES);

        memset(&part, 0, sizeof part);
        if (f[0][0] == '\0')
            return fail(err, errlen, line_no, "expected a partition name, found an empty field");
        if (strlen(f[0]) > 16)
            return fail(err, errlen, line_no, "name '%s' is longer than 16 characters", f[0]);
        for (i = 0; i < n; i++)
            if (strcmp(out[i].label, f[0]) == 0)
                return fail(err, errlen, line_no, "duplicate partition name '%s'", f[0]);
        strcpy(part.label, f[0]);

        if (parse_type(f[1], &part.type))
            return fail(err, errlen, line_no,
                        "expected type 'app', 'data' or a number 0x00-0xFE, found '%s'", f[1]);
        if (parse_subtype(f[2], part.type, &part.subtype)) {
            if (part.type == FOTA_PT_TYPE_APP)
                return fail(err, errlen, line_no,
                            "expected app subtype factory, ota_0..ota_15, test or a number, found '%s'",
                            f[2]);
            if (part.type == FOTA_PT_TYPE_DATA)
                return fail(err, errlen, line_no,
                            "expected data subtype ota, phy, nvs, coredump, nvs_keys, efuse, "
                            "undefined, esphttpd, fat, spiffs, littlefs or a number, found '%s'",
                            f[2]);
            return fail(err, errlen, line_no, "expected a subtype number 0x00-0xFE, found '%s'",
                        f[2]);
        }

        align = part.type == FOTA_PT_TYPE_APP ? FOTA_APP_ALIGN : FOTA_SECTOR_SIZE;
        if (f[3][0] == '\0') {
            last_end = (last_end + align - 1u) / align * align;
            if (last_end > 0xFFFFFFFFull)
                return fail(err, errlen, line_no, "auto offset ends past 4 GB");
            off = (uint32_t)last_end;
        } else {
            if (parse_num(f[3], &off))
                return fail(err, errlen, line_no,
                            "expected offset as 0x hex, decimal or with K/M suffix, found '%s'",
                            f[3]);
            if (off % align)
                return fail(err, errlen, line_no, "offset '%s' is not aligned to 0x%x for %s",
                            f[3], (unsigned)align, type_name(part.type));
            if (off < last_end) {
                if (n == 0)
                    return fail(err, errlen, line_no,
                                "offset '%s' overlaps the partition table; expected 0x%x or higher",
                                f[3], (unsigned)last_end);
                return fail(err, errlen, line_no,
                            "offset '%s' overlaps '%s', which ends at 0x%x", f[3],
                            out[n - 1].label, (unsigned)last_end);
            }
        }
        if (f[4][0] == '\0')
            return fail(err, errlen, line_no, "expected a size, found an empty field");
        if (parse_num(f[4], &size) || size == 0)
            return fail(err, errlen, line_no,
                        "expected a non-zero size as 0x hex, decimal or with K/M suffix, found '%s'",
                        f[4]);
        if (size % FOTA_SECTOR_SIZE)
            return fail(err, errlen, line_no, "size '%s' is not a multiple of 0x1000", f[4]);
        if ((uint64_t)off + size > flash_size)
            return fail(err, errlen, line_no, "size '%s' ends past the %u%s flash (at 0x%llx)",
                        f[4],
                        flash_size % (1024u * 1024u) ? flash_size / 1024u
                                                     : flash_size / (1024u * 1024u),
                        flash_size % (1024u * 1024u) ? " KB" : " MB",
                        (unsigned long long)off + size);
        if (part.type == FOTA_PT_TYPE_DATA && part.subtype == FOTA_PT_SUB_OTADATA &&
            size != 2 * FOTA_SECTOR_SIZE)
            return fail(err, errlen, line_no, "otadata size must be 0x2000, found '%s'", f[4]);
        for (i = 0; i < n; i++) {
            if (part.type == FOTA_PT_TYPE_DATA && part.subtype == FOTA_PT_SUB_OTADATA &&
                out[i].type == part.type && out[i].subtype == part.subtype)
                return fail(err, errlen, line_no, "a second otadata partition ('%s' is one)",
                            out[i].label);
            if (part.type == FOTA_PT_TYPE_APP && part.subtype != FOTA_PT_SUB_TEST &&
                out[i].type == part.type && out[i].subtype == part.subtype)
                return fail(err, errlen, line_no, "app subtype '%s' already used by '%s'", f[2],
                            out[i].label);
        }
        part.offset = off;
        part.size = size;

        if (nf == 6 && f[5][0]) {
            char *tok = f[5], *c;
            for (;;) {
                c = strchr(tok, ':');
                if (c)
                    *c = '\0';
                while (isspace((unsigned char)*tok))
                    tok++;
                {
                    size_t tl = strlen(tok);
                    while (tl && isspace((unsigned char)tok[tl - 1]))
                        tok[--tl] = '\0';
                }
                if (ieq(tok, "encrypted"))
                    part.flags |= SIM_PT_FLAG_ENCRYPTED;
                else if (ieq(tok, "readonly"))
                    part.flags |= SIM_PT_FLAG_READONLY;
                else
                    return fail(err, errlen, line_no,
                                "expected flags 'encrypted' or 'readonly' (joined by ':'), found '%s'",
                                tok);
                if (!c)
                    break;
                tok = c + 1;
            }
        }
        last_end = (uint64_t)off + size;
        out[n++] = part;
    }
    if (n == 0)
        return fail(err, errlen, 0, "no partitions in the CSV text");
    *count = n;
    return FOTA_OK;
}

int sim_pt_parse_csv(const char *text, struct fota_partition *out, int max, int *count,
                     char *err, size_t errlen)
{
    return sim_pt_parse_csv_flash(text, SIM_PT_DEFAULT_FLASH, 0, out, max, count, err, errlen);
}

int sim_pt_write(struct nor_flash *f, uint32_t pt_offset, const struct fota_partition *p, int n)
{
    uint8_t buf[FOTA_PT_MAX_LEN];
    uint32_t len;
    int i, rc;

    if (!f || (!p && n) || n < 0 || n > SIM_PT_MAX_ENTRIES)
        return FOTA_ERR_PARAM;
    memset(buf, 0xFF, sizeof buf);
    for (i = 0; i < n; i++)
        fota_pt_encode(&p[i], buf + (uint32_t)i * FOTA_PT_ENTRY_LEN);
    len = (uint32_t)n * FOTA_PT_ENTRY_LEN;
    buf[len] = 0xEB;
    buf[len + 1] = 0xEB;
    if (mbedtls_md5_ret(buf, len, buf + len + 16) != 0)
        return FOTA_ERR_CRYPTO;
    len += FOTA_PT_ENTRY_LEN;
    if (!pt_offset)
        pt_offset = FOTA_PT_OFFSET_DEFAULT;
    rc = nor_erase(f, pt_offset);
    if (rc)
        return rc;
    return nor_program(f, pt_offset, buf, len);
}
