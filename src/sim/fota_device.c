/*
 * fota_device.c - `fota-device`, a simulated ESP32 on the command line.
 *
 * Every run is one power-on of the device whose flash is the file given by
 * --flash: the bootloader model runs first (and may rewrite otadata, as the
 * real one does), then libfota starts with the slot that booted, then the
 * command runs; the process ending is the power going off. A power cut is
 * --cut-after N (after flash operation N) or --cut-inside N (operation N is
 * torn), and a reboot is simply the next run on the same file.
 *
 * Exit codes: 0 done, 1 usage, 2 refused or failed (message says why),
 * 3 no bootable image (a brick), 4 power cut (as requested).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "device.h"
#include "partcsv.h"

enum { EXIT_USAGE = 1, EXIT_FAILED = 2, EXIT_BRICK = 3, EXIT_POWER = 4 };

static const char usage[] =
    "usage: fota-device [options] COMMAND [ARG]\n"
    "commands:\n"
    "  provision IMAGE   create the flash file: partition table, IMAGE in ota_0\n"
    "  boot              power on, run the bootloader, print what booted\n"
    "  update            power on, check for an update and install it\n"
    "  confirm           power on and confirm the running (trial) image\n"
    "  rollback          power on, mark the running image invalid (the next run\n"
    "                    boots the previous one)\n"
    "  status            print partitions, otadata and journal (no power-on)\n"
    "options:\n"
    "  --flash FILE        the device's flash (default fota-flash.bin)\n"
    "  --chip NAME         esp32 (default), esp32s2, esp32s3, esp32c3, ...\n"
    "  --partitions CSV    partition table for provision (default: Arduino 4 MB\n"
    "                      with a `fota` journal partition)\n"
    "  --pt-offset N       partition table offset (CONFIG_PARTITION_TABLE_OFFSET,\n"
    "                      default 0x8000); give it on every run\n"
    "  --journal-part L    data partition holding the resume journal (default\n"
    "                      fota); never nvs, otadata or phy\n"
    "  --flash-encryption  app partitions encrypted (emulated); every run\n"
    "  --no-rollback-bootloader  the bootloader lacks CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE:\n"
    "                      a new image boots without a trial (the device reports it)\n"
    "  --flash-size BYTES  flash size for provision (default 4194304)\n"
    "  --server URL        update server, e.g. http://127.0.0.1:8080\n"
    "  --id ID             device id (as registered on the server)\n"
    "  --key HEX           device key, 64 hex digits (printed by fota-admin device add)\n"
    "  --source-image FILE in-process v1 source serving FILE (no server; --id and\n"
    "                      --key optional: device and source share the key)\n"
    "  --source-version V  version the in-process source offers (default 2.0.0)\n"
    "  --source-v2         the in-process source offers protocol v2 too\n"
    "  --running-version V version this device reports to check\n"
    "                      (default: the app descriptor's version)\n"
    "  --sign-pubkey HEX   release public key, 128 hex digits (fota-admin key\n"
    "                      generate): only releases signed with it are installed\n"
    "                      (the simulator stores no setting: give them every run)\n"
    "  --secure-version-floor N  anti-rollback floor (as burnt in eFuse)\n"
    "  --ca-file PEM       verify an https server against this CA (update, confirm, boot)\n"
    "  --protocol P        v1, v2 or auto (default: v2 when the server offers it)\n"
    "  --encodings LIST    take compressed images and/or deltas besides full images:\n"
    "                      compressed, delta, compressed,delta or full (default: full;\n"
    "                      docs/delta.md)\n"
    "  --max-attempts N    attempts per step before giving up (default 8)\n"
    "  --backoff-ms MS     first retry delay (default 500; doubles, jittered)\n"
    "  --timeout-ms MS     idle timeout of a transfer (default 15000)\n"
    "  --cut-after N       cut power after flash operation N of this run\n"
    "  --cut-inside N      tear flash operation N of this run, then cut power\n"
    "  --seed S            seed of the garbage a cut leaves\n"
    "  --progress          draw a progress bar on stderr\n"
    "  --quiet             log errors only\n";

struct opts {
    const char *flash, *chip, *partitions, *server, *id, *key, *source_image;
    const char *source_version, *running_version, *sign_pubkey, *ca_file;
    uint32_t secure_floor, protocols, encodings;
    uint32_t flash_size, max_attempts, backoff_ms, timeout_ms, seed, pt_offset;
    const char *journal_part;
    int flash_encryption, no_rollback;
    uint64_t cut_after, cut_inside;
    int progress, quiet, source_v2;
};

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    v = strtoull(s, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) || v > 0xFFFFFFFFu)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_hex(const char *hex, uint8_t *key, unsigned n)
{
    unsigned i;
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1]))
            return -1;
        key[i] = (uint8_t)v;
    }
    return 0;
}

static int parse_key(const char *hex, uint8_t key[32])
{
    return parse_hex(hex, key, 32);
}

static uint8_t *read_file(const char *path, uint32_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024 * 1024) {
        snprintf(err, errlen, "%s: not a regular file of at most 64 MB", path);
        fclose(fp);
        return NULL;
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf || fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
        snprintf(err, errlen, "cannot read %s", path);
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *len = (uint32_t)st.st_size;
    return buf;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* progress bar on stderr */
