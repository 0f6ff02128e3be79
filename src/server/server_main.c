/*
 * server_main.c - the fota-server program: options, start-up (data folder,
 * secrets, store, HTTP daemon), and a clean stop on SIGINT/SIGTERM.
 *
 * Start-up refuses to run half-configured: without an admin token, with a
 * master key file of the wrong size, or with a store it cannot migrate. Bad
 * options exit with status 2 and a message naming the option; other start-up
 * failures exit with 1.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devcache.h"
#include "http.h"
#include "keys.h"
#include "loadshape.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "patches.h"
#include "release.h"
#include "rollout.h"
#include "store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fota-server --db FILE|URL --data DIR --master-key-file FILE\n"
            "                   (--admin-token-file FILE | env FOTA_ADMIN_TOKEN |\n"
            "                    --admin-tokens-file FILE)\n"
            "                   [--listen ADDR] [--port N] [--port-file FILE]\n"
            "                   [--max-upload BYTES] [--max-inflight N] [--threads N]\n"
            "                   [--log-level error|warn|info|debug]\n"
            "                   [--tls-cert FILE --tls-key FILE]\n"
            "                   [--sign-pubkey-file FILE] [--require-signed]\n"
            "                   [--rate-device N/s] [--rate-device-burst N]\n"
            "                   [--rate-addr N/s] [--rate-addr-burst N]\n"
            "                   [--max-connections N] [--max-conn-per-ip N]\n"
            "                   [--idle-timeout S] [--conn-memory BYTES]\n"
            "                   [--limit-log-interval S]\n"
            "                   [--rollout-tick S] [--poll-interval S]\n"
            "                   [--max-downloads N] [--download-idle S] [--download-retry S]\n"
            "                   [--node-id NAME]\n"
            "  --db FILE|URL           SQLite database file, or a PostgreSQL URL\n"
            "                          (postgresql://...; docs/operations.md); created or\n"
            "                          migrated if needed\n"
            "  --data DIR              data folder: images/<sha256> and tmp/\n"
            "  --node-id NAME          this node among several on one database (default: the\n"
            "                          host name); names its temp files, so its start-up\n"
            "                          cleanup never removes another node's\n"
            "  --master-key-file FILE  32-byte master secret (created, mode 0600, if missing)\n"
            "  --admin-token-file FILE admin bearer token (first line); else FOTA_ADMIN_TOKEN\n"
            "                          (its name in the audit log: \"admin\")\n"
            "  --admin-tokens-file FILE named admin tokens, \"NAME TOKEN\" a line: the audit\n"
            "                          log says which one acted\n"
            "  --listen ADDR           numeric IPv4/IPv6 address (default 127.0.0.1)\n"
            "  --port N                TCP port (default 8080; 0 picks a free one)\n"
            "  --port-file FILE        write the bound port there once listening\n"
            "  --max-upload BYTES      largest release upload (default 8388608)\n"
            "  --max-inflight N        requests at once before answering 429 (default 512)\n"
            "  --threads N             HTTP worker threads (default: one per CPU; four per\n"
            "                          CPU on PostgreSQL)\n"
            "  --log-level L           error, warn, info (default) or debug\n"
            "  --tls-cert FILE         serve HTTPS: PEM certificate (chain), with --tls-key\n"
            "  --tls-key FILE          PEM private key of --tls-cert\n"
            "  --sign-pubkey-file FILE operator's P-256 public key (PEM or 128 hex): release\n"
            "                          signatures are verified at upload\n"
            "  --require-signed        refuse releases without a manifest and signature\n"
            "  --rate-device N/s       requests per second per device (default 200/s; 0: off)\n"
            "  --rate-device-burst N   bucket size per device (default 10 x the rate)\n"
            "  --rate-addr N/s         requests per second per source address (default\n"
            "                          1000/s; IPv6 by /64; 0: off)\n"
            "  --rate-addr-burst N     bucket size per address (default 10 x the rate)\n"
            "  --max-connections N     connections at once (default 1024)\n"
            "  --max-conn-per-ip N     connections at once per address (default 128; 0: off)\n"
            "  --idle-timeout S        idle timeout, and deadline for a request's headers\n"
            "                          (default 15)\n"
            "  --conn-memory BYTES     buffer per connection: request line and headers up to\n"
            "                          BYTES - 2048; each idle keep-alive connection keeps\n"
            "                          all of it (default 16384: 10,000 idle connections in\n"
            "                          ~180 MB, docs/performance.md section 7)\n"
            "  --limit-log-interval S  connections refused by the limits are logged as one\n"
            "                          summary line per S seconds (default 10)\n"
            "  --rollout-tick S        seconds between rollout evaluations: deadlines, late\n"
            "                          joiners, stage advances (default 5; 0: only on\n"
            "                          requests)\n"
            "  --poll-interval S       check answers carry \"poll_interval\": S seconds +-20 %%\n"
            "                          for the device to wait (default 0: not sent)\n"
            "  --max-downloads N       devices downloading at once; others get 503 with\n"
            "                          Retry-After (default 0: no cap)\n"
            "  --download-idle S       silence that ends a download (default 60)\n"
            "  --download-retry S      Retry-After of that 503: S..2S seconds (default 30)\n");
}

static int bad_option(const char *fmt, const char *arg)
{
    fprintf(stderr, "fota-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run fota-server --help for the options)\n");
    return 2;
}

/* "N", "N/s" or "N/m" as requests per second (0 allowed: off). */
static int parse_rate(const char *s, double *out)
{
    char num[32];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    uint64_t v;

    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    if (parse_u64(num, 1000000, 0, &v) < 0)
        return -1;
    if (!slash || !strcmp(slash, "/s"))
        *out = (double)v;
    else if (!strcmp(slash, "/m"))
        *out = (double)v / 60.0;
    else
        return -1;
    return 0;
}

