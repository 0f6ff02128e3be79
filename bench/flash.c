/*
 * flash - what one update costs the NOR flash, against the minimum for the
 * image under the same datasheet profile.
 *
 * usage: flash
 *
 * Profile: Winbond W25Q32JV, typical datasheet figures, as modelled by
 * src/sim/nor.h: 4 KB sector erase 45 ms, 64 KB block erase 150 ms, 256-byte
 * page program 0.4 ms (per page touched), read 25 bytes/us (50 MHz quad I/O).
 *
 * An in-process update (same fixture as bench/pipeline: 4 MB RAM flash,
 * default partition table, 1,068,032-byte synthetic image) with v2, with v1
 * (same writer), and with v2 on a port without block erase
 * (sim_device.no_block_erase). The port's part_* callbacks are wrapped to
 * measure the update slot's share of the operations and of the model's time
 * (nor_flash.model_ns); the rest (journal in the `fota` partition, otadata,
 * the image check of boot_set) is the flash's totals minus that share.
 *
 * What the figure is: the flash model (src/sim/nor.c) does not measure a
 * chip; it charges each erase and program the datasheet's typical time. So
 * "slot time" is the writer's operation count priced at datasheet typical
 * times, and the honest comparison is of operations: against the
 * datasheet's own sequential erase-and-program sequence for the image's
 * bytes, with the figures taken here from the datasheet (DS_* below), not
 * from the model's constants:
 *   Winbond W25Q32JV (3V 32M-bit serial NOR flash) datasheet, table
 *   "AC Electrical Characteristics": tBE2 64 KB block erase 150 ms
 *   typ / 2000 ms max; tSE 4 KB sector erase 45 ms typ / 400 ms max;
 *   tPP page program (256 bytes) 0.4 ms typ / 3 ms max.
 *   Sequential = ceil(image / 64 KB) block erases + ceil(image / 256) page
 *   programs: the time to erase and program the image's bytes front to back.
 * The writer's ratio to it is printed at typical and at max times (the
 * writer skips all-0xFF pages and may use sector erases at the ends, so it
 * can be below 1). The model's own cheapest mix (what earlier versions
 * called "the minimum") is printed too, labelled as the model's. Reads are
 * reported apart (the read-back check reads the image twice by design).
 */
#include "simbench.h"

#define SLOT_OFF 0x150000u /* ota_1 in the default (Arduino) table */

/* W25Q32JV datasheet, AC Electrical Characteristics: typical and maximum. */
#define DS_BLOCK64_ERASE_MS_TYP 150.0
#define DS_BLOCK64_ERASE_MS_MAX 2000.0
#define DS_SECTOR_ERASE_MS_TYP 45.0
#define DS_SECTOR_ERASE_MS_MAX 400.0
#define DS_PAGE_PROGRAM_MS_TYP 0.4
#define DS_PAGE_PROGRAM_MS_MAX 3.0
#define SLOT_LEN 0x140000u

struct cls {
    uint64_t erases, block_erases, programs, pages, reads;
    uint64_t erase_ns, program_ns, read_ns;
};

static struct {
    int (*read)(const struct fota_config *, const struct fota_part *, uint32_t, void *, uint32_t);
    int (*erase)(const struct fota_config *, const struct fota_part *, uint32_t, uint32_t);
    int (*write)(const struct fota_config *, const struct fota_part *, uint32_t, const void *,
                 uint32_t);
    struct nor_flash *fl;
    struct sim_device *d;
    struct cls slot, other;
    uint64_t erases0, programs0, reads0, ns0;
} W;

/* The update slot's share is measured around the port's part_* calls on
 * it; everything else the update did to the flash (journal, otadata, which
 * the port's boot_* write directly) is the rest: totals minus the slot. */
static int is_slot(const struct fota_part *p)
{
    return p->index == W.d->fota.update.index;
}

static int w_read(const struct fota_config *c, const struct fota_part *p, uint32_t o, void *b,
                  uint32_t n)
{
    uint64_t t = W.fl->model_ns;
    int rc = W.read(c, p, o, b, n);
    if (is_slot(p))
        W.slot.reads++, W.slot.read_ns += W.fl->model_ns - t;
    return rc;
}

static int w_erase(const struct fota_config *c, const struct fota_part *p, uint32_t o, uint32_t n)
{
    uint64_t t = W.fl->model_ns, e = W.fl->erases;
    int rc = W.erase(c, p, o, n);
    if (is_slot(p)) {
        if (n == NOR_BLOCK_SIZE && W.fl->erases - e == 1)
            W.slot.block_erases++;
        else
            W.slot.erases += W.fl->erases - e;
        W.slot.erase_ns += W.fl->model_ns - t;
    }
    return rc;
}

