# lib.sh - shared helpers of the end-to-end tests (sourced, not run).
# The caller passes: FOTA_SERVER_BIN FOTA_ADMIN_BIN FOTA_DEVICE_BIN
# FOTA_MKIMAGE_BIN FIRMWARE_DIR as $1..$5. Everything runs in a fresh temp
# folder (kept when FOTA_KEEP_TEST_DIR=1); the trap kills every process the
# test started and removes the folder.
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR" >&2; exit 1; }
SERVER_BIN=$1 ADMIN_BIN=$2 DEVICE_BIN=$3 MKIMAGE_BIN=$4 FW=$5
for f in "$SERVER_BIN" "$ADMIN_BIN" "$DEVICE_BIN" "$MKIMAGE_BIN"; do
    [ -x "$f" ] || { echo "FAIL: not an executable: $f" >&2; exit 1; }
done
[ -r "$FW/esp32-arduino-b.bin" ] || { echo "FAIL: firmware folder $FW has no esp32-arduino-b.bin" >&2; exit 1; }
TEST_NAME=$(basename "$0" .sh)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-$TEST_NAME-XXXXXX")
SPID=
BGPIDS=()
OTA1_OFFSET=$((0x150000))
export FOTA_ADMIN_TOKEN=e2e-admin-token
unset FOTA_SERVER

cleanup() {
    local rc=$? p
    for p in "${BGPIDS[@]}" $SPID; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${FOTA_KEEP_TEST_DIR:-0}" = 1 ]; then
        echo "$TEST_NAME: temp folder kept: $DIR" >&2
    else
        rm -rf "$DIR"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $TEST_NAME: $*" >&2
    if [ -f "$DIR/server.log" ]; then
        echo "--- last lines of server.log:" >&2
        tail -15 "$DIR/server.log" >&2
    fi
    exit 1
}
ok() { echo "ok: $*"; }

# start_server [PORT]: start fota-server on the test's db/data/master key
# (PORT 0 or none: a free port), plus the options in the array SERVER_EXTRA;
# SERVER_SCHEME=https for a TLS server. Sets SPID, PORT, URL, FOTA_SERVER.
SERVER_EXTRA=()
SERVER_SCHEME=http
start_server() {
    local want=${1:-0} i=0
    rm -f "$DIR/port"
    "$SERVER_BIN" --db "$DIR/db.sqlite" --data "$DIR/data" \
        --master-key-file "$DIR/master.key" --port "$want" --port-file "$DIR/port" \
        --log-level "${SERVER_LOG_LEVEL:-info}" ${SERVER_EXTRA[@]+"${SERVER_EXTRA[@]}"} \
        2>>"$DIR/server.log" &
    SPID=$!
    while [ ! -s "$DIR/port" ]; do
        i=$((i + 1))
        [ $i -le 500 ] || fail "fota-server did not start (port $want)"
        kill -0 "$SPID" 2>/dev/null || fail "fota-server exited at start (port $want)"
        sleep 0.02
    done
    PORT=$(cat "$DIR/port")
    URL="$SERVER_SCHEME://127.0.0.1:$PORT"
    export FOTA_SERVER=$URL
}

# kill_server [SIGNAL]: stop the server (default SIGTERM, expects exit 0).
kill_server() {
    local sig=${1:-TERM} rc=0
    [ -n "$SPID" ] || return 0
    kill -"$sig" "$SPID"
    wait "$SPID" || rc=$?
    SPID=
    if [ "$sig" = TERM ] && [ $rc != 0 ]; then fail "fota-server exit status $rc on SIGTERM"; fi
    return 0
}

admin() { "$ADMIN_BIN" "$@"; }

# add_device ID: register ID, print its key (64 hex).
add_device() {
    local out key
    out=$(admin device add "$1" 2>/dev/null) || fail "fota-admin device add $1"
    key=$(printf '%s\n' "$out" | sed -n 's/^key: \([0-9a-f]\{64\}\)$/\1/p')
    [ -n "$key" ] || fail "device add $1 printed no key: $out"
    printf '%s\n' "$key"
}

