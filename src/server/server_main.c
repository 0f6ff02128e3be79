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

#include "http.h"
#include "keys.h"
#include "log.h"
#include "release.h"
#include "store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fota-server --db FILE --data DIR --master-key-file FILE\n"
            "                   (--admin-token-file FILE | env FOTA_ADMIN_TOKEN)\n"
            "                   [--listen ADDR] [--port N] [--port-file FILE]\n"
            "                   [--max-upload BYTES] [--max-inflight N] [--threads N]\n"
            "                   [--log-level error|warn|info|debug]\n"
            "  --db FILE               SQLite database (created and migrated if needed)\n"
            "  --data DIR              data folder: images/<sha256> and tmp/\n"
            "  --master-key-file FILE  32-byte master secret (created, mode 0600, if missing)\n"
            "  --admin-token-file FILE admin bearer token (first line); else FOTA_ADMIN_TOKEN\n"
            "  --listen ADDR           numeric IPv4/IPv6 address (default 127.0.0.1)\n"
            "  --port N                TCP port (default 8080; 0 picks a free one)\n"
            "  --port-file FILE        write the bound port there once listening\n"
            "  --max-upload BYTES      largest release upload (default 8388608)\n"
            "  --max-inflight N        requests at once before answering 429 (default 512)\n"
            "  --threads N             HTTP worker threads (default 4)\n"
            "  --log-level L           error, warn, info (default) or debug\n");
}

static int bad_option(const char *fmt, const char *arg)
{
    fprintf(stderr, "fota-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run fota-server --help for the options)\n");
    return 2;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "fota-server: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

/* Uploads interrupted by a crash leave temp files; they are never referenced. */
static void clean_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[PATH_MAX];
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "upload-", 7) == 0) {
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p && unlink(p) == 0)
                SLOG(SLOG_INFO, "removed unfinished upload %s", p);
        }
    closedir(d);
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *data = NULL, *master = NULL, *token_file = NULL;
    const char *listen_addr = "127.0.0.1", *port_file = NULL;
    uint64_t port = 8080, max_upload = 8u << 20, threads = 4, max_inflight = 512;
    char token[512], err[512], path[PATH_MAX];
    struct server srv;
    struct MHD_Daemon *d;
    unsigned bound;
    sigset_t sigs;
    int c, sig, lvl;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
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

    memset(&srv, 0, sizeof srv);
    if (token_file) {
        if (keys_read_token_file(token_file, token, sizeof token, err, sizeof err) < 0)
            return bad_option("%s", err);
    } else if (getenv("FOTA_ADMIN_TOKEN") && getenv("FOTA_ADMIN_TOKEN")[0]) {
        snprintf(token, sizeof token, "%s", getenv("FOTA_ADMIN_TOKEN"));
    } else {
        return bad_option("%s", "no admin token: give --admin-token-file FILE or set "
                                "FOTA_ADMIN_TOKEN");
    }
    keys_set_admin_token(&srv.keys, token);
    memset(token, 0, sizeof token);

    if (ensure_dir(data))
        return 1;
    snprintf(path, sizeof path, "%s/images", data);
    if (ensure_dir(path))
        return 1;
    snprintf(path, sizeof path, "%s/tmp", data);
    if (ensure_dir(path))
        return 1;
    clean_tmp(path);
    if (keys_load_master(&srv.keys, master, err, sizeof err) < 0) {
        fprintf(stderr, "fota-server: %s\n", err);
        return 1;
    }

    srv.ops = &store_sqlite_ops;
    srv.data_dir = data;
    srv.max_upload = max_upload;
    srv.max_inflight = (unsigned)max_inflight;
    srv.images = images_new();
    if (srv.ops->open(db, &srv.store) != STORE_OK) {
        fprintf(stderr, "fota-server: cannot open the store %s (see the log above)\n", db);
        return 1;
    }

    /* Block the stop signals before any thread starts, so every worker
     * inherits the mask and only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = http_start(&srv, listen_addr, (unsigned)port, (unsigned)threads, &bound);
    if (!d) {
        srv.ops->close(srv.store);
        return 1;
    }
    if (port_file && write_port_file(port_file, bound) < 0) {
        MHD_stop_daemon(d);
        srv.ops->close(srv.store);
        return 1;
    }
    SLOG(SLOG_INFO, "fota-server listening on %s port %u (store %s %s, data %s, %u threads)",
         listen_addr, bound, srv.ops->name, db, data, (unsigned)threads);

    while (sigwait(&sigs, &sig) != 0)
        ;
    SLOG(SLOG_INFO, "signal %d: stopping", sig);
    MHD_stop_daemon(d);
    srv.ops->close(srv.store);
    images_free(srv.images);
    SLOG(SLOG_INFO, "stopped");
    return 0;
}
