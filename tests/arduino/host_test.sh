#!/usr/bin/env bash
# host_test.sh - the Arduino library's class driven through two of its own
# examples, each a sketch (setup() once, loop() for a while) on one power-on
# of tests/esp-idf's host harness (ESP-IDF's esp_ota_ops.c, partition
# emulation and nvs_flash on a flash file; see tests/esp-idf/host/idf_shim.c
# for what is a stand-in), against a real fota-server on loopback, with the
# real Arduino-ESP32 images of ../shared/firmware:
#   * BasicOTA installs b and restarts; on b's first boot initArduino()
#     leaves it PENDING_VERIFY (the library's verifyRollbackLater()), and
#     SelfTestConfirm with its self-test line high confirms it once the
#     server answered: ota_1 valid, server "confirmed";
#   * the same with the line low: rollback() at once, a runs again, server
#     "rolled_back", b not installed again;
#   * setSigningKey with the PEM of `fota-admin key generate`'s NAME.pub
#     (a test sketch): a release signed by that key installs, one signed by
#     another key is refused before ota_1 is touched.
# usage: host_test.sh SERVER ADMIN ESP_IDF_DEV MKIMAGE PARTITIONS_BIN FW BASIC_OTA SELF_TEST_CONFIRM SIGNED_SKETCH
set -euo pipefail
[ $# -eq 9 ] || { echo "usage: $0 SERVER ADMIN ESP_IDF_DEV MKIMAGE PARTITIONS.bin FW BASIC SELFTEST SIGNED" >&2; exit 1; }
IDFDEV=$3 PTABLE=$5 BASIC=$7 SELFTEST=$8 SIGNED=$9
[ -r "$PTABLE" ] || { echo "FAIL: partition table $PTABLE not built" >&2; exit 1; }
set -- "$1" "$2" "$3" "$4" "$6"
. "$(dirname "$0")/../e2e/lib.sh"
TEST_NAME=arduino_host

A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
A_SHA=32dfbb63ad86ead6be055ed18778c8c417d166035c6eb03294d13d0093273bb9
B_SHA=109ad44ae600f1d3e7a5c456bccbed5f2d79c80a06d43d8660262f949756967a
[ "$(sha256_of "$B")" = "$B_SHA" ] || fail "esp32-arduino-b.bin is not the expected file"

# run WANT_RC PROGRAM ARGS...: one power-on; output in $DIR/dev.out
run() {
    local want=$1 rc=0
    shift
    "$@" >"$DIR/dev.out" 2>"$DIR/dev.err" || rc=$?
    cat "$DIR/dev.err" >>"$DIR/dev.out"
    if [ "$rc" != "$want" ]; then
        cat "$DIR/dev.out" >&2
        fail "exit $rc, expected $want: $*"
    fi
}
has() { grep -q -- "$1" "$DIR/dev.out" || { cat "$DIR/dev.out" >&2; fail "output lacks '$1'"; }; }

start_server
# b as release 3.0.0: newer than both sketches (BasicOTA 1.0.0, SelfTestConfirm 2.0.0)
REL_B=$(add_release "$B" 3.0.0)

for verdict in high low; do
    ID=ard-$verdict F=$DIR/$ID.flash
    key=$(add_device "$ID")
    run 0 "$IDFDEV" --flash "$F" provision "$PTABLE" "$A" "$ID" "$key"
    deploy "$REL_B" "$ID"

    # BasicOTA on a: not on trial; its loop() checks, downloads, restarts
    run 5 "$BASIC" --flash "$F" --server "$URL" --run-s 30
    has "arduino: state at setup(): none"
    has "update: 951744 of 951744 bytes"     # the sketch's onProgress callback
    has "^restart"
    # (no other power-on here: the next one is b's one trial boot)
    ok "$ID: BasicOTA installed b (progress reported to the sketch) and restarted"

    # b's first boot: initArduino() must leave it on trial for the sketch
    if [ "$verdict" = high ]; then
        run 0 "$SELFTEST" --flash "$F" --server "$URL" --pin 4=high --run-s 60
        has "arduino: state at setup(): pending_verify"
        has "self-test passed: confirming once the server answers"
        has "trial: self-test passed and server reached: confirmed"
        has "arduino: end: slot=ota_1 state=valid"
        run 0 "$IDFDEV" --flash "$F" boot
        has "boot: slot=ota_1 state=valid "
        has "sha256=$B_SHA"
        [ "$(jstr "$(device_json "$ID")" state)" = confirmed ] || fail "server state is not confirmed"
        ok "$ID: on b's trial boot the self-test passed and the server answered: confirmed"
    else
        run 5 "$SELFTEST" --flash "$F" --server "$URL" --pin 4=low --run-s 60
        has "arduino: state at setup(): pending_verify"
        has "self-test failed: back to the previous image"
        has "trial: self-test failed: rolling back"
        run 0 "$IDFDEV" --flash "$F" boot
        has "boot: slot=ota_0 "
        has "sha256=$A_SHA"
        [ "$(jstr "$(device_json "$ID")" state)" = rolled_back ] || fail "server state is not rolled_back"
        # a again: the sketch's next round is refused b (rolled back, not retried)
        run 0 "$SELFTEST" --flash "$F" --server "$URL" --pin 4=high --run-s 30
        has "arduino: end: slot=ota_0 "
        has "release 1 was rolled back on this device; refused"
        ok "$ID: self-test failed on b's trial: rolled back to a, reported, b not installed again"
    fi
done
# setSigningKey(PEM): the fleet's key installs its release; another key refuses it
admin key generate --out "$DIR/fleet" >/dev/null || fail "key generate fleet"
admin key generate --out "$DIR/other" >/dev/null || fail "key generate other"
# an image of its own (b is already release 3.0.0: one release per image)
"$MKIMAGE_BIN" -o "$DIR/s.bin" --size 300000 --version 4.0.0 --seed 21 >/dev/null || fail "fota-mkimage"
S_SHA=$(sha256_of "$DIR/s.bin")
OUT=$(admin --json release add "$DIR/s.bin" --version 4.0.0 --sign "$DIR/fleet.key") || fail "signed release add"
REL_S=$(jnum "$OUT" id)
for who in fleet other; do
    ID=ard-sig-$who F=$DIR/$ID.flash
    key=$(add_device "$ID")
    run 0 "$IDFDEV" --flash "$F" provision "$PTABLE" "$A" "$ID" "$key"
    deploy "$REL_S" "$ID"
    if [ "$who" = fleet ]; then
        FOTA_TEST_PEM=$DIR/fleet.pub run 5 "$SIGNED" --flash "$F" --server "$URL" --run-s 5
        has "sketch: setSigningKey(PEM of [0-9]* bytes): taken"
        has "^restart"
        run 0 "$IDFDEV" --flash "$F" boot
        has "boot: slot=ota_1 state=pending_verify "
        has "sha256=$S_SHA"
        ok "setSigningKey(fleet.pub PEM): the release signed by the fleet key installed"
    else
        FOTA_TEST_PEM=$DIR/other.pub run 0 "$SIGNED" --flash "$F" --server "$URL" --run-s 5
        has "sketch: setSigningKey(PEM of [0-9]* bytes): taken"
        has "sketch: round: release signature does not verify"
        run 0 "$IDFDEV" --flash "$F" boot
        has "boot: slot=ota_0 "
        dd if="$F" bs=65536 skip=$((0x1F0000 / 65536)) count=$((0x1E0000 / 65536)) status=none |
            cmp -s - <(head -c $((0x1E0000)) /dev/zero | tr '\0' '\377') ||
            fail "ota_1 written for a release signed by another key"
        ok "setSigningKey(other.pub PEM): the fleet-signed release refused, ota_1 still erased"
    fi
done
kill_server TERM
echo "$TEST_NAME: all checks passed"
