/*
 * retry.c - the retry policy of fota_run: which failures are worth another
 * attempt, and how long to wait before it (exponential backoff with equal
 * jitter). Split from engine.c, which counts the attempts.
 */
#include "engine.h"

/* Errors worth another attempt: the link, the server's load, and anything a
 * corrupted transfer produces. Everything else is final. */
int fota_retry_worthy(int rc)
{
    switch (rc) {
    case FOTA_ERR_NET: case FOTA_ERR_HTTP_RETRY: case FOTA_ERR_JSON:
    case FOTA_ERR_FIELD_MISSING: case FOTA_ERR_FIELD_UNKNOWN: case FOTA_ERR_FIELD_DUP:
    case FOTA_ERR_FIELD_TYPE: case FOTA_ERR_TOO_LARGE: case FOTA_ERR_TRUNCATED:
    case FOTA_ERR_BASE64: case FOTA_ERR_CHUNK_INDEX: case FOTA_ERR_CHUNK_LEN:
    case FOTA_ERR_HMAC: case FOTA_ERR_SHA256:
        return 1;
    default:
        return 0;
    }
}

/* Exponential backoff with "equal jitter": half the delay fixed, half random,
 * so a fleet that lost its server at once does not come back at once. */
void fota_retry_backoff(struct fota *f, uint32_t attempt)
{
    const struct fota_config *c = f->cfg;
    uint32_t base = c->backoff_base_ms ? c->backoff_base_ms : 500u;
    uint32_t cap = c->backoff_max_ms ? c->backoff_max_ms : 30000u;
    uint32_t d = base, i, r;

    for (i = 1; i < attempt && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2u;
    if (d > cap)
        d = cap;
    r = c->random ? c->random(c) : 0u;
    d = d / 2u + (d / 2u ? r % (d / 2u + 1u) : 0u);
    if (c->sleep_ms)
        c->sleep_ms(c, d);
}
