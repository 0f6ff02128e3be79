#!/bin/sh
# server_security_tls_cli: HTTPS served by fota-server itself, and the
# operator's signing workflow through fota-admin.
#  - a throwaway CA and a server certificate for 127.0.0.1 (SAN IP) made with
#    openssl in the temp folder; fota-server --tls-cert/--tls-key;
#  - curl --cacert ca.pem works (the dashboard too, with HSTS); with another
#    CA it fails with no response
#    body; plain HTTP to the TLS port gets no API answer;
#  - fota-admin --ca-file: works with the right CA, exit 3 with another;
#  - fota-admin key generate (0600, refuses to overwrite, prints 128 hex),
#    key show, release add --sign (signed: yes), a server with
#    --sign-pubkey-file refusing a release signed by another key,
#    deploy --allow-downgrade.
# usage: test_security_tls_cli.sh FOTA_SERVER FOTA_ADMIN FIRMWARE_DIR
set -u
SERVER=$1 ADMIN=$2 FW=$3
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-sec-test-XXXXXX")
PID=
. "$(dirname "$0")/../lib/clitest.sh"
command -v openssl >/dev/null || fail "openssl CLI missing"
command -v curl >/dev/null || fail "curl CLI missing"
cd "$DIR" || fail "cd"

# --- operator keys (offline) ----------------------------------------------------
expect 0 "$ADMIN" key generate --out "$DIR/op"
HEX=$(cat "$DIR/out")
echo "$HEX" | grep -Eq '^[0-9a-f]{128}$' || fail "key generate must print 128 hex digits, got: $HEX"
[ "$(stat -c %a "$DIR/op.key")" = 600 ] || fail "private key mode is not 0600"
grep -q "BEGIN EC PRIVATE KEY" "$DIR/op.key" || fail "op.key is not a PEM EC key"
grep -q "BEGIN PUBLIC KEY" "$DIR/op.pub" || fail "op.pub is not a PEM public key"
openssl pkey -pubin -in "$DIR/op.pub" -noout -text 2>/dev/null | grep -q "prime256v1\|P-256" \
    || fail "op.pub is not a P-256 key for openssl"
cp "$DIR/op.key" "$DIR/op.key.orig"
expect 4 "$ADMIN" key generate --out "$DIR/op"
cmp -s "$DIR/op.key" "$DIR/op.key.orig" || fail "key generate overwrote a key"
expect 0 "$ADMIN" key show "$DIR/op.pub"
[ "$(cat "$DIR/out")" = "$HEX" ] || fail "key show NAME.pub differs"
expect 0 "$ADMIN" key show "$DIR/op.key"
[ "$(cat "$DIR/out")" = "$HEX" ] || fail "key show NAME.key differs"
expect 0 "$ADMIN" key generate --out "$DIR/rogue"
expect 1 "$ADMIN" key generate

# --- throwaway CA and server certificate ----------------------------------------
. "$(dirname "$0")/../lib/testca.sh"
testca "$DIR" test-ca other-ca || fail "openssl: test CA and server certificate"

# --- start the TLS server (verifying release signatures) ------------------------------
expect 2 "$SERVER" --db "$DIR/db" --data "$DIR/data" --master-key-file "$DIR/mk" \
    --tls-cert "$DIR/server.pem"
expect 2 "$SERVER" --db "$DIR/db" --data "$DIR/data" --master-key-file "$DIR/mk" --rate-device 5/h
FOTA_ADMIN_TOKEN=sec-secret "$SERVER" --db "$DIR/db.sqlite" --data "$DIR/data" \
    --master-key-file "$DIR/master.key" --port 0 --port-file "$DIR/port" \
    --tls-cert "$DIR/server.pem" --tls-key "$DIR/server.key" \
    --sign-pubkey-file "$DIR/op.pub" 2>"$DIR/server.log" &
PID=$!
i=0
while [ ! -s "$DIR/port" ]; do
    i=$((i + 1)); [ $i -gt 500 ] && fail "server did not start"; sleep 0.02
done
PORT=$(cat "$DIR/port")
URL="https://127.0.0.1:$PORT"

# curl with the right CA: the admin API answers
code=$(curl -sS --cacert "$DIR/test-ca.pem" -o "$DIR/body" -w '%{http_code}' \
    -H "Authorization: Bearer sec-secret" "$URL/api/admin/releases") || fail "curl --cacert ca.pem failed"
[ "$code" = 200 ] && grep -q '"releases"' "$DIR/body" || fail "HTTPS answer: $code $(cat "$DIR/body")"
echo "ok: HTTPS with the test CA: 200"
# the dashboard over the same TLS port, with HSTS (browsers keep to HTTPS)
code=$(curl -sS --cacert "$DIR/test-ca.pem" -D "$DIR/dash.h" -o "$DIR/dash" -w '%{http_code}' \
    "$URL/dashboard") || fail "curl $URL/dashboard failed"