static void draw_progress(const struct fota_config *c, const struct fota_progress *p)
{
    static const char *const names[] = {"idle", "download", "verify", "switch", "installed", "failed"};
    static int last_pct = -1, last_phase = -1;
    unsigned width = 40, fill;
    int pct;
    char bar[64];
    (void)c;
    if (!p->bytes_total)
        return;
    pct = (int)((uint64_t)p->bytes_done * 100 / p->bytes_total);
    if (pct == last_pct && p->phase == last_phase)
        return; /* redraw only when something visible changes */
    last_pct = pct;
    last_phase = p->phase;
    fill = (unsigned)((uint64_t)p->bytes_done * width / p->bytes_total);
    memset(bar, '#', fill);
    memset(bar + fill, '.', width - fill);
    bar[width] = '\0';
    fprintf(stderr, "\r%-9s [%s] %3u%% %u/%u chunks", names[p->phase % 6], bar,
            (unsigned)((uint64_t)p->bytes_done * 100 / p->bytes_total), p->chunks_done,
            p->chunks_total ? p->chunks_total : p->chunks_done);
    if (p->phase == FOTA_PHASE_INSTALLED)
        fputc('\n', stderr);
    fflush(stderr);
}

static int exit_for(int rc)
{
    if (rc == FOTA_ERR_POWER_LOST)
        return EXIT_POWER;
    if (rc == FOTA_ERR_NO_SLOT)
        return EXIT_BRICK;
    return rc ? EXIT_FAILED : 0;
}

static void print_flash_stats(const struct nor_flash *fl)
{
    printf("flash: ops=%llu erases=%llu programs=%llu bytes_programmed=%llu bytes_read=%llu "
           "model_ms=%llu\n",
           (unsigned long long)fl->ops, (unsigned long long)fl->erases,
           (unsigned long long)fl->programs, (unsigned long long)fl->bytes_programmed,
           (unsigned long long)fl->bytes_read, (unsigned long long)(fl->model_us / 1000));
}

static void print_boot(const struct sim_device *d)
{
    char sha[65];
    hex(d->boot.image_sha256, 32, sha);
    printf("boot: slot=%s%d state=%s version=%s aborted=%d fell_back=%d sha256=%s\n",
           d->boot.slot < 0 ? "factory" : "ota_", d->boot.slot < 0 ? 0 : d->boot.slot,
           fota_ota_state_name(d->boot.ota_state), d->boot.info.version, d->boot.aborted,
           d->boot.fell_back, sha);
}

