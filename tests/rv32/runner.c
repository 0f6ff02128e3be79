/*
 * runner.c - the core's pure unit checks (tests/core/unit_checks.h, the
 * same ones core_units runs under cmocka) as RV32IMC code, the ESP32-C3's
 * instruction set, run under `qemu-system-riscv32 -M virt` with picolibc's
 * semihosting for output and the exit status (see run-qemu).
 *
 * cmocka does not run there, so this is a freestanding runner: each check
 * counts, a failed one prints its file, line and values and the run goes on;
 * the last line says how many checks ran and passed, and the exit status is
 * 0 only when all did. The flash under the fstore check is a RAM buffer
 * with NOR semantics and a power cut after operation k (a fake at the port
 * boundary, as the NOR model is on the host).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fota/fota.h"

static unsigned long uc_checks, uc_failed;

static void uc_fail(const char *file, int line, const char *what)
{
    uc_failed++;
    printf("FAIL %s:%d: %s\n", file, line, what);
}

static void uc_int_check(const char *file, int line, const char *ea, const char *eb,
                         unsigned long long a, unsigned long long b)
{
    uc_checks++;
    if (a != b) {
        uc_fail(file, line, "integers differ");
        printf("     %s == %s: 0x%llx != 0x%llx\n", ea, eb, a, b);
    }
}

#define UC_INT_EQ(a, b)                                                                  \
    uc_int_check(__FILE__, __LINE__, #a, #b, (unsigned long long)(a), (unsigned long long)(b))
#define UC_TRUE(x)                                                                       \
    do {                                                                                 \
        uc_checks++;                                                                     \
        if (!(x))                                                                        \
            uc_fail(__FILE__, __LINE__, #x);                                             \
    } while (0)
#define UC_MEM_EQ(a, b, n)                                                               \
    do {                                                                                 \
        uc_checks++;                                                                     \
        if (memcmp((a), (b), (n)))                                                       \
            uc_fail(__FILE__, __LINE__, "memory differs: " #a " vs " #b);                \
    } while (0)
#define UC_STR_EQ(a, b)                                                                  \
    do {                                                                                 \
        uc_checks++;                                                                     \
        if (strcmp((a), (b)))                                                            \
            uc_fail(__FILE__, __LINE__, "string differs: " #a " vs " #b);                \
    } while (0)

/* ---- the RAM flash under uc_fstore_atomic ----------------------------------- */

static struct {
    uint8_t *mem;
    uint32_t size;
    unsigned long ops, cut_after;
    int dead;
} rf;

static int rf_op(void)
{
    if (rf.dead)
        return FOTA_ERR_POWER_LOST;
    rf.ops++;
    if (rf.cut_after && rf.ops == rf.cut_after)
        rf.dead = 1; /* this operation completed, then power went */
    return FOTA_OK;
}

/* Partition offsets made absolute, bounds checked as a port does. */
static int rf_abs(const struct fota_part *p, uint32_t off, uint32_t len, uint32_t *addr)
{
    if (off > p->size || len > p->size - off || p->addr > rf.size || p->size > rf.size - p->addr)
        return FOTA_ERR_PARAM;
    *addr = p->addr + off;
    return FOTA_OK;
}

static int rf_read(const struct fota_config *c, const struct fota_part *p, uint32_t off, void *buf,
                   uint32_t len)
{
    uint32_t addr;
    (void)c;
    if (rf_abs(p, off, len, &addr))
        return FOTA_ERR_PARAM;
    if (rf.dead)
        return FOTA_ERR_POWER_LOST;
    memcpy(buf, rf.mem + addr, len);
    return FOTA_OK;
}

static int rf_erase(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                    uint32_t len)
{
    uint32_t addr, a;
    (void)c;
    if (rf_abs(p, off, len, &addr) || addr % 4096u || len % 4096u)
        return FOTA_ERR_PARAM;
    for (a = addr; a < addr + len; a += 4096u) { /* one operation per sector */
        if (rf.dead)
            return FOTA_ERR_POWER_LOST;
        memset(rf.mem + a, 0xFF, 4096u);
        rf_op();
        if (rf.dead)
            return FOTA_ERR_POWER_LOST;
    }
    return FOTA_OK;
}

static int rf_write(const struct fota_config *c, const struct fota_part *p, uint32_t off,
                    const void *buf, uint32_t len)
{
    const uint8_t *s = buf;
    uint32_t addr, i;
    (void)c;
    if (rf_abs(p, off, len, &addr))
        return FOTA_ERR_PARAM;
    if (rf.dead)
        return FOTA_ERR_POWER_LOST;
    for (i = 0; i < len; i++) /* NOR: programming only clears bits */
        rf.mem[addr + i] &= s[i];
    rf_op();
    return rf.dead ? FOTA_ERR_POWER_LOST : FOTA_OK;
}

static struct fota_config rf_cfg;

static const struct fota_config *uc_flash_open(uint8_t *mem, uint32_t size)
{
    memset(&rf, 0, sizeof rf);
    rf.mem = mem;
    rf.size = size;
    memset(&rf_cfg, 0, sizeof rf_cfg);
    rf_cfg.part_read = rf_read;
    rf_cfg.part_erase = rf_erase;
    rf_cfg.part_write = rf_write;
    return &rf_cfg;
}

static uint64_t uc_flash_ops(void)
{
    return rf.ops;
}

static void uc_flash_cut_after(uint64_t k)
{
    rf.cut_after = rf.ops + (unsigned long)k;
}

static void uc_flash_rearm(void)
{
    rf.ops = 0;
    rf.cut_after = 0;
    rf.dead = 0;
}

#include "unit_checks.h"

int main(void)
{
    unsigned i, n = sizeof uc_groups / sizeof uc_groups[0];
    for (i = 0; i < n; i++) {
        unsigned long before = uc_checks, failed = uc_failed;
        uc_groups[i].fn();
        printf("rv32: %-36s %5lu checks%s\n", uc_groups[i].name, uc_checks - before,
               uc_failed != failed ? " FAILED" : "");
        fflush(stdout);
    }
    if (uc_failed || uc_checks == 0) {
        printf("rv32: %lu of %lu checks FAILED in %u groups\n", uc_failed, uc_checks, n);
        return 1;
    }
    printf("rv32: all %lu checks passed in %u groups\n", uc_checks, n);
    return 0;
}
