#!/bin/sh
# server_admin_cli: fota-admin against a real fota-server. Checks the
# commands' output and the exit codes scripts rely on:
#   0 ok, 1 usage, 2 refused by the server, 3 server/network failure,
#   4 local error (file unreadable). Also fota-server's own option errors (2).
# usage: test_admin_cli.sh FOTA_SERVER FOTA_ADMIN FIRMWARE_DIR
set -u
SERVER=$1 ADMIN=$2 FW=$3
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-admin-test-XXXXXX")
PID=
. "$(dirname "$0")/../lib/clitest.sh"

# --- fota-server option errors: exit 2 with a message ---------------------------
expect 2 "$SERVER" --bogus
expect 2 "$SERVER" --db "$DIR/db" --data "$DIR/data" --master-key-file "$DIR/mk" --port 70000
expect 2 env -u FOTA_ADMIN_TOKEN "$SERVER" --db "$DIR/db" --data "$DIR/data" --master-key-file "$DIR/mk"
grep -q "admin token" "$DIR/err" || fail "no-token message"
head -c 16 /dev/zero > "$DIR/short.key"
FOTA_ADMIN_TOKEN=t expect 1 "$SERVER" --db "$DIR/db" --data "$DIR/data" --master-key-file "$DIR/short.key"
grep -q "expected exactly 32" "$DIR/err" || fail "short master key message"

# --- start the server -------------------------------------------------------------
FOTA_ADMIN_TOKEN=cli-secret "$SERVER" --db "$DIR/db.sqlite" --data "$DIR/data" \
    --master-key-file "$DIR/master.key" --port 0 --port-file "$DIR/port" 2>"$DIR/server.log" &
PID=$!
i=0
while [ ! -s "$DIR/port" ]; do
    i=$((i + 1)); [ $i -gt 500 ] && fail "server did not start"; sleep 0.02
done
[ "$(stat -c %a "$DIR/master.key")" = 600 ] || fail "master key file mode is not 0600"
export FOTA_SERVER="http://127.0.0.1:$(cat "$DIR/port")"
export FOTA_ADMIN_TOKEN=cli-secret

# --- commands -----------------------------------------------------------------------
expect 0 "$ADMIN" release add "$FW/esp32-arduino-a.bin" --version 1.2.3 --progress
grep -q "version:    1.2.3" "$DIR/out" || fail "release add output"
grep -q "100%" "$DIR/err" || fail "no progress bar with --progress"
expect 0 "$ADMIN" --json release add "$FW/esp32s3-arduino.bin" --version s3
grep -q '"chip":"esp32s3"' "$DIR/out" || fail "--json release add"
expect 0 "$ADMIN" release list
grep -q "1.2.3" "$DIR/out" && grep -q "esp32s3" "$DIR/out" || fail "release list"
expect 0 "$ADMIN" release show 1
grep -q "32dfbb63ad86ead6be055ed18778c8c417d166035c6eb03294d13d0093273bb9" "$DIR/out" || fail "release show"
expect 0 "$ADMIN" device add dongle-1 --chip esp32
grep -Eq "^key: [0-9a-f]{64}$" "$DIR/out" || fail "device add prints the key"
grep -q "provision" "$DIR/err" || fail "device add provisioning hint"
expect 0 "$ADMIN" device add dongle-2
expect 0 "$ADMIN" deploy 1 --device dongle-1 --device dongle-2
grep -q "release 1 to dongle-1, dongle-2" "$DIR/out" || fail "deploy output"
expect 0 "$ADMIN" deploy 1 --chip esp32
expect 0 "$ADMIN" deployment list
expect 0 "$ADMIN" device list
grep -q "dongle-2" "$DIR/out" || fail "device list"
expect 0 "$ADMIN" status
expect 0 "$ADMIN" status dongle-1
grep -q "device dongle-1" "$DIR/out" || fail "status DEVICE"
expect 0 "$ADMIN" --json device show dongle-1
grep -q '"history":\[\]' "$DIR/out" || fail "--json device show"

# --- exit codes --------------------------------------------------------------------
expect 2 "$ADMIN" release add "$FW/not-an-app-bootloader.bin" --version x
grep -q "not an application image" "$DIR/err" || fail "refusal message printed"
expect 2 "$ADMIN" release add "$FW/esp32-arduino-large.bin"
expect 2 "$ADMIN" device add dongle-1
expect 2 "$ADMIN" deploy 1 --device ghost
expect 2 "$ADMIN" release show 99
expect 2 "$ADMIN" --token wrong release list
expect 4 "$ADMIN" release add "$DIR/no-such-file.bin" --version 1
expect 4 "$ADMIN" release add "$DIR" --version 1
expect 1 "$ADMIN"
expect 1 "$ADMIN" frobnicate
expect 1 "$ADMIN" deploy 1
expect 1 "$ADMIN" release add
# a version a device could not take in an offer (31 bytes at most): refused
# before anything is sent
expect 1 "$ADMIN" release add "$FW/esp32-arduino-b.bin" --version 1.0.0-rc.1+build.2024.06.01.1234
grep -q "1-31 characters" "$DIR/err" || fail "--version length message"
expect 1 env -u FOTA_ADMIN_TOKEN "$ADMIN" release list
expect 0 "$ADMIN" --help
# device ids: the core's rule (fota/device_id.h), checked before a request is sent
for bad in . .. .hidden 'a/b'; do
    expect 1 "$ADMIN" device show "$bad"
    grep -q "is not a device id" "$DIR/err" || fail "device show $bad: no message naming the id rule"
done
expect 1 "$ADMIN" device add ..
expect 1 "$ADMIN" deploy 1 --device ..
expect 1 "$ADMIN" status .

kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ $rc = 0 ] || fail "server exit status $rc on SIGTERM"
# unreachable server (it is stopped now)
expect 3 "$ADMIN" release list
grep -q "cannot reach" "$DIR/err" || fail "unreachable message"
# the upload refused before anything was sent: the file was checked first
expect 4 "$ADMIN" release add "$DIR/missing.bin"

grep -q "GET /api/admin/releases - 200" "$DIR/server.log" || fail "access log line"
! grep -q "cli-secret" "$DIR/server.log" || fail "the admin token appears in the log"
rm -rf "$DIR"
echo "server_admin_cli: all checks passed"
