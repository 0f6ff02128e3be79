/*
 * nor.h - a model of the ESP32's SPI NOR flash (W25Q32-class) for the
 * simulator and the tests.
 *
 * It enforces what real NOR does and what an OTA design must survive: erase
 * works on 4096-byte sectors and sets every byte to 0xFF; programming only
 * clears bits (new = old AND data); power can be lost after any operation
 * (cut_after) or in the middle of one (cut_inside), which leaves the bytes
 * being written or the sector being erased as garbage, not clean. Every
 * erase and program is counted exactly, so a test can run a scenario once to
 * count its N operations and then cut power after each k in 1..N.
 *
 * The flash is either a file mapped with MAP_SHARED (a later process, i.e. a
 * "reboot" of fota-device, sees what this one left) or a caller's RAM buffer
 * for fast in-process tests.
 *
 * Power-cut semantics: when the operation numbered cut_after completes, its
 * effect is on the flash, the flash goes dead and that very call already
 * returns FOTA_ERR_POWER_LOST (the CPU lost power before it could use the
 * result). A torn operation (cut_inside) also returns FOTA_ERR_POWER_LOST.
 * A dead flash refuses every read, erase and program with
 * FOTA_ERR_POWER_LOST and changes nothing. A zero-length read or program is
 * not an operation: it returns FOTA_OK and counts nothing.
 */
#ifndef SIM_NOR_H
#define SIM_NOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NOR_SECTOR_SIZE 4096u
#define NOR_BLOCK_SIZE  65536u
#define NOR_PAGE_SIZE   256u

/* Timing profile: typical datasheet figures of a Winbond W25Q32JV. */
#define NOR_T_SECTOR_ERASE_US 45000u   /* 4 KB sector erase */
#define NOR_T_BLOCK_ERASE_US  150000u  /* 64 KB block erase */
#define NOR_T_PAGE_PROGRAM_NS 400000u  /* per 256-byte page touched */
#define NOR_READ_BYTES_PER_US 25u      /* 50 MHz quad I/O: 4 bits per clock */

struct nor_flash {
    uint8_t *mem;
    uint32_t size;
    int fd;                 /* -1 when RAM-backed */
    uint64_t ops;           /* erase + program operations so far */
    uint64_t erases, programs, reads, bytes_programmed, bytes_read;
    uint64_t cut_after;     /* 0 = off; power lost once op cut_after completed */
    uint64_t cut_inside;    /* 0 = off; op cut_inside is torn, then power lost */
    uint32_t seed;          /* PRNG seed for garbage and tear points */
    int dead;               /* power lost: everything returns FOTA_ERR_POWER_LOST */
    uint32_t sector_size;   /* 4096 */
    /* optional observer, called with the requested bytes of every program
     * operation made while powered (torn ones included), before it applies */
    void (*on_program)(void *arg, uint32_t addr, const uint8_t *data, uint32_t len);
    void *on_program_arg;
    uint64_t model_us;      /* modelled time spent in erase, program and read */
    uint64_t model_ns;      /* the same in ns (model_us = model_ns / 1000) */
};

/* Create (or truncate) path as a flash of size bytes, all 0xFF, and map it.
 * size must be a non-zero multiple of 4096. */
int nor_create(struct nor_flash *f, const char *path, uint32_t size);

/* Map an existing flash file; its size must be a non-zero multiple of 4096. */
int nor_open(struct nor_flash *f, const char *path);

/* Use the caller's buffer of size bytes (multiple of 4096) as the flash, as
 * it is (the caller fills it with 0xFF for a blank flash). */
int nor_open_mem(struct nor_flash *f, uint8_t *mem, uint32_t size);

/* Unmap and close (file-backed) or forget the buffer (RAM). Safe to call
 * twice or on a zeroed struct. */
void nor_close(struct nor_flash *f);

int nor_read(struct nor_flash *f, uint32_t addr, void *buf, uint32_t len);

/*
 * Flash encryption as the ESP32's engine between CPU and flash applies it,
 * emulated: with enc set, nor_program_enc writes the data encrypted and
 * nor_read_dec returns what it reads decrypted. The cipher is a keystream of
 * the address (not AES-XTS, which the model need not be), with the one
 * property that matters here: erased flash does not decrypt to 0xFF. With
 * enc 0 both are nor_read / nor_program. Counted as those are.
 */
int nor_read_dec(struct nor_flash *f, int enc, uint32_t addr, void *buf, uint32_t len);
int nor_program_enc(struct nor_flash *f, int enc, uint32_t addr, const void *buf, uint32_t len);
/* The emulated cipher itself: buf (len bytes as stored at flash address
 * addr) encrypted or decrypted in place (the keystream is its own inverse),
 * for tests that watch raw programs. */
void nor_crypt(uint32_t addr, uint8_t *buf, uint32_t len);

/* Erase the 4096-byte sector at addr (sector aligned, else FOTA_ERR_PARAM). */
int nor_erase(struct nor_flash *f, uint32_t addr);

/* Erase the 64 KB block at addr (64 KB aligned); one operation. */
int nor_erase_block(struct nor_flash *f, uint32_t addr);

/* Program len bytes at addr: new = old AND data. One operation, may cross
 * sectors and pages. */
int nor_program(struct nor_flash *f, uint32_t addr, const void *buf, uint32_t len);

/* A "reboot" of the same flash: counters, modelled time and cut settings
 * cleared, power back on. Contents, seed and observer are kept. */
int nor_rearm(struct nor_flash *f);

#ifdef __cplusplus
}
#endif
#endif
