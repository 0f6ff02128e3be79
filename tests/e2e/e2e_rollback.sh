#!/usr/bin/env bash
# e2e_rollback: an installed image that never confirms is abandoned by the
# bootloader on the next boot (ota_0 again, aborted=1), the device reports
# rolled_back to the server, and the same release is not installed again.
# usage: e2e_rollback.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
A_SHA=$(sha256_of "$A")
F=$DIR/flash.bin

start_server
KEY=$(add_device dongle-1)
REL=$(add_release "$B" 2.0.0)
deploy "$REL" dongle-1
NET=(--server "$URL" --id dongle-1 --key "$KEY")

dev_expect 0 "$F" provision "$A"
dev_expect 0 "$F" "${NET[@]}" update
out_has "update: installed release $REL in ota_1"
ok "release $REL installed in ota_1"

# first boot after the switch: the trial (no server: the app dies before it
# could confirm or report anything)
dev_expect 0 "$F" boot
out_has "boot: slot=ota_1 state=pending_verify"
ok "trial boot of ota_1 (not confirmed)"

# second boot: the bootloader finds PENDING_VERIFY, aborts it, boots ota_0;
# this power-on has the network, so the core reports rolled_back
dev_expect 0 "$F" "${NET[@]}" boot
out_has "boot: slot=ota_0 "
out_has "aborted=1"
out_has "sha256=$A_SHA"
ok "second boot: back on ota_0, aborted=1"

dev_expect 0 "$F" boot
out_has "boot: slot=ota_0 state=valid\|boot: slot=ota_0 state=undefined"
ok "third boot: still ota_0"

J=$(device_json dongle-1)
STATES=$(history_states "$J")
has_line "$STATES" rolled_back || fail "server history lacks rolled_back (has: $(echo $STATES)): $J"
[ "$(jstr "$J" state)" = rolled_back ] || fail "server state '$(jstr "$J" state)', expected rolled_back"
[ "$(jstr "$J" current_version)" != 2.0.0 ] || fail "server current_version is 2.0.0 after a rollback"
ok "server: device rolled_back (history: $(echo $STATES))"

# the server still offers the release; the device refuses to install it again
dev "$F" "${NET[@]}" update
[ "$DEV_RC" = 2 ] || { cat "$DIR/dev.out" "$DIR/dev.err" >&2; fail "update after rollback: exit $DEV_RC, expected 2 (refused)"; }
out_has "rolled_back"
out_has "boot: slot=ota_0 "
ok "same release offered again: refused (rolled_back)"

kill_server TERM
echo "e2e_rollback: all checks passed"