/* Whole small file into a NUL-terminated malloc'd string. */
static char *read_text(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char *buf;
    long n;

    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 1 << 20 ||
        fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)n + 1))) {
        snprintf(err, errlen, "cannot read %s (or larger than 1 MiB)", path);
        fclose(f);
        return NULL;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errlen, "cannot read %s", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "fota-server: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

static int valid_node_id(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 32 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.") == n;
}

/* Whether a temp file name is this node's: upload-NODE-XXXXXX or
 * fetch-NODE-XXXXXX (release.c), or upload-XXXXXX from before node ids. */
static int own_tmp(const char *name, const char *node)
{
    size_t n = strlen(node);
    const char *rest = strncmp(name, "upload-", 7) == 0  ? name + 7
                       : strncmp(name, "fetch-", 6) == 0 ? name + 6
                                                         : NULL;
    if (!rest)
        return 0;
    if (rest == name + 7 && strlen(rest) == 6)
        return 1; /* the name before node ids */
    return strncmp(rest, node, n) == 0 && rest[n] == '-' && strlen(rest + n + 1) == 6;
}

/* Uploads interrupted by a crash leave temp files; they are never
 * referenced. Only this node's: in a folder several nodes share, another
 * node's upload may be under way. */
static void clean_tmp(const char *dir, const char *node)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (own_tmp(e->d_name, node)) {
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p && unlink(p) == 0)
                SLOG(SLOG_INFO, "removed unfinished upload %s", p);
        }
    closedir(d);
}

struct sha_set {
    char (*v)[65];
    size_t n, cap;
    int failed;
};

static int collect_sha(void *ctx, const struct store_release *rel)
{
    struct sha_set *set = ctx;
    if (set->n == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 64;
        char (*v)[65] = realloc(set->v, cap * sizeof *v);
        if (!v) {
            set->failed = 1;
            return -1;
        }
        set->v = v;
        set->cap = cap;
    }
    memcpy(set->v[set->n++], rel->sha256, 65);
    return 0;
}

/* A crash between the rename into images/ and the insert of the release row
 * leaves an image file that no release names: remove those at start-up
 * (before any upload can be in that window). On a shared store the rename
 * comes after the insert (release.h), so no other node's upload is ever in
 * that window. Files that are not named <64 hex digits> are left alone. Does nothing when the releases cannot be
 * listed. */
