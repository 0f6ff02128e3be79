#!/usr/bin/env bash
# e2e_rollout: staged rollouts with real simulated ESP32s (fota-device) that
# really download, install, boot on trial, confirm or roll back, driven
# through fota-admin.
#  1. a good release (b.bin as 2.0.0) to 4 devices in stages "1,all": only
#     the canary installs; its "installed" opens nothing; its confirmed boot
#     opens stage 2; the others update and confirm; completed.
#  2. a bad release (a.bin as 3.0.0; its devices never confirm: the trial
#     boot dies and the bootloader rolls back) in stages "2,all" with
#     min_devices 2: the first rollback halts nothing, the second halts the
#     rollout; the two devices outside stage 1 are never offered 3.0.0; the
#     canaries run b.bin again; every device boots a verified image.
# usage: e2e_rollout.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
A_SHA=$(sha256_of "$A") B_SHA=$(sha256_of "$B")

SERVER_EXTRA=(--rollout-tick 1)
start_server
declare -A KEY
DEVS=(d1 d2 d3 d4)
for d in "${DEVS[@]}"; do
    KEY[$d]=$(add_device "$d")
    dev_expect 0 "$DIR/$d.bin" provision "$A"
done
GOOD=$(add_release "$B" 2.0.0)
ok "4 devices on a.bin, release $GOOD (b.bin, 2.0.0)"
net() { echo --server "$URL" --id "$1" --key "${KEY[$1]}" --quiet; }

# stage_field ROLLOUT_JSON STAGE FIELD
stage_field() {
    printf '%s' "$1" | sed 's/.*"stages":\[//' | grep -o '{[^}]*}' | sed -n "${2}p" |
        grep -o "\"$3\":[0-9]*" | cut -d: -f2
}
rollout_json() { admin --json rollout show "$1" || fail "fota-admin rollout show $1"; }
rstate() { jstr "$(rollout_json "$1")" state; }

OUT=$(admin --json rollout create "$GOOD" --chip esp32 --stages 1,all --min-devices 1 \
    --max-failure-pct 0 --deadline 600) || fail "rollout create: $OUT"
R1=$(jnum "$OUT" id)
[ -n "$R1" ] || fail "rollout create printed no id: $OUT"

# every device checks: exactly one (the stage-1 canary) installs
CANARY=
for d in "${DEVS[@]}"; do
    dev_expect 0 "$DIR/$d.bin" $(net "$d") --running-version 1.0.0 update
    if grep -q "update: installed release $GOOD" "$DIR/dev.out"; then
        [ -z "$CANARY" ] || fail "two devices installed in stage 1: $CANARY and $d"
        CANARY=$d
    else
        out_has "update: no update"
    fi
done
[ -n "$CANARY" ] || fail "no device installed the release in stage 1"
J=$(rollout_json "$R1")
[ "$(stage_field "$J" 1 installed)" = 1 ] || fail "stage 1 installed != 1: $J"
[ "$(stage_field "$J" 1 confirmed)" = 0 ] || fail "installed counted as confirmed: $J"
[ "$(jnum "$J" current_stage)" = 1 ] || fail "stage 2 opened before a confirmed boot: $J"
ok "stage 1: only $CANARY installed; not counted before its confirmed boot"

dev_expect 0 "$DIR/$CANARY.bin" $(net "$CANARY") confirm
out_has "confirm: ota_1 is valid"
J=$(rollout_json "$R1")
[ "$(stage_field "$J" 1 confirmed)" = 1 ] || fail "stage 1 confirmed != 1 after the confirm: $J"
[ "$(jnum "$J" current_stage)" = 2 ] || fail "stage 2 not open after the confirmed boot: $J"
ok "confirmed boot of $CANARY opened stage 2"

for d in "${DEVS[@]}"; do
    [ "$d" = "$CANARY" ] && continue
    dev_expect 0 "$DIR/$d.bin" $(net "$d") --running-version 1.0.0 update
    out_has "update: installed release $GOOD"
    dev_expect 0 "$DIR/$d.bin" $(net "$d") confirm
    out_has "confirm: ota_1 is valid"
