/*
 * dlslots.c - the fleet-wide download cap over the store's download slots
 * (dlslots.h). The memo is a fixed table indexed by a hash of the device
 * id: a collision only costs one more refresh in the database.
 */
#include "dlslots.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

#define MEMO 4096

static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t h;
    int64_t at;
} memo[MEMO];

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return h | 1; /* never 0: 0 marks an empty entry */
}

unsigned dlslots_admit(struct server *srv, const char *id)
{
    uint64_t h = hash_id(id);
    int64_t now = (int64_t)time(NULL);
    unsigned fresh = srv->download_idle / 4 ? srv->download_idle / 4 : 1;
    int rc;

    pthread_mutex_lock(&memo_mu);
    if (memo[h % MEMO].h == h && now - memo[h % MEMO].at < (int64_t)fresh) {
        pthread_mutex_unlock(&memo_mu);
        return 0;
    }
    pthread_mutex_unlock(&memo_mu);
    rc = srv->ops->download_admit(srv->store, id, srv->max_downloads, now, srv->download_idle);
    if (rc == STORE_EXISTS) { /* base..2*base, jittered as loadshape.c does */
        unsigned base = srv->download_retry ? srv->download_retry : 1;
        return base + (unsigned)(h ^ (uint64_t)now) % (base + 1);
    }
    if (rc != STORE_OK)
        SLOG(SLOG_WARN, "download slots unavailable: device %s admitted without one", id);
    else {
        pthread_mutex_lock(&memo_mu);
        memo[h % MEMO].h = h;
        memo[h % MEMO].at = now;
        pthread_mutex_unlock(&memo_mu);
    }
    return 0;
}

void dlslots_done(struct server *srv, const char *id)
{
    uint64_t h = hash_id(id);

    pthread_mutex_lock(&memo_mu);
    if (memo[h % MEMO].h == h)
        memo[h % MEMO].h = 0;
    pthread_mutex_unlock(&memo_mu);
    srv->ops->download_done(srv->store, id);
}