static void clean_orphan_images(struct server *srv)
{
    struct sha_set set = {0};
    char dir[PATH_MAX], p[PATH_MAX];
    struct dirent *e;
    unsigned removed = 0, kept = 0;
    DIR *d;

    if (srv->ops->release_list(srv->store, collect_sha, &set) != STORE_OK || set.failed) {
        SLOG(SLOG_WARN, "cannot list the releases: orphan images not looked for");
        free(set.v);
        return;
    }
    snprintf(dir, sizeof dir, "%s/images", srv->data_dir);
    if (!(d = opendir(dir))) {
        free(set.v);
        return;
    }
    while ((e = readdir(d))) {
        size_t i;
        if (strlen(e->d_name) != 64 || strspn(e->d_name, "0123456789abcdef") != 64)
            continue;
        for (i = 0; i < set.n && strcmp(set.v[i], e->d_name) != 0; i++)
            ;
        if (i < set.n) {
            kept++;
            continue;
        }
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p && unlink(p) == 0) {
            SLOG(SLOG_INFO, "removed orphan image %s (no release names it)", p);
            removed++;
        } else {
            SLOG(SLOG_WARN, "cannot remove orphan image %s: %s", p, strerror(errno));
        }
    }
    closedir(d);
    free(set.v);
    SLOG(SLOG_INFO, "images: %u referenced, %u orphan(s) removed", kept, removed);
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        SLOG(SLOG_ERROR, "cannot write port file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"node-id", required_argument, NULL, 1120},
        {"data", required_argument, NULL, 'D'},
        {"master-key-file", required_argument, NULL, 'm'},
        {"admin-token-file", required_argument, NULL, 'a'},
        {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, 'P'},
        {"max-upload", required_argument, NULL, 'u'},
        {"max-inflight", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 't'},
        {"log-level", required_argument, NULL, 'L'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"sign-pubkey-file", required_argument, NULL, 'S'},
        {"require-signed", no_argument, NULL, 'R'},
        {"rate-device", required_argument, NULL, 1001},
        {"rate-device-burst", required_argument, NULL, 1002},
        {"rate-addr", required_argument, NULL, 1003},
        {"rate-addr-burst", required_argument, NULL, 1004},
        {"max-connections", required_argument, NULL, 1005},
        {"max-conn-per-ip", required_argument, NULL, 1006},
        {"idle-timeout", required_argument, NULL, 1007},
        {"conn-memory", required_argument, NULL, 1008},
        {"limit-log-interval", required_argument, NULL, 1009},
        {"rollout-tick", required_argument, NULL, 1109},
        {"admin-tokens-file", required_argument, NULL, 1110},
        {"poll-interval", required_argument, NULL, 1111},
        {"max-downloads", required_argument, NULL, 1112},
        {"download-idle", required_argument, NULL, 1113},
        {"download-retry", required_argument, NULL, 1114},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *data = NULL, *master = NULL, *token_file = NULL, *tokens_file = NULL;
    const char *listen_addr = "127.0.0.1", *port_file = NULL;
    uint64_t port = 8080, max_upload = 8u << 20, threads = 0, max_inflight = 512;
    const char *tls_cert = NULL, *tls_key = NULL, *sign_pub = NULL;
    double rate_dev = 200, rate_addr = 1000;
    uint64_t burst_dev = 0, burst_addr = 0, max_conn = 1024, max_per_ip = 128, idle = 15;
    uint64_t limit_log = 10;
    uint64_t conn_mem = 16384, rollout_tick = 5;
    uint64_t poll_interval = 0, max_downloads = 0, download_idle = 60, download_retry = 30;
    int require_signed = 0;
    struct http_config cfg;
    char *cert_pem = NULL, *key_pem = NULL;
    char token[512], err[512], path[PATH_MAX];
    struct server srv;
    const char *node_id = NULL;
    struct MHD_Daemon *d;
    unsigned bound;
    sigset_t sigs;
    int c, sig, lvl;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 1120:
            if (!valid_node_id(optarg))
                return bad_option("--node-id: 1 to 32 of [A-Za-z0-9_.], got \"%s\"", optarg);
            node_id = optarg;
            break;
        case 'D': data = optarg; break;
        case 'm': master = optarg; break;
        case 'a': token_file = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'P': port_file = optarg; break;
        case 'p':
            if (parse_u64(optarg, 65535, 0, &port) < 0)
                return bad_option("--port must be 0..65535, got \"%s\"", optarg);
            break;
        case 'u':
            if (parse_u64(optarg, UINT32_MAX, 1, &max_upload) < 0 || max_upload == 0)
                return bad_option("--max-upload must be a byte count 1..4294967295, got \"%s\"",
                                  optarg);
            break;
        case 'i':
            if (parse_u64(optarg, 1000000, 0, &max_inflight) < 0 || max_inflight == 0)
                return bad_option("--max-inflight must be 1..1000000, got \"%s\"", optarg);
            break;
        case 't':
            if (parse_u64(optarg, 256, 0, &threads) < 0 || threads == 0)
                return bad_option("--threads must be 1..256, got \"%s\"", optarg);
            break;
        case 'L':
            lvl = slog_level_from_name(optarg);
            if (lvl < 0)
                return bad_option("--log-level must be error, warn, info or debug, got \"%s\"",
                                  optarg);
            slog_threshold = lvl;
            break;
        case 'C': tls_cert = optarg; break;
        case 'K': tls_key = optarg; break;
        case 'S': sign_pub = optarg; break;
        case 'R': require_signed = 1; break;
        case 1001:
            if (parse_rate(optarg, &rate_dev) < 0)
                return bad_option("--rate-device must be N/s, N/m or 0 (off), got \"%s\"", optarg);
            break;
        case 1003:
            if (parse_rate(optarg, &rate_addr) < 0)
                return bad_option("--rate-addr must be N/s, N/m or 0 (off), got \"%s\"", optarg);
            break;
        case 1002:
            if (parse_u64(optarg, 10000000, 0, &burst_dev) < 0 || burst_dev == 0)
                return bad_option("--rate-device-burst must be 1..10000000, got \"%s\"", optarg);
            break;
        case 1004:
            if (parse_u64(optarg, 10000000, 0, &burst_addr) < 0 || burst_addr == 0)
                return bad_option("--rate-addr-burst must be 1..10000000, got \"%s\"", optarg);
            break;
        case 1005:
            if (parse_u64(optarg, 1000000, 0, &max_conn) < 0 || max_conn == 0)
                return bad_option("--max-connections must be 1..1000000, got \"%s\"", optarg);
            break;
        case 1006:
            if (parse_u64(optarg, 1000000, 0, &max_per_ip) < 0)
                return bad_option("--max-conn-per-ip must be 0 (off)..1000000, got \"%s\"", optarg);
            break;
        case 1007:
            if (parse_u64(optarg, 3600, 0, &idle) < 0 || idle == 0)
                return bad_option("--idle-timeout must be 1..3600 seconds, got \"%s\"", optarg);
            break;
        case 1008:
            if (parse_u64(optarg, 1u << 24, 0, &conn_mem) < 0 || conn_mem < 8192)
                return bad_option("--conn-memory must be 8192..16777216 bytes, got \"%s\"", optarg);
            break;
        case 1009:
            if (parse_u64(optarg, 3600, 0, &limit_log) < 0 || limit_log == 0)
                return bad_option("--limit-log-interval must be 1..3600 seconds, got \"%s\"",
                                  optarg);
            break;
        case 1110: tokens_file = optarg; break;
        case 1111:
            if (parse_u64(optarg, 604800, 0, &poll_interval) < 0)
                return bad_option("--poll-interval must be 0..604800 seconds, got \"%s\"", optarg);
            break;
        case 1112:
            if (parse_u64(optarg, 1000000, 0, &max_downloads) < 0)
                return bad_option("--max-downloads must be 0..1000000, got \"%s\"", optarg);
            break;
        case 1113:
            if (parse_u64(optarg, 86400, 0, &download_idle) < 0 || !download_idle)
                return bad_option("--download-idle must be 1..86400 seconds, got \"%s\"", optarg);
            break;
        case 1114:
            if (parse_u64(optarg, 86400, 0, &download_retry) < 0 || !download_retry)
                return bad_option("--download-retry must be 1..86400 seconds, got \"%s\"", optarg);
            break;
        case 1109:
            if (parse_u64(optarg, 3600, 0, &rollout_tick) < 0)
                return bad_option("--rollout-tick must be 0..3600 seconds, got \"%s\"", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return bad_option("unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_option("unexpected argument \"%s\"", argv[optind]);
    if (!db)
        return bad_option("%s", "--db FILE is required");
    if (!data)
        return bad_option("%s", "--data DIR is required");
    if (!master)
        return bad_option("%s", "--master-key-file FILE is required");
    if (!tls_cert != !tls_key)
        return bad_option("%s", "--tls-cert and --tls-key go together");
    if (threads == 0) {
        /* a PostgreSQL store blocks a worker for each round trip to the
         * database: four workers per CPU keep the CPUs busy meanwhile
         * (docs/performance.md, section 7) */
        long nc = sysconf(_SC_NPROCESSORS_ONLN) * (store_pg_target(db) ? 4 : 1);
        threads = nc < 1 ? 1 : nc > 256 ? 256 : (uint64_t)nc;
    }

    memset(&srv, 0, sizeof srv);
    if (token_file) {
        if (keys_read_token_file(token_file, token, sizeof token, err, sizeof err) < 0)
            return bad_option("%s", err);
    } else if (getenv("FOTA_ADMIN_TOKEN") && getenv("FOTA_ADMIN_TOKEN")[0]) {
        snprintf(token, sizeof token, "%s", getenv("FOTA_ADMIN_TOKEN"));
    } else if (!tokens_file) {
        return bad_option("%s", "no admin token: give --admin-token-file FILE, "
                                "--admin-tokens-file FILE or set FOTA_ADMIN_TOKEN");
    } else {
        token[0] = '\0';
    }
    if (token[0])
        keys_set_admin_token(&srv.keys, token);
    if (tokens_file && keys_load_admin_tokens(&srv.keys, tokens_file, err, sizeof err) < 0)
        return bad_option("%s", err);
    memset(token, 0, sizeof token);

    if (ensure_dir(data))
        return 1;
    snprintf(path, sizeof path, "%s/images", data);
    if (ensure_dir(path))
        return 1;
    snprintf(path, sizeof path, "%s/tmp", data);
    if (ensure_dir(path))
        return 1;
    if (node_id)
        snprintf(srv.node_id, sizeof srv.node_id, "%s", node_id);
    else if (gethostname(srv.node_id, sizeof srv.node_id - 1) < 0 || !valid_node_id(srv.node_id))
        snprintf(srv.node_id, sizeof srv.node_id, "node");
    clean_tmp(path, srv.node_id);
    if (keys_load_master(&srv.keys, master, err, sizeof err) < 0) {
        fprintf(stderr, "fota-server: %s\n", err);
        return 1;
    }

    if (tls_cert) {
        if (!(cert_pem = read_text(tls_cert, err, sizeof err)) ||
            !(key_pem = read_text(tls_key, err, sizeof err))) {
            fprintf(stderr, "fota-server: TLS: %s\n", err);
            return 1;
        }
    }
    if (sign_pub) {
        if (keys_load_sign_pubkey(sign_pub, srv.sign_pubkey, err, sizeof err) < 0) {
            fprintf(stderr, "fota-server: %s\n", err);
            return 1;
        }
        srv.has_sign_pubkey = 1;
    }
    srv.require_signed = require_signed;
    if (rate_dev > 0)
        srv.rate_device = ratelimit_new(rate_dev, burst_dev ? (double)burst_dev : 10 * rate_dev,
                                        100000);
    if (rate_addr > 0)
        srv.rate_addr = ratelimit_new(rate_addr, burst_addr ? (double)burst_addr : 10 * rate_addr,
                                      100000);
    srv.poll_interval = (unsigned)poll_interval;
    srv.max_downloads = (unsigned)max_downloads;
    srv.download_idle = (unsigned)download_idle;
    srv.download_retry = (unsigned)download_retry;
    if (max_downloads &&
        !(srv.loadshape = loadshape_new((unsigned)max_downloads, (unsigned)download_idle,
                                        (unsigned)download_retry))) {
        fprintf(stderr, "fota-server: out of memory\n");
        return 1;
    }
    srv.max_query = QUERY_LEN_MAX;
    srv.max_device_body = DEVICE_BODY_MAX;

    srv.ops = store_pg_target(db) ? &store_pg_ops : &store_sqlite_ops;
    srv.data_dir = data;
    srv.max_upload = max_upload;
    srv.max_inflight = (unsigned)max_inflight;
    srv.images = images_new();
    srv.patches = patches_new();
    srv.devcache = devcache_new();
    if (!srv.images || !srv.patches || !srv.devcache) {
        fprintf(stderr, "fota-server: out of memory\n");
        return 1;
    }
    if (srv.ops->open(db, &srv.store) != STORE_OK) {
        fprintf(stderr, "fota-server: cannot open the %s store %s (see the log above)\n",
                srv.ops->name, srv.ops == &store_pg_ops ? "" : db);
        return 1;
    }
    devcache_wrap_store(&srv);
    clean_orphan_images(&srv);

    /* Block the stop signals before any thread starts, so every worker
     * inherits the mask and only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* after the signal mask: the tick thread inherits it */
    if (rollouts_start(&srv, (unsigned)rollout_tick) < 0) {
        srv.ops->close(srv.store);
        return 1;
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.addr = listen_addr;
    cfg.port = (unsigned)port;
    cfg.threads = (unsigned)threads;
    cfg.tls_cert = cert_pem;
    cfg.tls_key = key_pem;
    cfg.max_connections = (unsigned)max_conn;
    cfg.max_per_ip = (unsigned)max_per_ip;
    cfg.limit_log_interval = (unsigned)limit_log;
    cfg.idle_timeout = (unsigned)idle;
    cfg.memory_limit = (size_t)conn_mem;
    d = http_start(&srv, &cfg, &bound);
    if (!d) {
        rollouts_stop(&srv);
        srv.ops->close(srv.store);
        return 1;
    }
    if (port_file && write_port_file(port_file, bound) < 0) {
        http_stop(d);
        rollouts_stop(&srv);
        srv.ops->close(srv.store);
        return 1;
    }
    SLOG(SLOG_INFO, "fota-server listening on %s port %u%s (store %s %s, data %s, %u threads)",
         listen_addr, bound, cert_pem ? " with TLS" : "", srv.ops->name,
         srv.ops == &store_pg_ops ? "(URL not logged: it may hold a password)" : db, data,
         (unsigned)threads);
    SLOG(SLOG_INFO, "limits: %g req/s per device, %g req/s per address, %u connections "
         "(%u per address), idle timeout %u s, signatures %s%s",
         rate_dev, rate_addr, (unsigned)max_conn, (unsigned)max_per_ip, (unsigned)idle,
         srv.has_sign_pubkey ? "verified at upload" : "not verified at upload",
         require_signed ? ", signed releases only" : "");

    while (sigwait(&sigs, &sig) != 0)
        ;
    SLOG(SLOG_INFO, "signal %d: stopping", sig);
    http_stop(d);
    rollouts_stop(&srv);
    srv.ops->close(srv.store);
    images_free(srv.images);
    patches_free(srv.patches);
    devcache_free(srv.devcache);
    ratelimit_free(srv.rate_device);
    ratelimit_free(srv.rate_addr);
    metrics_free(srv.metrics);
    loadshape_free(srv.loadshape);
    if (key_pem)
        memset(key_pem, 0, strlen(key_pem));
    free(key_pem);
    free(cert_pem);
    SLOG(SLOG_INFO, "stopped");
    return 0;
}
