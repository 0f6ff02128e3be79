/*
 * esp_ota.h - the ESP-IDF partition table and otadata formats, and the
 * boot-slot rules that ESP-IDF's bootloader and esp_ota_ops apply to them.
 *
 * A helper library of the core, not its main path: the engine reaches otadata
 * only through the port's boot_* callbacks (fota.h). The simulator's port
 * uses these rules to write otadata as esp_ota_ops does, its bootloader
 * model to read it (and write PENDING_VERIFY / ABORTED), and its
 * provisioning to write the partition table.
 *
 * Partition table: at the port's partition-table offset
 * (CONFIG_PARTITION_TABLE_OFFSET, 0x8000 by default), up to 0xC00 bytes
 * of 32-byte entries {u16 magic 0x50AA, u8 type, u8 subtype, u32 offset, u32 size,
 * char label[16], u32 flags}; an entry with magic 0xEBEB carries the MD5 of
 * the entries before it; the first all-0xFF entry ends the table.
 *
 * otadata: a data partition (subtype 0) of two 4096-byte sectors, each
 * starting with esp_ota_select_entry_t {u32 ota_seq, u8 seq_label[20],
 * u32 ota_state, u32 crc}; crc = zlib CRC-32 of the 4 LE bytes of ota_seq
 * with initial value 0xFFFFFFFF.
 */
#ifndef FOTA_ESP_OTA_H
#define FOTA_ESP_OTA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef FOTA_MAX_OTA_SLOTS
#define FOTA_MAX_OTA_SLOTS 16 /* ESP-IDF allows ota_0 .. ota_15 */
#endif

#define FOTA_PT_OFFSET_DEFAULT 0x8000u /* ESP-IDF's CONFIG_PARTITION_TABLE_OFFSET default */
#define FOTA_PT_MAX_LEN       0xC00u
#define FOTA_PT_ENTRY_LEN     32u
#define FOTA_PT_MAGIC         0x50AAu
#define FOTA_PT_MD5_MAGIC     0xEBEBu
#define FOTA_PT_TYPE_APP      0x00u
#define FOTA_PT_TYPE_DATA     0x01u
#define FOTA_PT_SUB_FACTORY   0x00u
#define FOTA_PT_SUB_OTA_0     0x10u  /* ota_N = 0x10 + N */
#define FOTA_PT_SUB_TEST      0x20u
#define FOTA_PT_SUB_OTADATA   0x00u  /* data */
#define FOTA_PT_SUB_PHY       0x01u
#define FOTA_PT_SUB_NVS       0x02u
#define FOTA_PT_SUB_COREDUMP  0x03u
#define FOTA_PT_SUB_NVS_KEYS  0x04u
#define FOTA_PT_SUB_EFUSE     0x05u
#define FOTA_PT_SUB_UNDEFINED 0x06u
#define FOTA_PT_SUB_ESPHTTPD  0x80u
#define FOTA_PT_SUB_FAT       0x81u
#define FOTA_PT_SUB_SPIFFS    0x82u
#define FOTA_PT_SUB_LITTLEFS  0x83u
#define FOTA_APP_ALIGN        0x10000u /* app partitions are 64 KB aligned */
#define FOTA_SECTOR_SIZE      4096u

struct fota_partition {
    uint8_t  type;
    uint8_t  subtype;
    uint32_t offset;
    uint32_t size;
    char     label[17];
    uint32_t flags;
};

/* Decode one 32-byte entry. Returns FOTA_OK for a partition entry,
 * FOTA_ERR_PTABLE for anything else; *kind tells what it was. */
#define FOTA_PT_ENTRY_PART 0
#define FOTA_PT_ENTRY_MD5  1
#define FOTA_PT_ENTRY_END  2
int fota_pt_decode(const uint8_t e[FOTA_PT_ENTRY_LEN], struct fota_partition *p, int *kind);

/* Encode one partition entry (label truncated to 16 bytes, NUL padded). */
void fota_pt_encode(const struct fota_partition *p, uint8_t e[FOTA_PT_ENTRY_LEN]);

