#!/usr/bin/env bash
# e2e_tls: an update over HTTPS served by fota-server itself (--tls-cert /
# --tls-key; a throwaway CA and server certificate made with openssl). A
# device pinning the right CA (--ca-file) installs byte-identical, and its
# `confirm` (same --ca-file) delivers "confirmed" to the server over HTTPS; a
# device given another CA's certificate refuses the server with an error
# that names the certificate (tls_certificate, exit 2, not "network error")
# and its ota_1 holds no byte of the image (all 0xFF over the image length);
# the server's log shows no device request from it.
# usage: e2e_tls.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl CLI missing"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
. "$(dirname "$0")/../lib/testca.sh"
testca "$DIR" fleet-ca other-ca || fail "openssl: test CA and server certificate"

SERVER_EXTRA=(--tls-cert "$DIR/server.pem" --tls-key "$DIR/server.key")
SERVER_SCHEME=https
export FOTA_CA_FILE=$DIR/fleet-ca.pem # fota-admin
start_server
KEY=$(add_device dongle-1)
KEY2=$(add_device dongle-2)
REL=$(add_release "$B" 2.0.0)
deploy "$REL" dongle-1 dongle-2
ok "TLS server on $URL, release $REL deployed (fota-admin over HTTPS with --ca-file)"

F=$DIR/flash.bin
dev_expect 0 "$F" provision "$A"
dev_expect 0 "$F" --server "$URL" --id dongle-1 --key "$KEY" --ca-file "$DIR/fleet-ca.pem" \
    --running-version 1.0.0 update
out_has "update: installed release $REL in ota_1"
check_ota1 "$F" "$B"
ok "device with the fleet CA: installed over HTTPS, ota_1 byte-identical"
dev_expect 0 "$F" --server "$URL" --id dongle-1 --key "$KEY" --ca-file "$DIR/fleet-ca.pem" confirm
out_has "confirm: ota_1 is valid"
J=$(device_json dongle-1)
[ "$(jstr "$J" state)" = confirmed ] ||
    { cat "$DIR/dev.err" >&2; fail "server state after confirm over HTTPS: '$(jstr "$J" state)', expected confirmed"; }
ok "confirm with --ca-file: 'confirmed' delivered over HTTPS"

F2=$DIR/flash2.bin
dev_expect 0 "$F2" provision "$A"
before=$(log_count ' dongle-2 ')
dev_expect 2 "$F2" --server "$URL" --id dongle-2 --key "$KEY2" --ca-file "$DIR/other-ca.pem" \
    --running-version 1.0.0 --max-attempts 2 --backoff-ms 50 update
grep -q "update: check failed: tls_certificate: TLS: the server's certificate does not verify against the CA" "$DIR/dev.out" ||
    { cat "$DIR/dev.out" "$DIR/dev.err" >&2; fail "expected a certificate error with another CA"; }
grep -q "^tls: .*certificate" "$DIR/dev.out" ||
    { cat "$DIR/dev.out" >&2; fail "expected libcurl's certificate detail (tls: ...)"; }
ota1_erased "$F2" "$(stat -c %s "$B")" || fail "ota_1 of the refusing device is not all 0xFF"
[ "$(log_count ' dongle-2 ')" = "$before" ] || fail "the server served dongle-2 although its CA is another"
# a CA file that does not exist: the same named error, not "network"
dev_expect 2 "$F2" --server "$URL" --id dongle-2 --key "$KEY2" --ca-file "$DIR/no-such-ca.pem" \
    --running-version 1.0.0 --max-attempts 2 --backoff-ms 50 update
out_has "update: check failed: tls_certificate:"
dev_expect 0 "$F2" boot
out_has "boot: slot=ota_0 "
ok "device with another CA: tls_certificate (exit 2, one attempt), ota_1 untouched (0xFF), still boots ota_0"

kill_server TERM
echo "e2e_tls: all checks passed"
