#!/usr/bin/env bash
# e2e_downgrade: the server's anti-downgrade rule end to end. Release 2.0.0
# is installed and confirmed; then 1.5.0 is deployed: the device (reporting
# --running-version 2.0.0) is not offered it ("no update", the server logs
# why); deployed again with --allow-downgrade it is offered (with
# "allow_downgrade") and installs into the other slot, byte-identical.
# usage: e2e_downgrade.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
F=$DIR/flash.bin

start_server
KEY=$(add_device dongle-1)
R2=$(add_release "$B" 2.0.0)
deploy "$R2" dongle-1
NET=(--server "$URL" --id dongle-1 --key "$KEY")
dev_expect 0 "$F" provision "$A"
dev_expect 0 "$F" "${NET[@]}" --running-version 1.0.0 update
out_has "update: installed release $R2 in ota_1"
dev_expect 0 "$F" "${NET[@]}" confirm
out_has "confirm: ota_1 is valid"
J=$(device_json dongle-1)
[ "$(jstr "$J" current_version)" = 2.0.0 ] || fail "current_version '$(jstr "$J" current_version)', expected 2.0.0"
ok "2.0.0 installed and confirmed (ota_1)"

# 1.5.0: older than what runs, deployed without allow_downgrade
R15=$(add_release "$A" 1.5.0)
deploy "$R15" dongle-1
dev_expect 0 "$F" "${NET[@]}" --running-version 2.0.0 update
out_has "update: no update"
out_has "boot: slot=ota_1 state=valid"
grep -q "not offering release $R15 to dongle-1: version \"1.5.0\" is older than the running \"2.0.0\"" \
    "$DIR/server.log" || fail "server log does not say why 1.5.0 was not offered"
ok "1.5.0 deployed: not offered to a device running 2.0.0 (server logs the reason)"

# the same release, deployed with --allow-downgrade
admin deploy "$R15" --device dongle-1 --allow-downgrade >/dev/null || fail "deploy --allow-downgrade"
dev_expect 0 "$F" "${NET[@]}" --running-version 2.0.0 update
out_has "update: offered release $R15 version 1.5.0"
out_has "update: installed release $R15 in ota_0"
slot0=$DIR/ota0.extract
dd if="$F" of="$slot0" bs=65536 iflag=skip_bytes,count_bytes skip=$((0x10000)) \
    count="$(stat -c %s "$A")" status=none
cmp -s "$slot0" "$A" || fail "ota_0 does not hold 1.5.0's bytes (a.bin)"
dev_expect 0 "$F" "${NET[@]}" confirm
out_has "boot: slot=ota_0 state=pending_verify"
J=$(device_json dongle-1)
[ "$(jstr "$J" current_version)" = 1.5.0 ] || fail "current_version '$(jstr "$J" current_version)', expected 1.5.0"
ok "--allow-downgrade: 1.5.0 offered, installed in ota_0, confirmed"

kill_server TERM
echo "e2e_downgrade: all checks passed"