static int w_write(const struct fota_config *c, const struct fota_part *p, uint32_t a,
                   const void *b, uint32_t n)
{
    uint64_t t = W.fl->model_ns;
    int rc = W.write(c, p, a, b, n);
    if (is_slot(p)) {
        a += p->addr;
        W.slot.programs++, W.slot.program_ns += W.fl->model_ns - t;
        W.slot.pages += n ? (a + n - 1) / NOR_PAGE_SIZE - a / NOR_PAGE_SIZE + 1 : 0;
    }
    return rc;
}

static void wrap(struct sim_device *d, struct nor_flash *fl, int block)
{
    memset(&W, 0, sizeof W);
    W.fl = fl;
    W.d = d;
    W.read = d->cfg.part_read, W.erase = d->cfg.part_erase, W.write = d->cfg.part_write;
    d->cfg.part_read = w_read, d->cfg.part_erase = w_erase, d->cfg.part_write = w_write;
    d->no_block_erase = !block;
    W.erases0 = fl->erases, W.programs0 = fl->programs, W.reads0 = fl->reads;
}

/* The rest: what the flash counted beyond the slot's share. */
static void rest(void)
{
    struct nor_flash *fl = W.fl;
    W.other.erases = fl->erases - W.erases0 - W.slot.erases - W.slot.block_erases;
    W.other.programs = fl->programs - W.programs0 - W.slot.programs;
    W.other.reads = fl->reads - W.reads0 - W.slot.reads;
    W.other.erase_ns = 0;
    W.other.program_ns = fl->model_ns - W.slot.erase_ns - W.slot.program_ns - W.slot.read_ns;
    W.other.read_ns = 0; /* folded into program_ns: the model keeps one clock */
}

