#!/usr/bin/env bash
# e2e_downgrade_proxy: anti-rollback that holds against an on-path attacker
# (issue 11, item 3). A device holding the release signing key runs 2.0.0;
# release 1.0.0 (a.bin) is genuinely signed and deployed, so the honest
# server does not offer it to the device. Between them, check_proxy.py (a
# real HTTP proxy on loopback) reports the device's version as 0.0.1 to the
# server and rewrites the answer:
#   (a) "allow_downgrade": true added to the old release's genuine offer
#       (manifest and signature untouched): refused, downgrade_refused;
#   (b) "version": "9.9.9" instead of 1.0.0: refused, manifest_mismatch;
# each time ota_1 is byte-for-byte as before (erased), the device keeps
# booting 2.0.0, and the server's history holds the refusal and its reason.
# A device without the key installs both through the same proxy (the attack
# was real). Then the operator's way: 1.5.0 signed with --allow-downgrade
# (fota-admin release add --sign KEY --allow-downgrade) and deployed with
# --allow-downgrade is installed by the device with the key, directly.
# usage: e2e_downgrade_proxy.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 missing (the attacking proxy check_proxy.py)"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
ALEN=$(stat -c %s "$A")

start_server
out=$(admin key generate --out "$DIR/fleet") || fail "key generate"
PUB=$(printf '%s\n' "$out" | grep -o '[0-9a-f]\{128\}' | sed -n 1p)
[ -n "$PUB" ] || fail "key generate printed no public key: $out"
out=$(admin --json release add "$A" --version 1.0.0 --sign "$DIR/fleet.key") || fail "signed release add"
R1=$(jnum "$out" id)

python3 "$(dirname "$0")/check_proxy.py" "$DIR/proxy.port" "$PORT" "$DIR/mode" &
BGPIDS+=($!)
for _ in $(seq 500); do [ -s "$DIR/proxy.port" ] && break; sleep 0.02; done
[ -s "$DIR/proxy.port" ] || fail "check_proxy.py did not start"
PURL=http://127.0.0.1:$(cat "$DIR/proxy.port")

# attack MODE DEVICE WANT_REASON: the device holding the key refuses
attack() {
    local mode=$1 id=$2 why=$3 key f
    echo "$mode" >"$DIR/mode"
    key=$(add_device "$id")
    deploy "$R1" "$id"
    f=$DIR/$id.flash
    dev_expect 0 "$f" provision "$B"
    slot_bytes "$f" "$ALEN" "$DIR/ota1.before"
    dev_expect 2 "$f" --server "$PURL" --id "$id" --key "$key" --sign-pubkey "$PUB" \
        --running-version 2.0.0 update
    out_has "$why"
    cat "$DIR/dev.out" "$DIR/dev.err" >"$DIR/refusal.out"
    slot_bytes "$f" "$ALEN" "$DIR/ota1.after"
    cmp -s "$DIR/ota1.before" "$DIR/ota1.after" || fail "$mode: ota_1 changed on the device that refused"
    ota1_erased "$f" "$ALEN" || fail "$mode: ota_1 holds bytes of the refused release"
    dev_expect 0 "$f" boot
    out_has "boot: slot=ota_0 "
    out_has "sha256=$(sha256_of "$B")"
    J=$(device_json "$id")
    [ "$(jstr "$J" state)" = failed ] || fail "$mode: server state '$(jstr "$J" state)', expected failed: $J"
    [ "$(jstr "$J" last_error)" = "$why" ] || fail "$mode: server last_error '$(jstr "$J" last_error)', expected $why"
}
# control MODE DEVICE: the same attack on a device without the key succeeds
control() {
    local mode=$1 id=$2 key f
    echo "$mode" >"$DIR/mode"
    key=$(add_device "$id")
    deploy "$R1" "$id"
    f=$DIR/$id.flash
    dev_expect 0 "$f" provision "$B"
    dev_expect 0 "$f" --server "$PURL" --id "$id" --key "$key" --running-version 2.0.0 update
    out_has "update: installed release $R1 in ota_1"
    check_ota1 "$f" "$A"
}

attack downgrade dg-key downgrade_refused
grep -q "signed manifest does not allow a downgrade" "$DIR/refusal.out" ||
    fail "the refusal does not say the signed manifest forbids the downgrade"
ok "(a) old genuine manifest + allow_downgrade from the proxy: refused (downgrade_refused), ota_1 untouched, 2.0.0 boots"
control downgrade dg-nokey
ok "(a) the same answer installs 1.0.0 on a device without the key"

attack relabel rl-key manifest_mismatch
grep -q 'offered as version "9.9.9" but its signed manifest says "1.0.0"' "$DIR/refusal.out" ||
    fail "the refusal does not name the relabelled version"
ok "(b) old genuine manifest relabelled 9.9.9: refused (manifest_mismatch), ota_1 untouched, 2.0.0 boots"
control relabel rl-nokey
ok "(b) the relabelled answer installs 1.0.0 on a device without the key"

# the operator's downgrade: signed with --allow-downgrade, deployed with it
D=$DIR/d150.bin
"$MKIMAGE_BIN" -o "$D" --size 300000 --version 1.5.0 --seed 15 >/dev/null || fail "fota-mkimage"
out=$(admin --json release add "$D" --version 1.5.0 --sign "$DIR/fleet.key" --allow-downgrade 2>"$DIR/admin.err") ||
    fail "release add --allow-downgrade: $(cat "$DIR/admin.err")"
grep -q "downgrade allowed" "$DIR/admin.err" || fail "fota-admin did not say the manifest allows a downgrade"
R15=$(jnum "$out" id)
KEY=$(add_device op)
admin deploy "$R15" --device op --allow-downgrade >/dev/null || fail "deploy --allow-downgrade"
F=$DIR/op.flash
dev_expect 0 "$F" provision "$B"
dev_expect 0 "$F" --server "$URL" --id op --key "$KEY" --sign-pubkey "$PUB" --running-version 2.0.0 update
out_has "update: installed release $R15 in ota_1"
check_ota1 "$F" "$D"
ok "1.5.0 signed with --allow-downgrade and deployed with it: installed by the device with the key"

# deploying an unflagged signed release with --allow-downgrade: the server
# says that devices with the key will refuse it, and one does
KEY=$(add_device op2)
admin deploy "$R1" --device op2 --allow-downgrade >/dev/null || fail "deploy R1 --allow-downgrade"
[ "$(log_count "release $R1's signed manifest does not: devices holding the signing key refuse it")" = 1 ] ||
    fail "the server did not warn that release $R1's manifest does not allow a downgrade"
F=$DIR/op2.flash
dev_expect 0 "$F" provision "$B"
dev_expect 2 "$F" --server "$URL" --id op2 --key "$KEY" --sign-pubkey "$PUB" --running-version 2.0.0 update
out_has downgrade_refused
ota1_erased "$F" "$ALEN" || fail "ota_1 written for a refused downgrade"
ok "an unflagged signed release deployed with --allow-downgrade: the server warns, the device refuses"

kill_server TERM
echo "e2e_downgrade_proxy: all checks passed"
