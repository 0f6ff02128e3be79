#!/usr/bin/env bash
# e2e_secure_boot: a secure boot v2 signed image (fota-mkimage
# --secure-boot-v2: the app, padding to 4 KB and a signature sector with
# valid structure and CRC, random signature bytes) goes through the real
# server and a simulated ESP32: uploaded as a release covering the whole
# file, installed, booted on trial by the simulated bootloader (which walks
# into the sector), confirmed, and byte-identical in ota_1. A copy whose
# sector has a bad CRC is refused at upload with a message naming it.
# Before issue 11 the upload was refused: bytes past the appended hash.
# usage: e2e_secure_boot.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
S=$DIR/signed.bin
F=$DIR/flash.bin

"$MKIMAGE_BIN" -o "$S" --size 300000 --version 5.0.0 --project sbv2-app --secure-boot-v2 \
    --sig-blocks 2 >"$DIR/mk.out" || fail "fota-mkimage --secure-boot-v2"
grep -q "secure boot v2 signature sector of 2 block(s) at 303104" "$DIR/mk.out" || fail "mkimage output: $(cat "$DIR/mk.out")"
[ "$(stat -c %s "$S")" = 307200 ] || fail "signed image is $(stat -c %s "$S") bytes, expected 307200"
S_SHA=$(sha256_of "$S")

start_server
KEY=$(add_device dongle-1)
REL=$(add_release "$S" 5.0.0)
J=$(admin --json release show "$REL") || fail "release show"
[ "$(jnum "$J" size)" = 307200 ] || fail "release size $(jnum "$J" size), expected the whole file (307200)"
[ "$(jstr "$J" sha256)" = "$S_SHA" ] || fail "release sha256 is not the whole file's"
grep -q "secure boot v2 signature sector of 2 block(s) at byte 303104" "$DIR/server.log" \
    || fail "server log does not mention the signature sector"
ok "signed image uploaded: release $REL, 307200 bytes, sha256 of the whole file"

deploy "$REL" dongle-1
NET=(--server "$URL" --id dongle-1 --key "$KEY")
dev_expect 0 "$F" provision "$FW/esp32-arduino-a.bin"
dev_expect 0 "$F" "${NET[@]}" update
out_has "update: installed release $REL in ota_1"
check_ota1 "$F" "$S"
dev_expect 0 "$F" "${NET[@]}" confirm
out_has "boot: slot=ota_1 state=pending_verify"
out_has "confirm: ota_1 is valid"
dev_expect 0 "$F" boot
out_has "boot: slot=ota_1 state=valid "
out_has "sha256=$S_SHA"
ok "installed, booted on trial, confirmed; the bootloader's image is the whole signed file"

# a bad CRC in the sector: refused at upload, the message names it
B=$DIR/badcrc.bin
cp "$S" "$B"
printf '\x00' | dd of="$B" bs=1 seek=$((303104 + 600)) conv=notrunc status=none
if admin release add "$B" --version 5.0.1 >"$DIR/out" 2>"$DIR/err"; then fail "bad CRC accepted"; fi
grep -q "bad_signature_sector" "$DIR/err" || fail "refusal lacks bad_signature_sector: $(cat "$DIR/err")"
grep -q "block_crc" "$DIR/err" || fail "refusal does not name the CRC: $(cat "$DIR/err")"
ok "bad CRC refused: $(cat "$DIR/err")"

kill_server TERM
echo "e2e_secure_boot: all checks passed"