int main(void)
{
    const uint32_t len = BENCH_IMAGE_SIZE;
    uint8_t *base = bench_image(len, "1.0.0", 7), *img = bench_image(len, "2.0.0", 1);
    struct bench_dev t = {0};
    uint32_t full = len / NOR_BLOCK_SIZE, tail = len % NOR_BLOCK_SIZE, tail_sec, pages = 0, i;
    uint64_t min_erase_us, min_prog_us, min_us, read_us;
    uint32_t ds_blocks = (len + 65535u) / 65536u, ds_pages = (len + 255u) / 256u;
    double ds_typ_ms = ds_blocks * DS_BLOCK64_ERASE_MS_TYP + ds_pages * DS_PAGE_PROGRAM_MS_TYP;
    double ds_max_ms = ds_blocks * DS_BLOCK64_ERASE_MS_MAX + ds_pages * DS_PAGE_PROGRAM_MS_MAX;
    static const struct {
        int v2, block;
        const char *name;
    } cases[] = {{1, 1, "v2"}, {0, 1, "v1"}, {1, 0, "v2, no block erase"}};
    unsigned c;

    fota_posix_log_level = -1;
    for (i = 0; i < len; i += NOR_PAGE_SIZE) {
        uint32_t n = len - i < NOR_PAGE_SIZE ? len - i : NOR_PAGE_SIZE, j;
        for (j = 0; j < n && img[i + j] == 0xFF; j++)
            ;
        pages += j < n;
    }
    tail_sec = (tail + NOR_SECTOR_SIZE - 1) / NOR_SECTOR_SIZE;
    min_erase_us = (uint64_t)full * NOR_T_BLOCK_ERASE_US +
                   (tail_sec * (uint64_t)NOR_T_SECTOR_ERASE_US < NOR_T_BLOCK_ERASE_US
                        ? tail_sec * (uint64_t)NOR_T_SECTOR_ERASE_US
                        : (tail_sec ? NOR_T_BLOCK_ERASE_US : 0));
    min_prog_us = (uint64_t)pages * NOR_T_PAGE_PROGRAM_NS / 1000;
    min_us = min_erase_us + min_prog_us;
    read_us = 2ull * len / NOR_READ_BYTES_PER_US;
    printf("flash: profile Winbond W25Q32JV typical: sector erase 4 KB %u ms, block erase 64 KB "
           "%u ms, page program 256 B %.1f ms, read %u B/us\n",
           NOR_T_SECTOR_ERASE_US / 1000, NOR_T_BLOCK_ERASE_US / 1000,
           NOR_T_PAGE_PROGRAM_NS / 1e6, NOR_READ_BYTES_PER_US);
    printf("flash: image %u bytes = %u full 64 KB blocks + %u bytes (%u sectors); %u of %u pages "
           "not all 0xFF\n",
           len, full, tail, tail_sec, pages, (len + NOR_PAGE_SIZE - 1) / NOR_PAGE_SIZE);
    printf("flash: datasheet sequential (W25Q32JV AC characteristics: block erase 64 KB %.0f ms typ / %.0f max, "
           "page program %.1f ms typ / %.0f max): %u block erases + %u page programs = %.1f ms "
           "typ, %.1f ms max\n",
           DS_BLOCK64_ERASE_MS_TYP, DS_BLOCK64_ERASE_MS_MAX, DS_PAGE_PROGRAM_MS_TYP,
           DS_PAGE_PROGRAM_MS_MAX, ds_blocks, ds_pages, ds_typ_ms, ds_max_ms);
    printf("flash: the model's cheapest mix = erase %.0f ms (%u blocks + tail by %s) + program %.1f "
           "ms (%u pages) = %.1f ms; + 2 read-backs of the image %.1f ms\n",
           min_erase_us / 1e3, full,
           tail_sec * NOR_T_SECTOR_ERASE_US < NOR_T_BLOCK_ERASE_US ? "sectors" : "1 block",
           min_prog_us / 1e3, pages, min_us / 1e3, read_us / 1e3);

    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t slot_us, all_us;
        bench_dev_start(&t, base, len, img, len, cases[c].v2);
        wrap(&t.d, &t.fl, cases[c].block);
        t.fl.model_ns = 0;
        t.fl.model_us = 0;
        bench_dev_update(&t, img, len, cases[c].v2);
        rest();
        if (!bench_dev_slot_matches(&t, img, len)) {
            fprintf(stderr, "flash: %s: slot does not hold the image\n", cases[c].name);
            return 2;
        }
        slot_us = (W.slot.erase_ns + W.slot.program_ns) / 1000;
        all_us = t.fl.model_ns / 1000;
        printf("flash %-19s slot: %llu block + %llu sector erases (%.0f ms), %llu programs / %llu "
               "pages (%.1f ms), %llu reads (%.1f ms)\n",
               cases[c].name, (unsigned long long)W.slot.block_erases,
               (unsigned long long)W.slot.erases, W.slot.erase_ns / 1e6,
               (unsigned long long)W.slot.programs, (unsigned long long)W.slot.pages,
               W.slot.program_ns / 1e6, (unsigned long long)W.slot.reads, W.slot.read_ns / 1e6);
        printf("flash %-19s rest (journal, otadata, boot_set's image check): %llu erases, "
               "%llu programs, %llu reads (%.1f ms all told); model total %.1f ms\n",
               cases[c].name, (unsigned long long)(W.other.erases + W.other.block_erases),
               (unsigned long long)W.other.programs, (unsigned long long)W.other.reads,
               W.other.program_ns / 1e6, all_us / 1e3);
        {
            /* the writer's operations priced at datasheet max, for the max ratio */
            double slot_max_ms = W.slot.block_erases * DS_BLOCK64_ERASE_MS_MAX +
                                 W.slot.erases * DS_SECTOR_ERASE_MS_MAX +
                                 W.slot.pages * DS_PAGE_PROGRAM_MS_MAX;
            double r_ds = slot_us / 1e3 / ds_typ_ms;
            printf("flash %-19s slot erase+program / datasheet sequential = %.3f typ, %.3f at max "
                   "times (target <= 1.2: %s); / the model's cheapest mix = %.3f; everything "
                   "(journal, reads) / (cheapest mix + read-backs) = %.3f\n",
                   cases[c].name, r_ds, slot_max_ms / ds_max_ms, r_ds <= 1.2 ? "met" : "NOT met",
                   (double)slot_us / min_us, (double)all_us / (min_us + read_us));
            printf("RESULT flash_%s model_ms=%.1f slot_ms=%.1f ds_ms=%.1f ratio=%.3f "
                   "ratio_max=%.3f blocks=%llu sectors=%llu pages=%llu ds_blocks=%u ds_pages=%u "
                   "min_ms=%.1f ratio_model=%.3f\n",
                   c == 0 ? "v2" : c == 1 ? "v1" : "v2_noblock", all_us / 1e3, slot_us / 1e3,
                   ds_typ_ms, r_ds, slot_max_ms / ds_max_ms,
                   (unsigned long long)W.slot.block_erases, (unsigned long long)W.slot.erases,
                   (unsigned long long)W.slot.pages, ds_blocks, ds_pages, min_us / 1e3,
                   (double)slot_us / min_us);
        }
    }
    bench_dev_free(&t);
    free(base), free(img);
    return 0;
}
