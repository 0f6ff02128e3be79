#!/usr/bin/env bash
# e2e_update_confirm: a real fota-server, fota-admin and a simulated ESP32
# (fota-device) run one whole update: register, upload, deploy, provision
# esp32-arduino-a.bin, update to esp32-arduino-b.bin over HTTP, boot on trial,
# confirm, and check the flash bytes and what the server recorded.
# usage: e2e_update_confirm.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
B=$FW/esp32-arduino-b.bin
B_SHA=109ad44ae600f1d3e7a5c456bccbed5f2d79c80a06d43d8660262f949756967a
[ "$(sha256_of "$B")" = "$B_SHA" ] || fail "esp32-arduino-b.bin is not the expected file"
F=$DIR/flash.bin

start_server
KEY=$(add_device dongle-1)
REL=$(add_release "$B" 2.0.0)
deploy "$REL" dongle-1
ok "server on $URL, release $REL deployed to dongle-1"
NET=(--server "$URL" --id dongle-1 --key "$KEY")

dev_expect 0 "$F" provision "$FW/esp32-arduino-a.bin"
dev_expect 0 "$F" "${NET[@]}" update
out_has "update: installed release $REL in ota_1"
out_has "boot: slot=ota_0 "
ok "update installed release $REL in ota_1"

# still on ota_0 until the reboot: nothing boots from ota_1 before it
J=$(device_json dongle-1)
[ "$(jstr "$J" state)" = installed ] || fail "server state after update: $(jstr "$J" state), expected installed"

dev_expect 0 "$F" "${NET[@]}" confirm
out_has "boot: slot=ota_1 state=pending_verify"
out_has "confirm: ota_1 is valid"
ok "trial boot of ota_1 confirmed"

dev_expect 0 "$F" boot
out_has "boot: slot=ota_1 state=valid "
out_has "sha256=$B_SHA"
ok "next boot: ota_1 valid, sha256 of b"

check_ota1 "$F" "$B"
ok "ota_1 bytes equal esp32-arduino-b.bin"

J=$(device_json dongle-1)
[ "$(jstr "$J" state)" = confirmed ] || fail "server state: '$(jstr "$J" state)', expected confirmed: $J"
[ "$(jstr "$J" current_version)" = 2.0.0 ] || fail "server current_version: '$(jstr "$J" current_version)', expected 2.0.0"
[ "$(jnum "$J" chunks_received)" = 930 ] || fail "server chunks_received after confirm: $(jnum "$J" chunks_received), expected 930"
STATES=$(history_states "$J")
# the device streams with protocol v2 (offered by the server): the stream
# request records "downloading"; a v1 device also posts "verifying"
for s in downloading installed confirmed; do
    has_line "$STATES" "$s" || fail "history lacks '$s' (has: $(echo $STATES)): $J"
done
if has_line "$STATES" failed || has_line "$STATES" rolled_back; then fail "history has failed/rolled_back: $J"; fi
ok "server: confirmed, version 2.0.0, history $(echo $STATES)"

# the app now reports its own version: no further update
dev_expect 0 "$F" "${NET[@]}" --running-version 2.0.0 update
out_has "update: no update"
out_has "boot: slot=ota_1 state=valid"
J=$(device_json dongle-1)
[ "$(jstr "$J" reported_version)" = 2.0.0 ] || fail "reported_version: '$(jstr "$J" reported_version)'"
ok "check with running version 2.0.0: no update"

kill_server TERM
echo "e2e_update_confirm: all checks passed"
