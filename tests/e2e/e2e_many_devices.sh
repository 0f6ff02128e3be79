#!/usr/bin/env bash
# e2e_many_devices: six simulated devices update at the same time from one
# fota-server, three to esp32-arduino-b.bin and three to a synthetic 600,000-
# byte image; each ends with its own release, byte-identical, in ota_1, and
# the server shows every device installed with all its chunks.
# usage: e2e_many_devices.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
A=$FW/esp32-arduino-a.bin B=$FW/esp32-arduino-b.bin
SYN=$DIR/syn.bin
"$MKIMAGE_BIN" -o "$SYN" --chip esp32 --size 600000 --version 3.0.0 --seed 42 >/dev/null || fail "fota-mkimage"

start_server
REL_B=$(add_release "$B" 2.0.0)
REL_S=$(add_release "$SYN" 3.0.0)
declare -A KEY IMGOF RELOF CHUNKS
for i in 1 2 3 4 5 6; do
    id=dongle-$i
    KEY[$id]=$(add_device "$id")
    if [ $i -le 3 ]; then IMGOF[$id]=$B RELOF[$id]=$REL_B; else IMGOF[$id]=$SYN RELOF[$id]=$REL_S; fi
    sz=$(stat -c %s "${IMGOF[$id]}")
    CHUNKS[$id]=$(( (sz + 1023) / 1024 ))
done
deploy "$REL_B" dongle-1 dongle-2 dongle-3
deploy "$REL_S" dongle-4 dongle-5 dongle-6
ok "6 devices; release $REL_B (b) to dongle-1..3, release $REL_S (synthetic 3.0.0) to dongle-4..6"

declare -A PIDOF
for i in 1 2 3 4 5 6; do
    id=dongle-$i
    dev_expect 0 "$DIR/$id.flash" provision "$A"
done
for i in 1 2 3 4 5 6; do
    id=dongle-$i
    "$DEVICE_BIN" --flash "$DIR/$id.flash" --server "$URL" --id "$id" --key "${KEY[$id]}" \
        --backoff-ms 100 --max-attempts 20 update >"$DIR/$id.out" 2>"$DIR/$id.err" &
    PIDOF[$id]=$!
    BGPIDS+=("$!")
done
for i in 1 2 3 4 5 6; do
    id=dongle-$i
    rc=0
    wait "${PIDOF[$id]}" || rc=$?
    [ $rc = 0 ] || { cat "$DIR/$id.out" "$DIR/$id.err" >&2; fail "$id: fota-device exit $rc"; }
    grep -q "update: installed release ${RELOF[$id]} in ota_1" "$DIR/$id.out" ||
        { cat "$DIR/$id.out" >&2; fail "$id: not installed (release ${RELOF[$id]})"; }
    check_ota1 "$DIR/$id.flash" "${IMGOF[$id]}"
    J=$(device_json "$id")
    [ "$(jstr "$J" state)" = installed ] || fail "$id: server state '$(jstr "$J" state)', expected installed"
    [ "$(jnum "$J" release)" = "${RELOF[$id]}" ] || fail "$id: server release $(jnum "$J" release), expected ${RELOF[$id]}"
    [ "$(jnum "$J" chunks_received)" = "${CHUNKS[$id]}" ] ||
        fail "$id: server chunks_received $(jnum "$J" chunks_received), expected ${CHUNKS[$id]}"
    has_line "$(history_states "$J")" downloading || fail "$id: no downloading in history"
    ok "$id: installed release ${RELOF[$id]}, ota_1 byte-identical, server shows ${CHUNKS[$id]}/${CHUNKS[$id]} chunks"
done
admin status >"$DIR/status.out" || fail "fota-admin status"
for i in 1 2 3 4 5 6; do grep -q "dongle-$i" "$DIR/status.out" || fail "fota-admin status lacks dongle-$i"; done
cat "$DIR/status.out"

kill_server TERM
echo "e2e_many_devices: all checks passed"