# add_release FILE VERSION: upload, print the release id.
add_release() {
    local out id
    out=$(admin --json release add "$1" --version "$2") || fail "fota-admin release add $1"
    id=$(jnum "$out" id)
    [ -n "$id" ] || fail "release add $1 gave no id: $out"
    printf '%s\n' "$id"
}

# deploy RELEASE DEVICE...
deploy() {
    local rel=$1 args=() d
    shift
    for d in "$@"; do args+=(--device "$d"); done
    admin deploy "$rel" "${args[@]}" >/dev/null || fail "fota-admin deploy $rel $*"
}

# device_json ID: the device as the admin API shows it (with history).
device_json() { admin --json device show "$1" || fail "fota-admin device show $1"; }

# jstr JSON FIELD: first string value of FIELD (top-level fields come
# before "history" in the server's compact JSON).
# (no `head` in these pipelines: with pipefail, an early close is a SIGPIPE)
jstr() { printf '%s' "$1" | grep -o "\"$2\":\"[^\"]*\"" | sed -n '1s/^"[^"]*":"\(.*\)"$/\1/p' || true; }
jnum() { printf '%s' "$1" | grep -o "\"$2\":[0-9]*" | sed -n '1s/^[^:]*://p' || true; }
# has_line TEXT LINE: TEXT has LINE as a whole line
has_line() { grep -qx -- "$2" <<<"$1"; }
# history_states JSON: the distinct states in the history, one a line.
history_states() { printf '%s' "$1" | sed 's/.*"history":\[//' | grep -o '"state":"[a-z_]*"' | cut -d'"' -f4 | sort -u; }

# slot_bytes FLASH LEN OUT: copy LEN bytes of ota_1 out of a flash file.
slot_bytes() {
    dd if="$1" of="$3" bs=65536 iflag=skip_bytes,count_bytes skip="$OTA1_OFFSET" count="$2" status=none
}

# check_ota1 FLASH IMAGE: ota_1 of FLASH holds exactly IMAGE.
check_ota1() {
    local len
    len=$(stat -c %s "$2")
    slot_bytes "$1" "$len" "$DIR/ota1.extract"
    cmp -s "$DIR/ota1.extract" "$2" || fail "ota_1 of $1 differs from $2 ($(cmp "$DIR/ota1.extract" "$2" 2>&1 | head -1))"
}

# dev FLASH ARGS...: run fota-device on FLASH; output in $DIR/dev.out, status in DEV_RC.
dev() {
    local flash=$1
    shift
    DEV_RC=0
    "$DEVICE_BIN" --flash "$flash" "$@" >"$DIR/dev.out" 2>"$DIR/dev.err" || DEV_RC=$?
}
# dev_expect RC FLASH ARGS...
dev_expect() {
    local want=$1
    shift
    dev "$@"
    if [ "$DEV_RC" != "$want" ]; then
        cat "$DIR/dev.out" "$DIR/dev.err" >&2
        fail "fota-device exit $DEV_RC, expected $want: fota-device --flash $*"
    fi
}
out_has() { grep -q -- "$1" "$DIR/dev.out" || { cat "$DIR/dev.out" "$DIR/dev.err" >&2; fail "fota-device output lacks '$1'"; }; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
# ota1_erased FLASH LEN: the first LEN bytes of ota_1 are all 0xFF
ota1_erased() {
    slot_bytes "$1" "$2" "$DIR/ota1.extract"
    head -c "$2" /dev/zero | tr '\0' '\377' | cmp -s - "$DIR/ota1.extract"
}
# log_count PATTERN: lines of server.log matching PATTERN (grep -E)
log_count() { grep -cE -- "$1" "$DIR/server.log" || true; }