static int cmd_status(struct nor_flash *fl, const struct sim_platform *plat)
{
    struct fota_layout l;
    struct fota_ota_entry e[2];
    static struct sim_device d;
    uint8_t j[FOTA_JOURNAL_LEN], zero[32] = {0};
    unsigned i;
    int rc = sim_read_layout(fl, plat, &l);

    if (rc) {
        fprintf(stderr, "status: partition table: %s\n", fota_strerror(rc));
        return exit_for(rc);
    }
    for (i = 0; i < l.slot_count; i++) {
        struct fota_app_info info;
        uint32_t ilen = 0;
        int vr = sim_verify_image_dec(fl, plat->flash_encryption, l.slot_offset[i],
                                      l.slot_size[i], FOTA_CHIP_ANY, &info, &ilen, NULL);
        printf("slot: ota_%u offset=0x%x size=0x%x image=%s", i, l.slot_offset[i],
               l.slot_size[i], vr ? fota_errname(vr) : "valid");
        if (!vr)
            printf(" version=%s chip=%s len=%u", info.version, fota_chip_name(info.chip_id), ilen);
        printf("\n");
    }
    if ((rc = sim_boot_read_otadata(fl, &l, e)))
        return exit_for(rc);
    for (i = 0; i < 2; i++)
        printf("otadata[%u]: seq=%u state=%s %s slot=ota_%u\n", i, e[i].seq,
               fota_ota_state_name(e[i].state), fota_ota_valid(&e[i]) ? "valid" : "invalid",
               fota_ota_slot(e[i].seq, l.slot_count));
    memset(&d, 0, sizeof d);
    d.plat = *plat;
    sim_device_setup(&d, fl, 0, "status", zero);
    if ((rc = sim_device_open_journal(&d)) || (rc = fota_fstore_load(&d.store, j, sizeof j)))
        return exit_for(rc);
    if (j[0] == 0xFF)
        printf("journal: none\n");
    else
        printf("journal: phase=%u target=ota_%u release=%u size=%u committed=%u\n", j[5], j[6],
               j[8] | j[9] << 8 | j[10] << 16 | (uint32_t)j[11] << 24,
               j[12] | j[13] << 8 | j[14] << 16 | (uint32_t)j[15] << 24,
               j[20] | j[21] << 8 | j[22] << 16 | (uint32_t)j[23] << 24);
    if (d.cfg.floor_load) { /* the floor store: sectors 2-3 of the journal partition */
        uint32_t floor = 0;
        if ((rc = fota_fstore_floor_load(&d.floor_store, &floor)))
            return exit_for(rc);
        printf("floor: secure_version=%u\n", floor);
    }
    return 0;
}

/* After a TLS failure: libcurl's own words on the certificate. */
static void print_tls_detail(const struct sim_device *d, int rc)
{
    if (rc == FOTA_ERR_TLS && d->curl && d->curl->last_error[0])
        printf("tls: %s\n", d->curl->last_error);
}

/* The libcurl transport to o->server with the options every command shares
 * (idle timeout, CA file): update, confirm and boot all talk to the server
 * (confirm and boot send the status reports), so all take --ca-file. */
static int open_server(struct fota_curl *curl, const struct opts *o)
{
    if (fota_curl_open(curl, o->server)) {
        fprintf(stderr, "fota-device: --server: expected http(s)://host[:port], got '%s'\n",
                o->server);
        return EXIT_USAGE;
    }
    if (o->timeout_ms)
        curl->idle_timeout_ms = o->timeout_ms;
    if (o->ca_file)
        snprintf(curl->ca_file, sizeof curl->ca_file, "%s", o->ca_file);
    return 0;
}

