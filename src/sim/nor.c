/*
 * nor.c - NOR flash model with power-cut injection (see nor.h).
 *
 * Every erase and program goes through op_begin(), which counts it, decides
 * whether it is the torn one and, after it applied, whether power goes now.
 * Garbage and tear points come from an xorshift PRNG seeded by the flash's
 * seed and the operation number, so a run is reproducible byte for byte and
 * the garbage of operation k does not depend on how many reads came before.
 */
#define _POSIX_C_SOURCE 200809L
#include "nor.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fota/error.h"
#include "simrand.h"


/* Seed for operation op: mix seed and op (splitmix-style) so neighbouring
 * operations get unrelated streams; never 0, which xorshift cannot leave. */
static uint32_t xs_seed(uint32_t seed, uint64_t op)
{
    uint64_t z = ((uint64_t)seed << 32 | (uint32_t)op) + 0x9E3779B97F4A7C15ull * (op + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (uint32_t)z ? (uint32_t)z : 0x2545F491u;
}

/* A garbage byte that differs from both old and intended where it can, so
 * a torn write is visible rather than accidentally clean. */
static uint8_t garbage(uint32_t *s, uint8_t old, uint8_t intended)
{
    uint8_t g = (uint8_t)xs_next(s);
    int i;
    for (i = 0; i < 8 && (g == old || g == intended); i++)
        g = (uint8_t)xs_next(s);
    return g;
}

static int range_ok(const struct nor_flash *f, uint32_t addr, uint32_t len)
{
    return f->mem && addr <= f->size && len <= f->size - addr;
}

static void add_time_ns(struct nor_flash *f, uint64_t ns)
{
    f->model_ns += ns;
    f->model_us = f->model_ns / 1000u;
}

static void init_struct(struct nor_flash *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->sector_size = NOR_SECTOR_SIZE;
}

static int map_fd(struct nor_flash *f, int fd, uint32_t size)
{
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return FOTA_ERR_IO;
    }
    f->mem = m;
    f->size = size;
    f->fd = fd;
    return FOTA_OK;
}

int nor_create(struct nor_flash *f, const char *path, uint32_t size)
{
    int fd, rc;

    if (!f || !path || size == 0 || size % NOR_SECTOR_SIZE)
        return FOTA_ERR_PARAM;
    init_struct(f);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return FOTA_ERR_IO;
    if (ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        return FOTA_ERR_IO;
    }
    rc = map_fd(f, fd, size);
    if (rc)
        return rc;
    memset(f->mem, 0xFF, size);
    return FOTA_OK;
}

int nor_open(struct nor_flash *f, const char *path)
{
    struct stat st;
    int fd;

    if (!f || !path)
        return FOTA_ERR_PARAM;
    init_struct(f);
    fd = open(path, O_RDWR);
    if (fd < 0)
        return FOTA_ERR_IO;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return FOTA_ERR_IO;
    }
    if (st.st_size <= 0 || st.st_size > 0xFFFFF000 || st.st_size % NOR_SECTOR_SIZE) {
        close(fd);
        return FOTA_ERR_PARAM;
    }
    return map_fd(f, fd, (uint32_t)st.st_size);
}

int nor_open_mem(struct nor_flash *f, uint8_t *mem, uint32_t size)
{
    if (!f || !mem || size == 0 || size % NOR_SECTOR_SIZE)
        return FOTA_ERR_PARAM;
    init_struct(f);
    f->mem = mem;
    f->size = size;
    return FOTA_OK;
}

void nor_close(struct nor_flash *f)
{
    if (!f)
        return;
    if (f->fd >= 0) {
        if (f->mem)
            munmap(f->mem, f->size);
        close(f->fd);
    }
    f->mem = NULL;
    f->size = 0;
    f->fd = -1;
}

int nor_rearm(struct nor_flash *f)
{
    if (!f || !f->mem)
        return FOTA_ERR_PARAM;
    f->ops = f->erases = f->programs = f->reads = 0;
    f->bytes_programmed = f->bytes_read = 0;
    f->model_us = f->model_ns = 0;
    f->cut_after = f->cut_inside = 0;
    f->dead = 0;
    return FOTA_OK;
}

/* Checks common to read and program: FOTA_OK or the error. */
static int io_args(const struct nor_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    if (!f || (!buf && len))
        return FOTA_ERR_PARAM;
    if (f->dead)
        return FOTA_ERR_POWER_LOST;
    if (!range_ok(f, addr, len))
        return FOTA_ERR_PARAM;
    return FOTA_OK;
}

int nor_read(struct nor_flash *f, uint32_t addr, void *buf, uint32_t len)
{
    int rc = io_args(f, addr, buf, len);
    if (rc || len == 0) /* a zero-length call is no operation */
        return rc;
    memcpy(buf, f->mem + addr, len);
    f->reads++;
    f->bytes_read += len;
    add_time_ns(f, (uint64_t)len * 1000u / NOR_READ_BYTES_PER_US);
    return FOTA_OK;
}

