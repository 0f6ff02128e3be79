#!/usr/bin/env bash
# e2e_signed: signed releases end to end, and a compromised server.
#  1. fota-admin key generate; release b signed (release add --sign) and
#     deployed; a device provisioned with --sign-pubkey installs it.
#  2. an unsigned release deployed to a device holding the key: refused
#     (exit 2, unsigned_release), the server's history shows "failed" with
#     that reason, ota_1 is not written.
#  3. compromised server: the attacker has write access to the server's
#     SQLite file and data folder. With the server stopped, the signed
#     release's row is rewritten to the sha256/size of another valid image
#     whose bytes are put at data/images/<its sha256>; restarted. A device
#     with the public key refuses it (the signed manifest does not describe
#     what is offered), its flash ota_1 is unchanged (still erased: no byte of
#     the attacker's image), and it keeps booting its current image. A
#     device without the key (v1 behaviour) installs the attacker's image,
#     which proves the swap was real.
# usage: e2e_signed.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
SLOT=$((0x140000))

start_server
out=$(admin key generate --out "$DIR/fleet") || fail "key generate"
PUB=$(printf '%s\n' "$out" | grep -o '[0-9a-f]\{128\}' | sed -n 1p)
[ -n "$PUB" ] || fail "key generate printed no public key: $out"
out=$(admin --json release add "$B" --version 2.0.0 --sign "$DIR/fleet.key") || fail "signed release add"
REL=$(jnum "$out" id)
printf '%s' "$out" | grep -q '"signed":true' || fail "release is not signed: $out"
KEY1=$(add_device dongle-1)
deploy "$REL" dongle-1
F1=$DIR/flash1.bin
dev_expect 0 "$F1" provision "$A"
dev_expect 0 "$F1" --server "$URL" --id dongle-1 --key "$KEY1" --sign-pubkey "$PUB" \
    --running-version 1.0.0 update
out_has "update: installed release $REL in ota_1"
check_ota1 "$F1" "$B"
ok "signed release $REL installed by a device holding the public key"

# --- 2. unsigned release, device requires a signature --------------------------------
U=$DIR/unsigned.bin
"$MKIMAGE_BIN" -o "$U" --size 300000 --version 2.1.0 --seed 5 >/dev/null || fail "fota-mkimage"
RU=$(add_release "$U" 2.1.0)
KEY2=$(add_device dongle-2)
deploy "$RU" dongle-2
F2=$DIR/flash2.bin
dev_expect 0 "$F2" provision "$A"
dev_expect 2 "$F2" --server "$URL" --id dongle-2 --key "$KEY2" --sign-pubkey "$PUB" \
    --running-version 1.0.0 update
out_has "unsigned_release"
ota1_erased "$F2" "$SLOT" || fail "ota_1 written for an unsigned release"
J=$(device_json dongle-2)
[ "$(jstr "$J" state)" = failed ] || fail "server state '$(jstr "$J" state)', expected failed: $J"
[ "$(jstr "$J" last_error)" = unsigned_release ] || fail "server last_error '$(jstr "$J" last_error)': $J"
printf '%s' "$J" | grep -q '"state":"failed","chunks_received":0,"error":"unsigned_release"' ||
    grep -q unsigned_release <<<"$(printf '%s' "$J" | sed 's/.*"history"//')" ||
    fail "history lacks failed/unsigned_release: $J"
ok "unsigned release refused (exit 2, unsigned_release); server history: failed, unsigned_release"

# --- 3. compromised server: the release row and image swapped ------------------------
X=$DIR/attacker.bin
"$MKIMAGE_BIN" -o "$X" --size 400000 --version 2.0.0 --seed 66 >/dev/null || fail "fota-mkimage"
XSHA=$(sha256_of "$X") XSIZE=$(stat -c %s "$X")
KEY3=$(add_device dongle-3)
KEY4=$(add_device dongle-4)
deploy "$REL" dongle-3 dongle-4
kill_server TERM
sql="UPDATE releases SET sha256='$XSHA', size=$XSIZE WHERE id=$REL;"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$DIR/db.sqlite" "$sql" || fail "sqlite3 update"
else
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' \
        "$DIR/db.sqlite" "$sql" || fail "python3 sqlite3 update"
fi
cp "$X" "$DIR/data/images/$XSHA"
start_server
ok "attacker rewrote release $REL to sha256 $XSHA ($XSIZE bytes) and planted the bytes"

F3=$DIR/flash3.bin
dev_expect 0 "$F3" provision "$A"
slot_bytes "$F3" "$SLOT" "$DIR/ota1.before"
dev_expect 2 "$F3" --server "$URL" --id dongle-3 --key "$KEY3" --sign-pubkey "$PUB" \
    --running-version 1.0.0 update
grep -qE "manifest_mismatch|bad_signature" "$DIR/dev.out" ||
    { cat "$DIR/dev.out" "$DIR/dev.err" >&2; fail "device with the key did not refuse the swapped release"; }
WHY=$(grep -oE 'manifest_mismatch|bad_signature' "$DIR/dev.out" | sed -n 1p)
slot_bytes "$F3" "$SLOT" "$DIR/ota1.after"
cmp -s "$DIR/ota1.before" "$DIR/ota1.after" || fail "ota_1 changed on the device that refused"
ota1_erased "$F3" "$XSIZE" || fail "ota_1 holds bytes after a refused release"
dev_expect 0 "$F3" boot
out_has "boot: slot=ota_0 "
out_has "sha256=$(sha256_of "$A")"
ok "device with the key: refused ($WHY), ota_1 unchanged (erased), boots ota_0 (a.bin)"

F4=$DIR/flash4.bin
dev_expect 0 "$F4" provision "$A"
dev_expect 0 "$F4" --server "$URL" --id dongle-4 --key "$KEY4" --running-version 1.0.0 update
out_has "update: installed release $REL in ota_1"
check_ota1 "$F4" "$X"
ok "device without the key: installed the attacker's image (the swap was real)"

kill_server TERM
echo "e2e_signed: all checks passed"
