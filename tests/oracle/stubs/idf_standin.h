/*
 * idf_standin.h - our own stand-ins for the chip HAL, SoC and ROM headers
 * that ESP-IDF's bootloader_support sources include but that the pinned
 * ../shared/esp-idf subset does not hold (or holds only for a RISC-V
 * target, which does not compile on the host). Every header in this folder
 * but sdkconfig.h is a one-line shadow that includes this file.
 *
 * Nothing here is ESP-IDF code: only the names those sources need to
 * compile, with values of a generic target (no CONFIG_IDF_TARGET_*). The
 * functions are defined in ../idf_host.c; none of the chip ones is reached
 * by the otadata and slot decision the oracle runs (they abort).
 */
#ifndef ORACLE_IDF_STANDIN_H
#define ORACLE_IDF_STANDIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* soc/reset_reasons.h */
typedef int soc_reset_reason_t;
#define RESET_REASON_CORE_DEEP_SLEEP 5

/* soc/soc.h, soc/ext_mem_defs.h: address windows (values of no chip) */
#define SOC_DROM_LOW 0x3C000000u
#define SOC_DROM_HIGH 0x3C800000u
#define SOC_IROM_LOW 0x42000000u
#define SOC_IROM_HIGH 0x42800000u
#define SOC_DRAM_LOW 0x3FC80000u
#define SOC_DRAM_HIGH 0x3FCE0000u
#define SOC_IRAM_LOW 0x4037C000u
#define SOC_IRAM_HIGH 0x403E0000u
#define SOC_DIRAM_IRAM_LOW 0x40380000u
#define SOC_DIRAM_IRAM_HIGH 0x403E0000u
#define SOC_DIRAM_DRAM_LOW 0x3FC80000u
#define SOC_DIRAM_DRAM_HIGH 0x3FCE0000u
#define SOC_DRAM_FLASH_ADDRESS_HIGH 0x3C800000u
#define SOC_RTC_IRAM_LOW 0x50000000u
#define SOC_RTC_IRAM_HIGH 0x50002000u
#define SOC_RTC_DRAM_LOW 0x50000000u
#define SOC_RTC_DRAM_HIGH 0x50002000u
#define SOC_RTC_DATA_LOW 0x50000000u
#define SOC_RTC_DATA_HIGH 0x50002000u

/* spi_flash_mmap.h */
#define SPI_FLASH_MMU_PAGE_SIZE 0x10000u

/* soc/soc_caps.h */
#define SOC_EFUSE_SECURE_BOOT_KEY_DIGESTS 3

/* soc/chip_revision.h */
#define ESP_CHIP_REV_ABOVE(rev, min_rev) ((min_rev) <= (rev))
#define ESP_EFUSE_BLK_REV_ABOVE(rev, min_rev) ((min_rev) <= (rev))

/* hal/efuse_ll.h, hal/efuse_hal.h */
static inline bool efuse_ll_get_secure_boot_v2_en(void) { return false; }
uint32_t efuse_hal_blk_version(void);
uint32_t efuse_hal_chip_revision(void);
bool efuse_hal_get_disable_blk_version_major(void);
bool efuse_hal_get_disable_wafer_version_major(void);

/* hal/cache_types.h, hal/cache_ll.h, hal/cache_hal.h, hal/mmu_hal.h */
typedef uint32_t cache_bus_mask_t;
#define CACHE_LL_LEVEL_EXT_MEM 1
#define CACHE_TYPE_ALL 2
#define MMU_TARGET_FLASH0 1
#define MMU_LL_END_DROM_ENTRY_VADDR 0x3C7F0000u
void cache_hal_disable(int level, int type);
void cache_hal_enable(int level, int type);
void mmu_hal_unmap_all(void);
void mmu_hal_map_region(uint32_t mmu_id, int target, uint32_t vaddr, uint32_t paddr,
                        uint32_t len, uint32_t *out_len);
cache_bus_mask_t cache_ll_l1_get_bus(uint32_t cache_id, uint32_t vaddr, uint32_t len);
void cache_ll_l1_enable_bus(uint32_t cache_id, cache_bus_mask_t mask);

/* esp_fault.h */
#define ESP_FAULT_ASSERT(cond) ((void)(cond))

#endif
