#!/usr/bin/env bash
# e2e_loadshape: the download cap with real devices. fota-server
# --max-downloads 1; a third device holds the only download slot (one raw
# chunk request, its token made with openssl); a v2 device and a v1 device
# then get 503 busy with Retry-After and back off (the server's log shows a
# 503 for each) instead of failing; the holder posts "failed", the slot
# frees, and both devices end installed, byte-identical.
# usage: e2e_loadshape.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl CLI missing"
command -v curl >/dev/null || fail "curl CLI missing"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin

SERVER_EXTRA=(--max-downloads 1 --download-retry 1 --download-idle 600 --poll-interval 60)
start_server
KH=$(add_device holder) K1=$(add_device dev-v2) K2=$(add_device dev-v1)
REL=$(add_release "$B" 2.0.0)
deploy "$REL" holder dev-v2 dev-v1

TOKEN=$(printf 'token:holder' | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KH" | sed 's/.*= //')
H=(-H "X-Device-Id: holder" -H "X-Device-Token: $TOKEN")
OUT=$(curl -s "${H[@]}" "$URL/api/inverter/fota/check?version=1.0.0")
grep -q '"update":true' <<<"$OUT" || fail "holder not offered: $OUT"
grep -q '"poll_interval":' <<<"$OUT" || fail "check answer without poll_interval: $OUT"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" "$URL/api/inverter/fota/chunk?chunk=0")" = 200 ] ||
    fail "holder's first chunk refused"
ok "holder downloads: the only slot is taken"

dev_expect 0 "$DIR/v2.bin" provision "$A"
dev_expect 0 "$DIR/v1.bin" provision "$A"
"$DEVICE_BIN" --flash "$DIR/v2.bin" --server "$URL" --id dev-v2 --key "$K1" --protocol v2 \
    --backoff-ms 200 --max-attempts 60 update >"$DIR/v2.out" 2>&1 &
P2=$!
"$DEVICE_BIN" --flash "$DIR/v1.bin" --server "$URL" --id dev-v1 --key "$K2" --protocol v1 \
    --backoff-ms 200 --max-attempts 60 update >"$DIR/v1.out" 2>&1 &
P1=$!
BGPIDS+=("$P2" "$P1")
# both are refused (503) while the holder downloads; wait until the log says so
i=0
until [ "$(log_count 'refused GET /api/inverter/fota/stream device=dev-v2: 503 busy')" -ge 1 ] &&
      [ "$(log_count 'refused GET /api/inverter/fota/chunk device=dev-v1: 503 busy')" -ge 1 ]; do
    i=$((i + 1))
    [ $i -le 3000 ] || fail "no 503 busy for both devices in the server's log"
    kill -0 "$P2" 2>/dev/null || kill -0 "$P1" 2>/dev/null || fail "both devices ended before a 503"
    sleep 0.02
done
ok "v2 stream and v1 chunk refused with 503 busy while the slot is taken"

ST=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H 'Content-Type: application/json' \
    -d "{\"release\":$REL,\"state\":\"failed\",\"chunks_received\":1,\"error\":\"gave_up\"}" \
    "$URL/api/inverter/fota/status")
[ "$ST" = 204 ] || fail "holder's failed status: HTTP $ST"
ok "the holder gave up: the slot is free"

rc2=0 rc1=0
wait "$P2" || rc2=$?
wait "$P1" || rc1=$?
BGPIDS=()
[ $rc2 = 0 ] || { cat "$DIR/v2.out" >&2; fail "v2 device exit $rc2"; }
[ $rc1 = 0 ] || { cat "$DIR/v1.out" >&2; fail "v1 device exit $rc1"; }
grep -q "update: installed release $REL" "$DIR/v2.out" || { cat "$DIR/v2.out" >&2; fail "v2 device not installed"; }
grep -q "update: installed release $REL" "$DIR/v1.out" || { cat "$DIR/v1.out" >&2; fail "v1 device not installed"; }
check_ota1 "$DIR/v2.bin" "$B"
check_ota1 "$DIR/v1.bin" "$B"
ok "both devices backed off, then installed b byte-identical (one after the other)"
kill_server TERM
echo "e2e_loadshape: all checks passed"