/* What the OTA logic needs from the table. */
struct fota_layout {
    uint32_t otadata_offset;
    uint32_t otadata_size;
    uint32_t slot_offset[FOTA_MAX_OTA_SLOTS]; /* index = ota_N */
    uint32_t slot_size[FOTA_MAX_OTA_SLOTS];
    uint8_t  slot_count;                      /* ota_0 .. ota_{count-1} */
    uint32_t factory_offset;                  /* 0 when there is none */
    uint32_t factory_size;
    uint32_t nvs_offset;                      /* first nvs partition */
    uint32_t nvs_size;
    uint32_t end;                             /* highest partition end */
    uint8_t  entries;
    uint32_t pt_offset;                       /* where the table itself lies:
                                                 FOTA_PT_OFFSET_DEFAULT after
                                                 fota_layout_init; set it before
                                                 fota_layout_finish if not */
    uint32_t journal_offset;                  /* the data partition labelled
                                                 journal_label; 0 when none */
    uint32_t journal_size;
    char     journal_label[17];               /* FOTA_PT_JOURNAL_LABEL after init */
};

/* Label of the data partition a port without NVS keeps its journal in
 * (fota/fstore.h). */
#define FOTA_PT_JOURNAL_LABEL "fota"

/* Build a layout entry by entry (as read from flash, 32 bytes at a time):
 * fota_layout_init, then fota_layout_add for each entry until *done is 1,
 * then fota_layout_finish. Checks alignment, bounds against flash_size,
 * overlaps of OTA-relevant partitions (slots, otadata, nvs, the journal
 * partition, the table at pt_offset), duplicate ota_N, exactly one otadata
 * of two sectors, and OTA slots numbered without gaps. FOTA_ERR_PTABLE on
 * any violation. */
void fota_layout_init(struct fota_layout *l);
int fota_layout_add(struct fota_layout *l, const uint8_t e[FOTA_PT_ENTRY_LEN], int *done);
int fota_layout_finish(struct fota_layout *l, uint32_t flash_size);

/* otadata */
#define FOTA_OTA_ENTRY_LEN 32u
#define FOTA_OTA_SEQ_BLANK 0xFFFFFFFFu

#define FOTA_OTA_NEW            0x0u
#define FOTA_OTA_PENDING_VERIFY 0x1u
#define FOTA_OTA_VALID          0x2u
#define FOTA_OTA_INVALID        0x3u
#define FOTA_OTA_ABORTED        0x4u
#define FOTA_OTA_UNDEFINED      0xFFFFFFFFu

struct fota_ota_entry {
    uint32_t seq;
    uint8_t  label[20];
    uint32_t state;
    uint32_t crc;
};

/* zlib-compatible CRC-32 (reflected, poly 0xEDB88320), continuing from crc
 * as zlib.crc32(data, crc) does. */
uint32_t fota_crc32(uint32_t crc, const uint8_t *data, uint32_t len);

/* CRC that otadata stores for seq. fota_ota_seq_crc(1) == 0x4743989A. */
uint32_t fota_ota_seq_crc(uint32_t seq);

void fota_ota_decode(const uint8_t b[FOTA_OTA_ENTRY_LEN], struct fota_ota_entry *e);

/* Encode e (its crc field is recomputed from seq). */
void fota_ota_encode(const struct fota_ota_entry *e, uint8_t b[FOTA_OTA_ENTRY_LEN]);

/* 1 when seq is not blank and crc matches (bootloader_common_ota_select_valid). */
int fota_ota_valid(const struct fota_ota_entry *e);

/* 1 when valid and not INVALID or ABORTED: an entry the bootloader may pick. */
int fota_ota_bootable(const struct fota_ota_entry *e);

/* Index (0 or 1) of the entry in force: the bootable one with the highest
 * seq (sector 0 wins a tie, as in ESP-IDF), or FOTA_ERR_OTADATA when neither
 * is bootable (the bootloader then boots ota_0). */
int fota_ota_active(const struct fota_ota_entry e[2]);

/* Name of an ota_state ("pending_verify"), "unknown" for other values. */
const char *fota_ota_state_name(uint32_t state);

/* Slot that seq selects: (seq - 1) mod slot_count. */
unsigned fota_ota_slot(uint32_t seq, unsigned slot_count);

/*
 * The entry esp_ota_set_boot_partition() would write to boot slot, given the
 * two current entries: its seq (ESP-IDF's formula, never lower than the
 * active seq), state NEW (rollback enabled), blank label; and the sector
 * (0 or 1) to write it to: the one that is not active, so a cut while it is
 * written leaves the active entry in force.
 * Returns FOTA_OK, FOTA_ERR_PARAM (slot out of range), or FOTA_ERR_OTADATA
 * when a valid entry's seq leaves no larger seq for slot below 0xFFFFFFFF.
 */
int fota_ota_next(const struct fota_ota_entry cur[2], unsigned slot, unsigned slot_count,
                  struct fota_ota_entry *out, unsigned *sector);

#ifdef __cplusplus
}
#endif
#endif
