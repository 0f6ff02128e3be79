/*
 * version.c - the order of version strings (defined in
 * include/fota/version.h): SemVer 2.0.0 precedence, `git describe` forms
 * ordered by their tag and commit count, everything else unordered.
 *
 * A version is parsed into spans of the caller's string (no copy, no heap);
 * numbers are compared as digit strings, so no length overflows.
 */
#include "fota/fota.h"
#include "fota/version.h"

typedef char fota_version_limits_check[(FOTA_VERSION_OFFER_MAX + 1u == FOTA_VERSION_MAX &&
                                        FOTA_VERSION_RUNNING_MAX == FOTA_VERSION_MAX)
                                           ? 1
                                           : -1];

struct span {
    const char *p;
    uint32_t n;
};

struct ver {
    struct span num[3];   /* MAJOR, MINOR, PATCH */
    struct span pre;      /* pre-release identifiers, without the '-' */
    struct span count;    /* describe: commits after the tag ("0" when none) */
    struct span hash;     /* describe: abbreviated commit (n = 0 when none) */
    int dirty;
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_ident(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

static int all_digits(const char *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (!is_digit(p[i]))
            return 0;
    return n > 0;
}

/* Compare two decimal digit strings by value (leading zeros ignored). */
static int num_cmp(struct span a, struct span b)
{
    uint32_t i;
    while (a.n > 1 && a.p[0] == '0') {
        a.p++;
        a.n--;
    }
    while (b.n > 1 && b.p[0] == '0') {
        b.p++;
        b.n--;
    }
    if (a.n != b.n)
        return a.n < b.n ? -1 : 1;
    for (i = 0; i < a.n; i++)
        if (a.p[i] != b.p[i])
            return a.p[i] < b.p[i] ? -1 : 1;
    return 0;
}

/* Bytewise (ASCII) order; a prefix sorts first. */
static int ascii_cmp(struct span a, struct span b)
{
    uint32_t i, n = a.n < b.n ? a.n : b.n;
    for (i = 0; i < n; i++)
        if (a.p[i] != b.p[i])
            return (unsigned char)a.p[i] < (unsigned char)b.p[i] ? -1 : 1;
    return a.n == b.n ? 0 : (a.n < b.n ? -1 : 1);
}

/* A numeric part of MAJOR.MINOR.PATCH: digits, no leading zero. */
static int valid_number(struct span s)
{
    return all_digits(s.p, s.n) && (s.n == 1 || s.p[0] != '0');
}

/* Dot-separated non-empty identifiers; numeric ones without leading zeros
 * when strict (pre-release), any when not (build metadata). */
static int valid_idents(const char *p, uint32_t n, int strict)
{
    uint32_t i, start = 0;
    for (i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') {
            if (!is_ident(p[i]))
                return 0;
            continue;
        }
        if (i == start)
            return 0; /* empty identifier */
        if (strict && all_digits(p + start, i - start) && i - start > 1 && p[start] == '0')
            return 0;
        start = i + 1;
    }
    return 1;
}

/* SemVer 2.0.0 over [p, p + n): 0 when it is not one. */
static int parse_semver(const char *p, uint32_t n, struct ver *v)
{
    uint32_t i = 0, k, start;
    for (k = 0; k < 3; k++) {
        start = i;
        while (i < n && is_digit(p[i]))
            i++;
        v->num[k].p = p + start;
        v->num[k].n = i - start;
        if (!valid_number(v->num[k]))
            return 0;
        if (k < 2) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    v->pre.p = p + i;
    v->pre.n = 0;
    if (i < n && p[i] == '-') {
        start = ++i;
        while (i < n && p[i] != '+')
            i++;
        v->pre.p = p + start;
        v->pre.n = i - start;
        if (!valid_idents(v->pre.p, v->pre.n, 1))
            return 0;
    }
    if (i < n && p[i] == '+') {
        i++;
        if (!valid_idents(p + i, n - i, 0))
            return 0;
        i = n;
    }
    return i == n;
}

/* Parse s into v: 1 when it is of form 1 or 2 of version.h, else 0. */
static int parse(const char *s, struct ver *v)
{
    static const char dirty[] = "-dirty";
    uint32_t n = 0, e, h, c;

    while (s[n])
        n++;
    if (s[0] == 'v' || s[0] == 'V') {
        s++;
        n--;
    }
    v->dirty = 0;
    v->count.p = "0";
    v->count.n = 1;
    v->hash.p = s;
    v->hash.n = 0;
    if (n >= 6) {
        uint32_t i;
        for (i = 0; i < 6 && s[n - 6 + i] == dirty[i]; i++)
            ;
        if (i == 6) {
            v->dirty = 1;
            n -= 6;
        }
    }
    /* TAG-N-gHASH: scan the suffix from the end. A describe-shaped suffix
     * is never read as a SemVer pre-release, even with a bad HASH length. */
    for (h = 0; h < n && h <= 64 && is_hex(s[n - 1 - h]); h++)
        ;
    if (h >= 1 && n > h + 2 && s[n - 1 - h] == 'g' && s[n - 2 - h] == '-') {
        e = n - 2 - h; /* end of N */
        c = e;
        while (c > 0 && is_digit(s[c - 1]))
            c--;
        if (c < e && c > 1 && s[c - 1] == '-') {
            if (h < 4 || h > 64)
                return 0;
            v->count.p = s + c;
            v->count.n = e - c;
            v->hash.p = s + n - h;
            v->hash.n = h;
            n = c - 1;
        }
    }
    return n > 0 && parse_semver(s, n, v);
}

/* SemVer section 11.4: pre-release identifiers left to right. */
static int pre_cmp(struct span a, struct span b)
{
    uint32_t i = 0, j = 0;
    if (!a.n || !b.n)
        return a.n == b.n ? 0 : (a.n ? -1 : 1); /* a pre-release is below its release */
    for (;;) {
        struct span x, y;
        int c, xn, yn;
        if (i >= a.n || j >= b.n)
            return (i >= a.n) == (j >= b.n) ? 0 : (i >= a.n ? -1 : 1);
        x.p = a.p + i;
        for (x.n = 0; i < a.n && a.p[i] != '.'; i++)
            x.n++;
        y.p = b.p + j;
        for (y.n = 0; j < b.n && b.p[j] != '.'; j++)
            y.n++;
        i++; /* past the dot (or the end) */
        j++;
        xn = all_digits(x.p, x.n);
        yn = all_digits(y.p, y.n);
        if (xn && yn)
            c = num_cmp(x, y);
        else if (xn != yn)
            c = xn ? -1 : 1; /* numeric identifiers sort below alphanumeric ones */
        else
            c = ascii_cmp(x, y);
        if (c)
            return c;
    }
}

/* Two abbreviations of one commit: one is a prefix of the other. */
static int same_commit(struct span a, struct span b)
{
    uint32_t i, n = a.n < b.n ? a.n : b.n;
    for (i = 0; i < n; i++)
        if (a.p[i] != b.p[i])
            return 0;
    return 1;
}

int fota_version_ordered(const char *v)
{
    struct ver x;
    return v && parse(v, &x);
}

int fota_version_cmp(const char *a, const char *b, int *cmp)
{
    struct ver x, y;
    unsigned k;
    int c = 0;

    if (!a || !b || !cmp)
        return FOTA_ERR_PARAM;
    if (!parse(a, &x) || !parse(b, &y))
        return FOTA_ERR_VERSION_UNORDERED;
    for (k = 0; k < 3 && !c; k++)
        c = num_cmp(x.num[k], y.num[k]);
    if (!c)
        c = pre_cmp(x.pre, y.pre);
    if (!c)
        c = num_cmp(x.count, y.count);
    if (!c && x.hash.n && y.hash.n && !same_commit(x.hash, y.hash))
        return FOTA_ERR_VERSION_UNORDERED; /* same place, two branches */
    if (!c && (x.dirty || y.dirty))
        return FOTA_ERR_VERSION_UNORDERED; /* local changes: unknown */
    *cmp = c;
    return FOTA_OK;
}
