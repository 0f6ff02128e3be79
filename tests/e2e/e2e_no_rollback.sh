#!/usr/bin/env bash
# e2e_no_rollback: a device whose bootloader was built without
# CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (fota-device --no-rollback-bootloader,
# issue 11 item 6). After an update the new image boots with its otadata
# entry still NEW (no trial): the device notices at that boot, logs that
# trial boots are off, and reports it to the server once ("installed" with
# error no_rollback_bootloader, in the device's history), not at the next
# boots nor at the confirm. The same update on a device with the rollback
# bootloader reports nothing of the kind.
# usage: e2e_no_rollback.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
NR=--no-rollback-bootloader

start_server
R=$(add_release "$B" 2.0.0)
KEY=$(add_device norb)
deploy "$R" norb
F=$DIR/norb.flash
NET=(--server "$URL" --id norb --key "$KEY")
dev_expect 0 "$F" $NR provision "$A"
dev_expect 0 "$F" $NR "${NET[@]}" --running-version 1.0.0 update
out_has "update: installed release $R in ota_1"
count() { device_json norb | grep -o '"error":"no_rollback_bootloader"' | wc -l; }
[ "$(count)" = 0 ] || fail "reported before the new image booted"

dev_expect 0 "$F" $NR "${NET[@]}" boot
out_has "boot: slot=ota_1 state=new"
cat "$DIR/dev.out" "$DIR/dev.err" | grep -q "without a trial" || fail "the device did not log that trial boots are off"
J=$(device_json norb)
[ "$(count)" = 1 ] || fail "expected one no_rollback_bootloader report, got $(count): $J"
printf '%s' "$J" | grep -q '"state":"installed","chunks_received":[0-9]*,"error":"no_rollback_bootloader"' ||
    fail "history lacks installed/no_rollback_bootloader: $J"
ok "first boot of the new image without a trial: noticed, logged, reported (installed, no_rollback_bootloader)"

dev_expect 0 "$F" $NR "${NET[@]}" boot
out_has "boot: slot=ota_1 state=new"
dev_expect 0 "$F" $NR "${NET[@]}" confirm
out_has "confirm: ota_1 is valid"
dev_expect 0 "$F" $NR "${NET[@]}" boot
out_has "boot: slot=ota_1 state=valid"
[ "$(count)" = 1 ] || fail "reported again: $(count) reports"
J=$(device_json norb)
[ "$(jstr "$J" state)" = confirmed ] || fail "server state '$(jstr "$J" state)', expected confirmed"
ok "later boots and the confirm: not reported again (one report in the history); confirmed"

# control: the rollback bootloader, the same update
KEY2=$(add_device rb)
deploy "$R" rb
F2=$DIR/rb.flash
dev_expect 0 "$F2" provision "$A"
dev_expect 0 "$F2" --server "$URL" --id rb --key "$KEY2" --running-version 1.0.0 update
dev_expect 0 "$F2" --server "$URL" --id rb --key "$KEY2" confirm
out_has "boot: slot=ota_1 state=pending_verify"
device_json rb | grep -q no_rollback_bootloader && fail "the rollback bootloader's device reported no_rollback_bootloader"
ok "with the rollback bootloader: a trial boot, no such report"

kill_server TERM
echo "e2e_no_rollback: all checks passed"