[ "$code" = 200 ] && grep -q 'src="/dashboard/app.js"' "$DIR/dash" || fail "dashboard over HTTPS: $code"
grep -qi '^Strict-Transport-Security: max-age=31536000' "$DIR/dash.h" || \
    fail "no Strict-Transport-Security on the dashboard over HTTPS: $(cat "$DIR/dash.h")"
echo "ok: the dashboard over HTTPS, with Strict-Transport-Security"
# with another CA: the handshake fails, nothing comes back
rm -f "$DIR/body2"
if curl -sS --cacert "$DIR/other-ca.pem" -o "$DIR/body2" -H "Authorization: Bearer sec-secret" \
        "$URL/api/admin/releases" 2>"$DIR/curl.err"; then
    fail "curl trusted a server certificate of another CA"
fi
[ ! -s "$DIR/body2" ] || fail "a response body came through an untrusted connection"
echo "ok: HTTPS with another CA fails with no body ($(head -1 "$DIR/curl.err"))"
# plain HTTP to the TLS port: no API answer
if curl -sS -m 5 -o "$DIR/body3" "http://127.0.0.1:$PORT/api/admin/releases" 2>/dev/null; then
    grep -q releases "$DIR/body3" 2>/dev/null && fail "plain HTTP served the API on the TLS port"
fi
echo "ok: plain HTTP gets no API answer on the TLS port"

export FOTA_SERVER="$URL" FOTA_ADMIN_TOKEN=sec-secret
expect 0 "$ADMIN" --ca-file "$DIR/test-ca.pem" release list
expect 3 "$ADMIN" --ca-file "$DIR/other-ca.pem" release list
FOTA_CA_FILE="$DIR/test-ca.pem" expect 0 "$ADMIN" device list

# --- signed releases through fota-admin ------------------------------------------------
export FOTA_CA_FILE="$DIR/test-ca.pem"
expect 0 "$ADMIN" release add "$FW/esp32-arduino-a.bin" --version 1.0.0 --sign "$DIR/op.key"
grep -q "signed:     yes" "$DIR/out" || fail "release add --sign: not shown as signed"
grep -q "chunks:     883 x 1024" "$DIR/out" || fail "default chunk size 1024"
expect 0 "$ADMIN" release add "$FW/esp32s3-arduino.bin" --version 2.0.0 --chunk-size 512 --sign "$DIR/op.key"
grep -q "x 512 bytes" "$DIR/out" || fail "--chunk-size with --sign"
# a chunk size no device accepts is not signed (the core's rule)
expect 1 "$ADMIN" release add "$FW/esp32s3-arduino.bin" --version 2.0.1 --chunk-size 2048 --sign "$DIR/op.key"
expect 2 "$ADMIN" release add "$FW/esp32-arduino-b.bin" --version 1.0.1 --sign "$DIR/rogue.key"
grep -q "bad_signature" "$DIR/err" || fail "rogue key: no bad_signature"
expect 4 "$ADMIN" release add "$FW/esp32-arduino-b.bin" --version 1.0.1 --sign "$DIR/op.pub"
expect 4 "$ADMIN" release add "$FW/not-an-app-bootloader.bin" --version 1 --sign "$DIR/op.key"
expect 0 "$ADMIN" release add "$FW/esp32-arduino-b.bin" --version 0.9.0
grep -q "signed:     no" "$DIR/out" || fail "unsigned release shown as signed"
expect 0 "$ADMIN" release list
grep -Eq '^1 .* yes ' "$DIR/out" && grep -Eq '^3 .* no ' "$DIR/out" || fail "release list SIGNED column"
expect 0 "$ADMIN" release show 1
grep -q "signed:     yes" "$DIR/out" || fail "release show signed"

expect 0 "$ADMIN" device add dongle-1 --chip esp32
expect 0 "$ADMIN" deploy 1 --device dongle-1 --allow-downgrade
grep -q "downgrade allowed" "$DIR/out" || fail "deploy --allow-downgrade output"
expect 0 "$ADMIN" --json deployment list
grep -q '"allow_downgrade":true' "$DIR/out" || fail "deployment list allow_downgrade"

kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ $rc = 0 ] || fail "server exit status $rc on SIGTERM"
grep -q "with TLS" "$DIR/server.log" || fail "start-up line does not say TLS"
! grep -q "sec-secret" "$DIR/server.log" || fail "the admin token appears in the log"
! grep -q "PRIVATE" "$DIR/server.log" || fail "key material in the log"
cd / && rm -rf "$DIR"
echo "server_security_tls_cli: all checks passed"