static int do_update(struct sim_device *d, const struct opts *o)
{
    struct fota_offer offer;
    struct fota_progress p;
    const char *running = o->running_version ? o->running_version : d->boot.info.version;
    uint32_t attempt = 0, t_check = d->cfg.now_ms(&d->cfg);
    int rc;

    if (fota_phase(&d->fota) == FOTA_PHASE_INSTALLED) {
        printf("update: release %u already installed; reboot to try it\n",
               d->fota.offer.release);
        return 0;
    }
    for (;;) {
        rc = fota_check(&d->fota, running, &offer);
        if (!rc || !fota_err_retryable(rc) || ++attempt >= (o->max_attempts ? o->max_attempts : 8))
            break;
        d->cfg.sleep_ms ? d->cfg.sleep_ms(&d->cfg, (o->backoff_ms ? o->backoff_ms : 500) << (attempt < 6 ? attempt - 1 : 5)) : (void)0;
    }
    if (rc) {
        printf("update: check failed: %s: %s\n", fota_errname(rc), fota_strerror(rc));
        print_tls_detail(d, rc);
        return exit_for(rc);
    }
    if (!offer.update) {
        printf("update: no update (running %s)\n", running);
        return 0;
    }
    printf("update: offered release %u version %s size %u chunk_size %u\n", offer.release,
           offer.version, offer.size, offer.chunk_size);
    if (offer.encoding != FOTA_ENC_FULL)
        printf("update: encoding %s, patch_size %u\n",
               offer.encoding == FOTA_ENC_DELTA ? "delta" : "compressed", offer.patch_size);
    rc = fota_run(&d->fota, &offer);
    /* the update itself: from the check to installed (status included),
     * without the power-on before it */
    printf("update: time_ms=%u\n", d->cfg.now_ms(&d->cfg) - t_check);
    fota_get_progress(&d->fota, &p);
    if (rc) {
        if (o->progress)
            fputc('\n', stderr);
        printf("update: failed: %s: %s\n", fota_errname(rc), fota_strerror(rc));
        print_tls_detail(d, rc);
        printf("update: chunks_fetched=%u bytes_fetched=%u resumed_from=%u retries=%u\n",
               p.chunks_fetched, p.bytes_fetched, p.resumed_from, p.retries);
        return exit_for(rc);
    }
    printf("update: installed release %u in ota_%u: chunks_fetched=%u bytes_fetched=%u "
           "resumed_from=%u retries=%u\n",
           offer.release, (unsigned)d->fota.update.index, p.chunks_fetched, p.bytes_fetched,
           p.resumed_from, p.retries);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"flash", 1, 0, 'f'}, {"chip", 1, 0, 'c'}, {"partitions", 1, 0, 'p'},
        {"flash-size", 1, 0, 'S'}, {"server", 1, 0, 's'}, {"id", 1, 0, 'i'},
        {"key", 1, 0, 'k'}, {"source-image", 1, 0, 'I'}, {"source-version", 1, 0, 'V'},
        {"running-version", 1, 0, 'r'}, {"max-attempts", 1, 0, 'm'},
        {"backoff-ms", 1, 0, 'b'}, {"timeout-ms", 1, 0, 't'}, {"cut-after", 1, 0, 'A'},
        {"cut-inside", 1, 0, 'N'}, {"seed", 1, 0, 'e'}, {"progress", 0, 0, 'P'},
        {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {"sign-pubkey", 1, 0, 'K'},
        {"secure-version-floor", 1, 0, 'F'}, {"ca-file", 1, 0, 'C'}, {"protocol", 1, 0, 'R'},
        {"source-v2", 0, 0, '2'}, {"pt-offset", 1, 0, 'T'}, {"journal-part", 1, 0, 'J'},
        {"flash-encryption", 0, 0, 'E'}, {"no-rollback-bootloader", 0, 0, 'B'},
        {"encodings", 1, 0, 'X'}, {0, 0, 0, 0}};
    struct opts o = {.flash = "fota-flash.bin", .chip = "esp32", .flash_size = 4u << 20,
                     .source_version = "2.0.0"};
    static struct sim_device d;
    static struct nor_flash fl;
    static struct fota_curl curl;
    static struct v1_source src;
    uint8_t key[32] = {0}, *img = NULL;
    uint32_t img_len = 0;
    char err[256];
    const char *cmd;
    int ch, chip, rc, status = 0;

    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'f': o.flash = optarg; break;
        case 'c': o.chip = optarg; break;
        case 'p': o.partitions = optarg; break;
        case 'S': bad = parse_u32(optarg, &o.flash_size); break;
        case 's': o.server = optarg; break;
        case 'i': o.id = optarg; break;
        case 'k': o.key = optarg; break;
        case 'I': o.source_image = optarg; break;
        case 'V': o.source_version = optarg; break;
        case 'r': o.running_version = optarg; break;
        case 'm': bad = parse_u32(optarg, &o.max_attempts); break;
        case 'b': bad = parse_u32(optarg, &o.backoff_ms); break;
        case 't': bad = parse_u32(optarg, &o.timeout_ms); break;
        case 'A': bad = parse_u64(optarg, &o.cut_after); break;
        case 'N': bad = parse_u64(optarg, &o.cut_inside); break;
        case 'e': bad = parse_u32(optarg, &o.seed); break;
        case 'P': o.progress = 1; break;
        case 'K': o.sign_pubkey = optarg; break;
        case 'F': bad = parse_u32(optarg, &o.secure_floor); break;
        case 'C': o.ca_file = optarg; break;
        case '2': o.source_v2 = 1; break;
        case 'T': bad = parse_u32(optarg, &o.pt_offset); break;
        case 'J': o.journal_part = optarg; break;
        case 'E': o.flash_encryption = 1; break;
        case 'B': o.no_rollback = 1; break;
        case 'R':
            if (!strcmp(optarg, "v1"))
                o.protocols = FOTA_PROTO_V1;
            else if (!strcmp(optarg, "v2"))
                o.protocols = FOTA_PROTO_V2;
            else if (!strcmp(optarg, "auto"))
                o.protocols = 0;
            else
                bad = 1;
            break;
        case 'X':
            if (!strcmp(optarg, "full"))
                o.encodings = 0;
            else if (!strcmp(optarg, "compressed"))
                o.encodings = FOTA_ENCS_COMPRESSED;
            else if (!strcmp(optarg, "delta"))
                o.encodings = FOTA_ENCS_DELTA;
            else if (!strcmp(optarg, "compressed,delta") || !strcmp(optarg, "delta,compressed"))
                o.encodings = FOTA_ENCS_COMPRESSED | FOTA_ENCS_DELTA;
            else
                bad = 1;
            break;
        case 'q': o.quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "fota-device: expected a non-negative number, got '%s'\n", optarg);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    chip = fota_chip_from_name(o.chip);
    if (chip < 0) {
        fprintf(stderr, "fota-device: --chip: unknown chip '%s' (esp32, esp32s2, esp32s3, esp32c3, "
                        "esp32c2, esp32c6, esp32h2)\n", o.chip);
        return EXIT_USAGE;
    }
    fota_posix_log_level = o.quiet ? FOTA_LOG_ERROR : FOTA_LOG_INFO;
    if (o.pt_offset % FOTA_SECTOR_SIZE) {
        fprintf(stderr, "fota-device: --pt-offset: expected a multiple of 0x1000, got 0x%x\n",
                o.pt_offset);
        return EXIT_USAGE;
    }
    d.plat.pt_offset = o.pt_offset;
    d.plat.journal_label = o.journal_part;
    d.plat.flash_encryption = o.flash_encryption;
    d.plat.no_rollback = o.no_rollback;

    if (!strcmp(cmd, "provision")) {
        char *csv = NULL;
        uint32_t csv_len;
        if (optind + 1 >= argc) {
            fprintf(stderr, "fota-device: provision needs an IMAGE file\n");
            return EXIT_USAGE;
        }
        if (!(img = read_file(argv[optind + 1], &img_len, err, sizeof err))) {
            fprintf(stderr, "fota-device: %s\n", err);
            return EXIT_FAILED;
        }
        if (o.partitions) {
            csv = (char *)read_file(o.partitions, &csv_len, err, sizeof err);
            if (!csv) {
                fprintf(stderr, "fota-device: %s\n", err);
                free(img);
                return EXIT_FAILED;
            }
            csv = realloc(csv, csv_len + 1);
            csv[csv_len] = '\0';
        }
        if ((rc = nor_create(&fl, o.flash, o.flash_size))) {
            fprintf(stderr, "fota-device: cannot create %s: %s\n", o.flash, fota_strerror(rc));
            free(csv);
            free(img);
            return EXIT_FAILED;
        }
        rc = sim_provision(&fl, &d.plat, csv, img, img_len, chip, err, sizeof err);
        if (rc) {
            fprintf(stderr, "fota-device: provision refused: %s\n", err);
            nor_close(&fl);
            unlink(o.flash);
            free(csv);
            free(img);
            return EXIT_FAILED;
        }
        printf("provision: %s: %u-byte image in ota_0 (%s)\n", o.flash, img_len, o.partitions ? o.partitions : "default table");
        nor_close(&fl);
        free(csv);
        free(img);
        return 0;
    }

    if ((rc = nor_open(&fl, o.flash))) {
        fprintf(stderr, "fota-device: cannot open flash %s: %s (provision it first)\n", o.flash,
                fota_strerror(rc));
        return EXIT_FAILED;
    }
    if (!strcmp(cmd, "status")) {
        rc = cmd_status(&fl, &d.plat);
        nor_close(&fl);
        return rc;
    }
    if (strcmp(cmd, "boot") && strcmp(cmd, "update") && strcmp(cmd, "confirm") &&
        strcmp(cmd, "rollback")) {
        fprintf(stderr, "fota-device: unknown command '%s'\n%s", cmd, usage);
        return EXIT_USAGE;
    }
    fl.cut_after = o.cut_after;
    fl.cut_inside = o.cut_inside;
    fl.seed = o.seed;
    if (o.key && parse_key(o.key, key)) {
        fprintf(stderr, "fota-device: --key: expected 64 hex digits\n");
        return EXIT_USAGE;
    }
    if (!strcmp(cmd, "update")) {
        /* a server knows the device by id and key; the in-process source
         * shares whatever key the device has (all zero unless --key) */
        if (o.server && (!o.id || !o.key)) {
            fprintf(stderr, "fota-device: update --server needs --id and --key (64 hex digits, "
                            "from fota-admin device add)\n");
            return EXIT_USAGE;
        }
        if (o.server) {
            if ((rc = open_server(&curl, &o)))
                return rc;
            d.curl = &curl;
        } else if (o.source_image) {
            if (!(img = read_file(o.source_image, &img_len, err, sizeof err))) {
                fprintf(stderr, "fota-device: %s\n", err);
                return EXIT_FAILED;
            }
            v1_source_init(&src, img, img_len, 1, o.source_version, o.id ? o.id : "device", key);
            src.v2 = o.source_v2;
            d.src = &src;
        } else {
            fprintf(stderr, "fota-device: update needs --server URL or --source-image FILE\n");
            return EXIT_USAGE;
        }
    } else if (o.id && o.key && o.server) {
        if ((rc = open_server(&curl, &o)))
            return rc;
        d.curl = &curl; /* confirm/boot report status (confirmed, rolled_back) */
    }
    sim_device_setup(&d, &fl, chip, o.id ? o.id : "device", key);
    d.cfg.max_attempts = o.max_attempts;
    d.cfg.secure_version_floor = o.secure_floor;
    d.cfg.protocols = o.protocols;
    d.cfg.encodings = o.encodings;
    if (o.sign_pubkey) {
        static uint8_t pub[FOTA_PUBKEY_LEN];
        if (parse_hex(o.sign_pubkey, pub, sizeof pub)) {
            fprintf(stderr, "fota-device: --sign-pubkey: expected 128 hex digits (X || Y)\n");
            return EXIT_USAGE;
        }
        d.cfg.sign_pubkey = pub;
    }
    d.cfg.backoff_base_ms = o.backoff_ms;
    if (o.progress)
        d.cfg.progress = draw_progress;
    rc = sim_device_power_on(&d);
    if (rc && rc != FOTA_ERR_POWER_LOST && d.boot.why[0] == '\0') {
        fprintf(stderr, "fota-device: power-on failed: %s\n", fota_strerror(rc));
    }
    if (rc == FOTA_ERR_NO_SLOT)
        printf("boot: no bootable image: %s\n", d.boot.why);
    else if (rc != FOTA_ERR_POWER_LOST || d.boot.info.version[0])
        print_boot(&d);
    if (!rc) {
        if (!strcmp(cmd, "update")) {
            status = do_update(&d, &o);
            rc = status == EXIT_POWER ? FOTA_ERR_POWER_LOST : FOTA_OK;
        } else if (!strcmp(cmd, "confirm")) {
            rc = fota_confirm(&d.fota);
            if (rc && rc != FOTA_ERR_POWER_LOST) {
                printf("confirm: %s: %s\n", fota_errname(rc), fota_strerror(rc));
                status = EXIT_FAILED;
            } else if (!rc) {
                printf("confirm: ota_%d is valid\n", d.boot.slot);
            }
        } else if (!strcmp(cmd, "rollback")) {
            rc = fota_rollback(&d.fota);
            if (rc && rc != FOTA_ERR_POWER_LOST) {
                printf("rollback: %s: %s\n", fota_errname(rc), fota_strerror(rc));
                status = EXIT_FAILED;
            } else if (!rc) {
                printf("rollback: ota_%d is invalid; the next boot runs the previous image\n",
                       d.boot.slot);
            }
        }
    }
    if (rc == FOTA_ERR_POWER_LOST) {
        printf("power: lost after flash operation %llu\n", (unsigned long long)fl.ops);
        status = EXIT_POWER;
    } else if (rc && !status) {
        status = exit_for(rc);
    }
    print_flash_stats(&fl);
    if (d.curl)
        fota_curl_close(&curl);
    nor_close(&fl);
    free(img);
    return status;
}
