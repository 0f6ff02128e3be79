/*
 * json.c - push parser for flat JSON objects (see json.h). One byte at a
 * time through a small state machine; string values are handed on in pieces
 * as they decode, so nothing but the current key is buffered.
 */
#include "json.h"
#include "le.h"

enum {
    S_START,      /* before '{' */
    S_KEY_OR_END, /* after '{': '"' or '}' */
    S_KEY,        /* inside a key string */
    S_COLON,
    S_VALUE,
    S_STR,        /* inside a string value */
    S_NUM,
    S_LIT,        /* inside true/false/null */
    S_SKIP,       /* inside a nested value */
    S_SKIP_STR,   /* inside a string within a nested value */
    S_COMMA_OR_END,
    S_KEY_START,  /* after ',': '"' only */
    S_DONE
};

#define F_KEYLONG   0x01 /* current key did not fit */
#define F_NUM_BAD   0x02 /* number is valid JSON but not a u32 */
#define F_NUM_ZERO  0x04 /* number started with 0 */
#define F_NUM_FRAC  0x08 /* in fraction/exponent part */
#define F_ESC_SKIP  0x10 /* escape inside a skipped string */
#define F_NUM_EXP   0x20 /* in the exponent */
#define F_NUM_JUST_E 0x40 /* right after 'e': a sign may follow */

static const char *const lits[3] = {"true", "false", "null"};

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void fota_json_init(struct fota_json_state *j)
{
    fota_fill(j, 0, sizeof *j);
    j->st = S_START;
}

static const char *cur_key(const struct fota_json_state *j)
{
    return (j->flags & F_KEYLONG) ? "" : j->key;
}

/* Emit a decoded string byte (or several, for \u escapes) to the handler. */
static int emit_str(struct fota_json_state *j, const uint8_t *s, uint32_t n, int final,
                    fota_json_fn fn, void *arg)
{
    return fn(arg, cur_key(j), FOTA_JSON_STR, s, n, final, 0);
}

/* Key bytes: appended to j->key while they fit. */
static void key_byte(struct fota_json_state *j, uint8_t c)
{
    if (j->keylen < sizeof j->key - 1)
        j->key[j->keylen++] = (char)c;
    else
        j->flags |= F_KEYLONG;
    j->key[j->keylen] = '\0';
}

/* Handle one character of a string (key or value) after the opening quote.
 * Returns 1 when the string ended, 0 to go on, <0 on error. Decoded output
 * goes to out[*outn]. */
static int str_char(struct fota_json_state *j, uint8_t c, uint8_t out[3], uint32_t *outn)
{
    *outn = 0;
    if (j->esc == 1) {
        j->esc = 0;
        switch (c) {
        case '"': case '\\': case '/': out[0] = c; break;
        case 'b': out[0] = '\b'; break;
        case 'f': out[0] = '\f'; break;
        case 'n': out[0] = '\n'; break;
        case 'r': out[0] = '\r'; break;
        case 't': out[0] = '\t'; break;
        case 'u': j->esc = 2; j->ucode = 0; return 0;
        default: return FOTA_ERR_JSON;
        }
        *outn = 1;
        return 0;
    }
    if (j->esc >= 2) {
        int h = fota_hexval(c);
        if (h < 0)
            return FOTA_ERR_JSON;
        j->ucode = (j->ucode << 4) | (uint32_t)h;
        if (++j->esc < 6)
            return 0;
        j->esc = 0;
        /* Surrogates would need a pair; nothing in v1 uses them. */
        if (j->ucode >= 0xD800 && j->ucode <= 0xDFFF)
            return FOTA_ERR_JSON;
        if (j->ucode < 0x80) {
            out[0] = (uint8_t)j->ucode;
            *outn = 1;
        } else if (j->ucode < 0x800) {
            out[0] = (uint8_t)(0xC0 | (j->ucode >> 6));
            out[1] = (uint8_t)(0x80 | (j->ucode & 0x3F));
            *outn = 2;
        } else {
            out[0] = (uint8_t)(0xE0 | (j->ucode >> 12));
            out[1] = (uint8_t)(0x80 | ((j->ucode >> 6) & 0x3F));
            out[2] = (uint8_t)(0x80 | (j->ucode & 0x3F));
            *outn = 3;
        }
        return 0;
    }
    if (c == '\\') {
        j->esc = 1;
        return 0;
    }
    if (c == '"')
        return 1;
    if (c < 0x20)
        return FOTA_ERR_JSON;
    out[0] = c;
    *outn = 1;
    return 0;
}

