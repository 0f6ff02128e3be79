#!/usr/bin/env bash
# test_device_cli.sh - fota-device's port-contract options end to end (no
# server: the in-process v1 source): a table without a journal partition is
# refused at provision, --journal-part names another data partition (never
# nvs), --pt-offset moves the partition table, --flash-encryption updates an
# encrypted device, and `rollback` boots the previous image.
# usage: test_device_cli.sh BINDIR(fota-device, fota-mkimage) TMPROOT
set -u
BIN=$1
DIR=$(mktemp -d "${2:-/tmp}/devcli.XXXXXX")
PID=
trap 'rm -rf "$DIR"' EXIT
. "$(dirname "$0")/../lib/clitest.sh"
dev() { "$BIN/fota-device" --flash "$DIR/f.bin" --quiet "$@"; }
has() { grep -q -- "$1" "$DIR/out" || { cat "$DIR/out" "$DIR/err" >&2; fail "expected '$1'"; }; }
KEY=$(printf '5a%.0s' $(seq 32))
UPD=(--id cli-dev --key "$KEY" --source-image "$DIR/b.bin")

expect 0 "$BIN/fota-mkimage" -o "$DIR/a.bin" --size 64K --version 1.0.0 --seed 1
expect 0 "$BIN/fota-mkimage" -o "$DIR/b.bin" --size 64K --version 2.0.0 --seed 2

# the Arduino table as it was, without a journal partition of its own
cat > "$DIR/old.csv" <<'CSV'
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x140000,
app1,     app,  ota_1,   0x150000,0x140000,
spiffs,   data, spiffs,  0x290000,0x160000,
coredump, data, coredump,0x3F0000,0x10000,
CSV
expect 2 dev --partitions "$DIR/old.csv" provision "$DIR/a.bin"
grep -q "'fota'" "$DIR/err" || fail "the refusal names the journal partition"
expect 2 dev --partitions "$DIR/old.csv" --journal-part nvs provision "$DIR/a.bin"
# told otherwise: the journal in spiffs, on every run
expect 0 dev --partitions "$DIR/old.csv" --journal-part spiffs provision "$DIR/a.bin"
expect 0 dev --journal-part spiffs "${UPD[@]}" update
has "installed release 1 in ota_1"
expect 0 dev --journal-part spiffs status
has "journal: phase=2 target=ota_1"

# the table at 0xA000 (CONFIG_PARTITION_TABLE_OFFSET)
cat > "$DIR/at_a000.csv" <<'CSV'
nvs,      data, nvs,      0xB000,  0x3000,
otadata,  data, ota,      0xE000,  0x2000,
app0,     app,  ota_0,    0x10000, 0x140000,
app1,     app,  ota_1,    0x150000,0x140000,
fota,     data, undefined,0x290000,0x2000,
CSV
expect 0 dev --pt-offset 0xA000 --partitions "$DIR/at_a000.csv" provision "$DIR/a.bin"
expect 2 dev boot    # the default offset finds no table
expect 0 dev --pt-offset 0xA000 "${UPD[@]}" update
expect 0 dev --pt-offset 0xA000 confirm
has "confirm: ota_1 is valid"
expect 0 dev --pt-offset 0xA000 boot
has "slot=ota_1 state=valid version=2.0.0"

# flash encryption: update, trial boot, confirm
expect 0 dev --flash-encryption provision "$DIR/a.bin"
# ciphertext on the chip: ota_0 (0x10000) does not hold a.bin's bytes
dd if="$DIR/f.bin" of="$DIR/raw" bs=4096 skip=16 count=1 2>/dev/null
head -c 4096 "$DIR/a.bin" > "$DIR/plain"
cmp -s "$DIR/raw" "$DIR/plain" && fail "ota_0 holds plaintext with --flash-encryption"
expect 0 dev --flash-encryption "${UPD[@]}" update
expect 0 dev --flash-encryption confirm
has "confirm: ota_1 is valid"
expect 0 dev --flash-encryption status
has "slot: ota_1 .* image=valid version=2.0.0"

# rollback: the trial image is given up, the next boot runs the previous one
expect 0 dev provision "$DIR/a.bin"
expect 0 dev "${UPD[@]}" update
expect 0 dev rollback
has "rollback: ota_1 is invalid"
expect 0 dev boot
has "slot=ota_0 .*version=1.0.0 aborted=0"
expect 2 dev rollback      # nothing on trial any more
echo "PASS: fota-device journal partition, table offset, encryption, rollback"