done
J=$(rollout_json "$R1")
[ "$(jstr "$J" state)" = completed ] || fail "rollout 1 not completed: $J"
[ "$(stage_field "$J" 2 confirmed)" = 3 ] || fail "stage 2 confirmed != 3: $J"
TEXT=$(admin rollout show "$R1") || fail "rollout show (text)"
grep -q "state:   completed, stage 2 of 2" <<<"$TEXT" || fail "text view: $TEXT"
grep -q "running -> completed (stage 2): stage 2 passed: 3 confirmed" <<<"$TEXT" || fail "text view events: $TEXT"
for d in "${DEVS[@]}"; do
    dev_expect 0 "$DIR/$d.bin" boot
    out_has "boot: slot=ota_1 state=valid"
    out_has "sha256=$B_SHA"
done
ok "rollout $R1 completed: 4 devices confirmed on b.bin"

# --- a bad release ------------------------------------------------------------
BAD=$(add_release "$A" 3.0.0)
OUT=$(admin --json rollout create "$BAD" --all --stages 2,all --min-devices 2 \
    --max-failure-pct 40 --deadline 600) || fail "rollout create (bad): $OUT"
R2=$(jnum "$OUT" id)
STAGE1=()
for d in "${DEVS[@]}"; do
    dev_expect 0 "$DIR/$d.bin" $(net "$d") --running-version 2.0.0 update
    if grep -q "update: installed release $BAD" "$DIR/dev.out"; then STAGE1+=("$d"); else out_has "update: no update"; fi
done
[ "${#STAGE1[@]}" = 2 ] || fail "stage 1 of the bad release installed on ${#STAGE1[@]} devices, expected 2"
# each canary's trial boot dies before it confirms; the next boot (with the
# network) finds it pending, rolls back to b.bin and reports rolled_back
n=0
for d in "${STAGE1[@]}"; do
    dev_expect 0 "$DIR/$d.bin" boot
    out_has "boot: slot=ota_0 state=pending_verify"
    dev_expect 0 "$DIR/$d.bin" $(net "$d") boot
    out_has "boot: slot=ota_1 "
    out_has "sha256=$B_SHA"
    n=$((n + 1))
    S=$(rstate "$R2")
    if [ $n = 1 ]; then
        [ "$S" = running ] || fail "1 rollback (below min 2) already moved the rollout to $S"
    else
        [ "$S" = halted ] || fail "2 of 2 rolled back: rollout is $S, expected halted"
    fi
done
J=$(rollout_json "$R2")
[ "$(stage_field "$J" 1 rolled_back)" = 2 ] || fail "stage 1 rolled_back != 2: $J"
grep -q '"to":"halted"' <<<"$J" || fail "no halted event: $J"
ok "bad release $BAD halted after 2 rollbacks (its minimum)"

for d in "${DEVS[@]}"; do
    dev_expect 0 "$DIR/$d.bin" $(net "$d") --running-version 2.0.0 update
    out_has "update: no update"
done
for d in "${DEVS[@]}"; do
    [[ " ${STAGE1[*]} " == *" $d "* ]] && continue
    DJ=$(device_json "$d")
    [ "$(jnum "$DJ" offered_release)" = "$GOOD" ] || fail "$d (outside stage 1) was offered $(jnum "$DJ" offered_release): $DJ"
done
[ "$(stage_field "$J" 2 offered)" = 0 ] || fail "stage 2 of the bad release was offered: $J"
for d in "${DEVS[@]}"; do
    dev_expect 0 "$DIR/$d.bin" boot
    out_has "sha256=$B_SHA"
done
ok "after the halt: nothing offered; every device boots b.bin"
LIST=$(admin rollout list) || fail "rollout list"
grep -Eq "^$R2 +$BAD +3.0.0 +all +halted" <<<"$LIST" || fail "rollout list: $LIST"
admin --json rollout list | grep -q '"rollouts":\[' || fail "rollout list --json"

kill_server TERM
echo "e2e_rollout: all checks passed"