static int num_done(struct fota_json_state *j, fota_json_fn fn, void *arg)
{
    int rc;
    if (j->nd == 0)
        return FOTA_ERR_JSON; /* "-" alone, or "1." / "1e" without digits */
    rc = fn(arg, cur_key(j), (j->flags & F_NUM_BAD) ? FOTA_JSON_BADNUM : FOTA_JSON_NUM,
            0, 0, 1, j->num);
    j->st = S_COMMA_OR_END;
    return rc;
}

int fota_json_feed(struct fota_json_state *j, const uint8_t *d, uint32_t n,
                   fota_json_fn fn, void *arg)
{
    uint32_t i;
    int rc;

    for (i = 0; i < n; i++) {
        uint8_t c = d[i];
    again:
        switch (j->st) {
        case S_START:
            if (is_ws(c))
                break;
            if (c != '{')
                return FOTA_ERR_JSON;
            j->st = S_KEY_OR_END;
            break;
        case S_KEY_OR_END:
        case S_KEY_START:
            if (is_ws(c))
                break;
            if (c == '}' && j->st == S_KEY_OR_END) {
                j->st = S_DONE;
                break;
            }
            if (c != '"')
                return FOTA_ERR_JSON;
            j->st = S_KEY;
            j->keylen = 0;
            j->key[0] = '\0';
            j->flags = 0;
            break;
        case S_KEY: {
            uint8_t out[3];
            uint32_t k, outn;
            rc = str_char(j, c, out, &outn);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                j->st = S_COLON;
                break;
            }
            for (k = 0; k < outn; k++)
                key_byte(j, out[k]);
            break;
        }
        case S_COLON:
            if (is_ws(c))
                break;
            if (c != ':')
                return FOTA_ERR_JSON;
            j->st = S_VALUE;
            break;
        case S_VALUE:
            if (is_ws(c))
                break;
            if (c == '"') {
                j->st = S_STR;
                j->esc = 0;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                j->st = S_NUM;
                j->num = 0;
                j->nd = 0;
                j->flags &= (uint8_t)~(F_NUM_BAD | F_NUM_ZERO | F_NUM_FRAC | F_NUM_EXP | F_NUM_JUST_E);
                if (c == '-')
                    j->flags |= F_NUM_BAD;
                else
                    goto again;
            } else if (c == 't' || c == 'f' || c == 'n') {
                j->st = S_LIT;
                j->lit = (uint8_t)(c == 't' ? 0 : c == 'f' ? 1 : 2);
                j->nd = 1;
            } else if (c == '{' || c == '[') {
                rc = fn(arg, cur_key(j), FOTA_JSON_NESTED, 0, 0, 1, 0);
                if (rc)
                    return rc;
                j->depth = 1;
                j->st = S_SKIP;
            } else {
                return FOTA_ERR_JSON;
            }
            break;
        case S_STR: {
            uint8_t out[3];
            uint32_t outn;
            /* Pass a run of plain bytes in one call: the hot path for
             * base64 data. */
            if (j->esc == 0 && c != '"' && c != '\\' && c >= 0x20) {
                uint32_t k = i;
                while (k < n && d[k] != '"' && d[k] != '\\' && d[k] >= 0x20)
                    k++;
                rc = emit_str(j, d + i, k - i, 0, fn, arg);
                if (rc)
                    return rc;
                i = k - 1;
                break;
            }
            rc = str_char(j, c, out, &outn);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                rc = emit_str(j, 0, 0, 1, fn, arg);
                if (rc)
                    return rc;
                j->st = S_COMMA_OR_END;
                break;
            }
            if (outn) {
                rc = emit_str(j, out, outn, 0, fn, arg);
                if (rc)
                    return rc;
            }
            break;
        }
        case S_NUM:
            if (c >= '0' && c <= '9') {
                j->flags &= (uint8_t)~F_NUM_JUST_E;
                if (j->flags & F_NUM_FRAC) {
                    j->nd++;
                    break;
                }
                if (j->flags & F_NUM_ZERO)
                    return FOTA_ERR_JSON; /* leading zero: "01" */
                if (j->nd == 0 && c == '0')
                    j->flags |= F_NUM_ZERO;
                if (j->num > (0xFFFFFFFFu - (uint32_t)(c - '0')) / 10u)
                    j->flags |= F_NUM_BAD;
                else
                    j->num = j->num * 10u + (uint32_t)(c - '0');
                j->nd++;
                break;
            }
            /* Fraction and exponent: valid JSON, but not a value v1 uses;
             * parse them to tell "bad type" from "malformed". */
            if (c == '.' && j->nd && !(j->flags & (F_NUM_FRAC | F_NUM_EXP))) {
                j->flags |= F_NUM_BAD | F_NUM_FRAC;
                j->nd = 0;
                break;
            }
            if ((c == 'e' || c == 'E') && j->nd && !(j->flags & F_NUM_EXP)) {
                j->flags |= F_NUM_BAD | F_NUM_FRAC | F_NUM_EXP | F_NUM_JUST_E;
                j->nd = 0;
                break;
            }
            if ((c == '+' || c == '-') && (j->flags & F_NUM_JUST_E)) {
                j->flags &= (uint8_t)~F_NUM_JUST_E;
                break;
            }
            rc = num_done(j, fn, arg);
            if (rc)
                return rc;
            goto again;
        case S_LIT:
            if (lits[j->lit][j->nd] == '\0') {
                rc = fn(arg, cur_key(j),
                        j->lit == 0 ? FOTA_JSON_TRUE : j->lit == 1 ? FOTA_JSON_FALSE : FOTA_JSON_NULL,
                        0, 0, 1, 0);
                if (rc)
                    return rc;
                j->st = S_COMMA_OR_END;
                goto again;
            }
            if (c != (uint8_t)lits[j->lit][j->nd])
                return FOTA_ERR_JSON;
            j->nd++;
            break;
        case S_SKIP:
            /* Structural skip of a nested value: strings are scanned for
             * their end, brackets counted. Content is not validated beyond
             * that; the value is ignored or refused by the handler. */
            if (c == '"') {
                j->st = S_SKIP_STR;
                j->flags &= (uint8_t)~F_ESC_SKIP;
            } else if (c == '{' || c == '[') {
                if (j->depth == 32)
                    return FOTA_ERR_JSON;
                j->depth++;
            } else if (c == '}' || c == ']') {
                if (--j->depth == 0)
                    j->st = S_COMMA_OR_END;
            }
            break;
        case S_SKIP_STR:
            if (j->flags & F_ESC_SKIP)
                j->flags &= (uint8_t)~F_ESC_SKIP;
            else if (c == '\\')
                j->flags |= F_ESC_SKIP;
            else if (c == '"')
                j->st = S_SKIP;
            else if (c < 0x20)
                return FOTA_ERR_JSON;
            break;
        case S_COMMA_OR_END:
            if (is_ws(c))
                break;
            if (c == ',') {
                j->st = S_KEY_START;
                break;
            }
            if (c == '}') {
                j->st = S_DONE;
                break;
            }
            return FOTA_ERR_JSON;
        case S_DONE:
            if (!is_ws(c))
                return FOTA_ERR_JSON;
            break;
        default:
            return FOTA_ERR_JSON;
        }
    }
    return FOTA_OK;
}

int fota_json_finish(const struct fota_json_state *j)
{
    return j->st == S_DONE ? FOTA_OK : FOTA_ERR_TRUNCATED;
}