/* Count the operation about to run; 1 when it is the one to tear. */
static int op_begin(struct nor_flash *f)
{
    f->ops++;
    return f->cut_inside && f->ops == f->cut_inside;
}

/* After an operation applied: 1 when power goes now. */
static int op_end(struct nor_flash *f, int torn)
{
    if (torn || (f->cut_after && f->ops >= f->cut_after)) {
        f->dead = 1;
        return 1;
    }
    return 0;
}

/* Erase [addr, addr+len): whole, or torn (a random prefix erased to 0xFF and
 * the rest garbage, as when an erase pulse is interrupted). */
static int do_erase(struct nor_flash *f, uint32_t addr, uint32_t len, uint64_t ns)
{
    int torn;

    if (f->dead)
        return FOTA_ERR_POWER_LOST;
    torn = op_begin(f);
    f->erases++;
    add_time_ns(f, ns);
    if (!torn) {
        memset(f->mem + addr, 0xFF, len);
    } else {
        uint32_t s = xs_seed(f->seed, f->ops);
        uint32_t split = xs_next(&s) % len, i;
        memset(f->mem + addr, 0xFF, split);
        for (i = split; i < len; i++)
            f->mem[addr + i] = garbage(&s, f->mem[addr + i], 0xFF);
    }
    return op_end(f, torn) ? FOTA_ERR_POWER_LOST : FOTA_OK;
}

/* A sector or block erase: aligned, in range, one operation. */
static int erase_unit(struct nor_flash *f, uint32_t addr, uint32_t unit, uint64_t us)
{
    if (!f)
        return FOTA_ERR_PARAM;
    if (f->dead)
        return FOTA_ERR_POWER_LOST;
    if (addr % unit || !range_ok(f, addr, unit))
        return FOTA_ERR_PARAM;
    return do_erase(f, addr, unit, us * 1000u);
}

int nor_erase(struct nor_flash *f, uint32_t addr)
{
    return erase_unit(f, addr, NOR_SECTOR_SIZE, NOR_T_SECTOR_ERASE_US);
}

int nor_erase_block(struct nor_flash *f, uint32_t addr)
{
    return erase_unit(f, addr, NOR_BLOCK_SIZE, NOR_T_BLOCK_ERASE_US);
}

/* Keystream byte of address a: never 0, so no byte encrypts to itself. */
static uint8_t enc_key(uint32_t a)
{
    uint32_t h = (a / 16u) * 2654435761u ^ (a % 16u) * 0x9E3779B9u;
    return (uint8_t)((h >> 24) | 1u);
}

void nor_crypt(uint32_t addr, uint8_t *buf, uint32_t len)
{
    uint32_t i;
    for (i = 0; i < len; i++)
        buf[i] ^= enc_key(addr + i);
}

int nor_read_dec(struct nor_flash *f, int enc, uint32_t addr, void *buf, uint32_t len)
{
    uint8_t *b = buf;
    uint32_t i;
    int rc = nor_read(f, addr, buf, len);
    if (rc || !enc)
        return rc;
    for (i = 0; i < len; i++)
        b[i] ^= enc_key(addr + i);
    return FOTA_OK;
}

int nor_program_enc(struct nor_flash *f, int enc, uint32_t addr, const void *buf, uint32_t len)
{
    const uint8_t *d = buf;
    uint8_t c[4096];
    uint32_t i;
    if (!enc)
        return nor_program(f, addr, buf, len);
    if (len > sizeof c)
        return FOTA_ERR_PARAM; /* one operation, as the caller asked */
    for (i = 0; i < len; i++)
        c[i] = (uint8_t)(d[i] ^ enc_key(addr + i));
    return nor_program(f, addr, c, len);
}

int nor_program(struct nor_flash *f, uint32_t addr, const void *buf, uint32_t len)
{
    const uint8_t *d = buf;
    uint32_t i, pages;
    int torn, rc = io_args(f, addr, buf, len);

    if (rc || len == 0) /* a zero-length call is no operation */
        return rc;
    if (f->on_program)
        f->on_program(f->on_program_arg, addr, d, len);
    torn = op_begin(f);
    f->programs++;
    f->bytes_programmed += len;
    pages = (addr + len - 1u) / NOR_PAGE_SIZE - addr / NOR_PAGE_SIZE + 1u;
    add_time_ns(f, (uint64_t)pages * NOR_T_PAGE_PROGRAM_NS);
    if (!torn) {
        for (i = 0; i < len; i++)
            f->mem[addr + i] &= d[i];
    } else {
        uint32_t s = xs_seed(f->seed, f->ops);
        uint32_t split = xs_next(&s) % len; /* at least one byte torn */
        for (i = 0; i < split; i++)
            f->mem[addr + i] &= d[i];
        for (; i < len; i++) {
            uint8_t old = f->mem[addr + i];
            f->mem[addr + i] = garbage(&s, old, (uint8_t)(old & d[i]));
        }
    }
    return op_end(f, torn) ? FOTA_ERR_POWER_LOST : FOTA_OK;
}
