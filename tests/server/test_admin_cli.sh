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

# rollouts and the audit log
expect 0 "$ADMIN" rollout create 1 --chip esp32 --stages 1,all --min-devices 1 --max-failure-pct 20 --deadline 60 --soak 5
grep -q "rollout 1: release 1 (1.2.3) to every esp32 device" "$DIR/out" || fail "rollout create output"
grep -q "state:   running, stage 1 of 2 (1,all)" "$DIR/out" || fail "rollout create state line"
grep -Eq "^  1 +1 +1 +0 " "$DIR/out" || fail "rollout create: stage 1 row"
expect 0 "$ADMIN" rollout list
grep -Eq "^1 +1 +1.2.3 +chip +running +1/2 " "$DIR/out" || fail "rollout list row"
expect 0 "$ADMIN" --json rollout list
grep -q '"rollouts":\[{' "$DIR/out" || fail "--json rollout list"
expect 0 "$ADMIN" rollout pause 1 --reason "night freeze"
grep -q "state:   paused" "$DIR/out" || fail "rollout pause"
expect 2 "$ADMIN" rollout pause 1
grep -q "409" "$DIR/err" || fail "pausing a paused rollout: 409"
expect 0 "$ADMIN" rollout resume 1
expect 0 "$ADMIN" rollout show 1
grep -q "paused -> running (stage 1): resume by the operator" "$DIR/out" || fail "rollout show events"
grep -q "running -> paused (stage 1): pause by the operator: night freeze" "$DIR/out" || fail "pause reason"
expect 0 "$ADMIN" --json rollout abort 1
grep -q '"state":"aborted"' "$DIR/out" || fail "--json rollout abort"
expect 0 "$ADMIN" rollout show 1 --watch 1
grep -q "state:   aborted" "$DIR/out" || fail "--watch stops on an ended rollout"
expect 1 "$ADMIN" rollout create 1
expect 1 "$ADMIN" rollout create 1 --chip esp32 --all
expect 1 "$ADMIN" rollout create 1 --all --min-devices x
expect 1 "$ADMIN" rollout show
expect 2 "$ADMIN" rollout create 1 --all --stages 50%,10%
grep -q "does not grow" "$DIR/err" || fail "bad stages message"
expect 2 "$ADMIN" rollout show 99
expect 0 "$ADMIN" audit --limit 3
grep -Eq "^[0-9]+ +[0-9T:Z-]+ +admin +POST +/api/admin/rollouts +400 bad_request" "$DIR/out" || fail "audit: the refused create"
expect 0 "$ADMIN" --json audit
grep -q '"path":"/api/admin/rollout-actions","detail":"{\\"rollout\\":1,\\"action\\":\\"pause\\",\\"reason\\":\\"night freeze\\"}"' "$DIR/out" || fail "--json audit: the pause with its reason"
expect 1 "$ADMIN" audit --limit 0

# bulk registration with a provisioning export, and tags
printf 'id,chip,tags\nfab-1,esp32,site-a\nfab-2,esp32,site-a;roof\nbad id,esp32,\n' > "$DIR/batch.csv"
printf 'PUBKEYHEX\n' > "$DIR/fleet.pub"
expect 2 "$ADMIN" device import "$DIR/batch.csv" --export "$DIR/prov" --sign-pub "$DIR/fleet.pub"
grep -Eq "^2 +fab-1 +created" "$DIR/out" || fail "import report line 2"
grep -Eq "^4 +bad id +error +id must be" "$DIR/out" || fail "import report: the bad line"
grep -q "2 created, 0 already registered, 1 refused" "$DIR/out" || fail "import summary"
[ "$(stat -c %a "$DIR/prov/fab-2.json")" = 600 ] || fail "provisioning record mode is not 0600"
grep -Eq '"key": "[0-9a-f]{64}"' "$DIR/prov/fab-2.json" || fail "provisioning record: key"
grep -q '"sign_pubkey": "PUBKEYHEX"' "$DIR/prov/fab-2.json" || fail "provisioning record: signing key"
grep -q "\"server\": \"$FOTA_SERVER\"" "$DIR/prov/fab-2.json" || fail "provisioning record: server"
K1=$(grep -o '"key": "[0-9a-f]*"' "$DIR/prov/fab-1.json")
expect 2 "$ADMIN" device import "$DIR/batch.csv" --export "$DIR/prov"
grep -q "0 created, 2 already registered, 1 refused" "$DIR/out" || fail "import again: idempotent"
[ "$(grep -o '"key": "[0-9a-f]*"' "$DIR/prov/fab-1.json")" = "$K1" ] || fail "import again: another key"
printf 'id,chip\nfab-3,esp32\n' > "$DIR/ok.csv"
expect 0 "$ADMIN" device import "$DIR/ok.csv"
expect 0 "$ADMIN" device tag fab-3 --add site-a --add roof
grep -q "device fab-3 tags: roof site-a" "$DIR/out" || fail "device tag"
expect 0 "$ADMIN" device tag fab-3 --remove roof
grep -q "device fab-3 tags: site-a$" "$DIR/out" || fail "device tag --remove"
expect 2 "$ADMIN" device tag nobody --add x
expect 4 "$ADMIN" device import "$DIR/missing.csv"
expect 0 "$ADMIN" rollout create 1 --tag site-a --stages 100%
grep -q "to esp32 devices tagged site-a" "$DIR/out" || fail "tag rollout"
grep -Eq "^  1 +100% +3 " "$DIR/out" || fail "tag rollout: 3 devices"

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
