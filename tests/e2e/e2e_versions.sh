#!/usr/bin/env bash
# e2e_versions: the version order of include/fota/version.h end to end, on
# the real server and the simulated device (both sides decide with it).
# - a device running esp32-arduino-b.bin, whose app descriptor says
#   "9036908-dirty" (a bare commit: no order), is offered release 3.0.0 and
#   installs it (before issue 11 the leading number decided, 9036908 > 3,
#   and it was never offered);
# - a device running esp32-arduino-a.bin ("esp-idf: v4.4.4 e8bdaf9198",
#   Arduino's descriptor) is offered 3.0.1 and installs it;
# - a device running a git-describe build past 3.0.1 is not offered it.
# usage: e2e_versions.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin

start_server
K1=$(add_device dongle-1)
K2=$(add_device dongle-2)
K3=$(add_device dongle-3)
R300=$(add_release "$A" 3.0.0)
R301=$(add_release "$B" 3.0.1)
deploy "$R300" dongle-1
deploy "$R301" dongle-2 dongle-3

# dongle-1 runs b.bin: its descriptor version is "9036908-dirty"
dev_expect 0 "$DIR/f1.bin" provision "$B"
dev_expect 0 "$DIR/f1.bin" --server "$URL" --id dongle-1 --key "$K1" update
out_has "update: offered release $R300 version 3.0.0"
out_has "update: installed release $R300 in ota_1"
check_ota1 "$DIR/f1.bin" "$A"
J=$(device_json dongle-1)
[ "$(jstr "$J" reported_version)" = 9036908-dirty ] || fail "reported_version '$(jstr "$J" reported_version)', expected 9036908-dirty"
dev_expect 0 "$DIR/f1.bin" --server "$URL" --id dongle-1 --key "$K1" confirm
out_has "confirm: ota_1 is valid"
J=$(device_json dongle-1)
[ "$(jstr "$J" current_version)" = 3.0.0 ] || fail "current_version '$(jstr "$J" current_version)', expected 3.0.0"
ok "running \"9036908-dirty\": offered 3.0.0, installed and confirmed"

# dongle-2 runs a.bin: "esp-idf: v4.4.4 e8bdaf9198"
dev_expect 0 "$DIR/f2.bin" provision "$A"
dev_expect 0 "$DIR/f2.bin" --server "$URL" --id dongle-2 --key "$K2" update
out_has "update: offered release $R301 version 3.0.1"
out_has "update: installed release $R301 in ota_1"
check_ota1 "$DIR/f2.bin" "$B"
ok "running \"esp-idf: v4.4.4 e8bdaf9198\": offered 3.0.1 and installed"

# dongle-3 runs a build 5 commits past v3.0.1: 3.0.1 is older
dev_expect 0 "$DIR/f3.bin" provision "$A"
dev_expect 0 "$DIR/f3.bin" --server "$URL" --id dongle-3 --key "$K3" \
    --running-version v3.0.1-5-g1a2b3c4 update
out_has "update: no update"
grep -q "not offering release $R301 to dongle-3: version \"3.0.1\" is older than the running \"v3.0.1-5-g1a2b3c4\"" \
    "$DIR/server.log" || fail "server log does not say why 3.0.1 was not offered"
ok "running \"v3.0.1-5-g1a2b3c4\": 3.0.1 not offered (older)"

kill_server TERM
echo "e2e_versions: all checks passed"
