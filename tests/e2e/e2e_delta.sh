#!/usr/bin/env bash
# e2e_delta: compressed and delta updates through the real server
# (docs/delta.md), with versions of one synthetic app (fota-mkimage
# --app-rev) as releases.
#  1. a device running release 1.0.0 that takes deltas is offered the delta
#     to 2.0.0 ("encoding delta" in check), fetches only the patch (a small
#     fraction of the image) and ends with ota_1 byte-identical to 2.0.0;
#  2. a device running an image the server does not know gets the
#     compressed image (smaller than the full one), byte-identical;
#  3. a device that takes no encoding gets the full image as before;
#  4. a delta cut by power after flash operation 60 resumes at the next
#     power-on from a sector end (resumed_from > 0), fetches less than the
#     patch again, and installs the same bytes; likewise a compressed one.
#  5. the server refuses a malformed enc= or base= with 400.
# usage: e2e_delta.sh FOTA_SERVER FOTA_ADMIN FOTA_DEVICE FOTA_MKIMAGE FIRMWARE_DIR
. "$(dirname "$0")/lib.sh"
V0=$DIR/app-1.0.0.bin V4=$DIR/app-2.0.0.bin OTHER=$DIR/other.bin
"$MKIMAGE_BIN" -o "$V0" --size 256K --app-rev 0 --version 1.0.0 >/dev/null || fail "fota-mkimage rev 0"
"$MKIMAGE_BIN" -o "$V4" --size 256K --app-rev 4 --version 2.0.0 >/dev/null || fail "fota-mkimage rev 4"
"$MKIMAGE_BIN" -o "$OTHER" --size 256K --app-rev 0 --seed 99 --version 0.9.0 >/dev/null || fail "fota-mkimage other"
size=$(stat -c %s "$V4")

start_server
R0=$(add_release "$V0" 1.0.0)
R4=$(add_release "$V4" 2.0.0)
fetched() { sed -n 's/.*bytes_fetched=\([0-9]*\).*/\1/p' "$DIR/dev.out" | tail -1; }
resumed() { sed -n 's/.*resumed_from=\([0-9]*\).*/\1/p' "$DIR/dev.out" | tail -1; }
patch_size() { sed -n 's/^update: encoding [a-z]*, patch_size \([0-9]*\)$/\1/p' "$DIR/dev.out" | tail -1; }

# --- 1. delta ---------------------------------------------------------------------
KEY1=$(add_device dongle-1)
deploy "$R4" dongle-1
F=$DIR/flash1.bin
dev_expect 0 "$F" provision "$V0"
dev_expect 0 "$F" --server "$URL" --id dongle-1 --key "$KEY1" --encodings compressed,delta update
out_has "update: encoding delta, patch_size"
out_has "update: installed release $R4 in ota_1"
check_ota1 "$F" "$V4"
ps=$(patch_size)
[ "$ps" -lt $((size / 5)) ] || fail "delta of $ps bytes for a $size-byte image: expected a small fraction"
[ "$(fetched)" = "$ps" ] || fail "bytes_fetched=$(fetched), expected the patch's $ps"
ok "delta: $ps bytes fetched for a $size-byte image, ota_1 byte-identical"
DELTA=$ps

# --- 2. compressed ------------------------------------------------------------------
KEY2=$(add_device dongle-2)
deploy "$R4" dongle-2
F=$DIR/flash2.bin
dev_expect 0 "$F" provision "$OTHER"
dev_expect 0 "$F" --server "$URL" --id dongle-2 --key "$KEY2" --encodings compressed,delta update
out_has "update: encoding compressed, patch_size"
check_ota1 "$F" "$V4"
ps=$(patch_size)
[ "$ps" -lt "$size" ] && [ "$(fetched)" = "$ps" ] || fail "compressed: patch $ps, fetched $(fetched), image $size"
ok "compressed (base unknown to the server): $ps of $size bytes fetched, ota_1 byte-identical"
COMPRESSED=$ps

# --- 3. no encodings: the full image -------------------------------------------------
KEY3=$(add_device dongle-3)
deploy "$R4" dongle-3
F=$DIR/flash3.bin
dev_expect 0 "$F" provision "$V0"
dev_expect 0 "$F" --server "$URL" --id dongle-3 --key "$KEY3" update
grep -q "update: encoding" "$DIR/dev.out" && fail "a device without --encodings was offered a patch"
check_ota1 "$F" "$V4"
[ "$(fetched)" = "$size" ] || fail "full image: bytes_fetched=$(fetched), expected $size"
ok "no --encodings: the full $size bytes, as before"

# --- 4. power cut and resume ----------------------------------------------------------
cut_resume() { # NAME KEY FLASH BASE WANT_PATCH
    local name=$1 key=$2 f=$3
    dev_expect 0 "$f" provision "$4"
    dev_expect 4 "$f" --server "$URL" --id "$name" --key "$key" --encodings compressed,delta \
        --cut-after 400 update
    dev_expect 0 "$f" --server "$URL" --id "$name" --key "$key" --encodings compressed,delta update
    out_has "update: installed release $R4 in ota_1"
    check_ota1 "$f" "$V4"
    [ "$(resumed)" -gt 0 ] || fail "$name: resumed_from=$(resumed) after the cut: started over"
    [ "$(fetched)" -lt "$5" ] || fail "$name: fetched $(fetched) after the cut, of a $5-byte patch: started over"
    ok "$name: cut after flash op 400, resumed from image byte $(resumed), $(fetched) of $5 patch bytes fetched after the cut"
}
KEY4=$(add_device dongle-4)
deploy "$R4" dongle-4
cut_resume dongle-4 "$KEY4" "$DIR/flash4.bin" "$V0" "$DELTA"
KEY5=$(add_device dongle-5)
deploy "$R4" dongle-5
cut_resume dongle-5 "$KEY5" "$DIR/flash5.bin" "$OTHER" "$COMPRESSED"

# --- 5. malformed enc and base ----------------------------------------------------------
TOKEN1=$(printf 'token:dongle-1' | openssl dgst -sha256 -mac HMAC -macopt hexkey:"$KEY1" | sed 's/.*= //')
get() { curl -s -o "$DIR/body" -w '%{http_code}' -H "X-Device-Id: dongle-1" -H "X-Device-Token: $TOKEN1" "$URL$1"; }
for q in "check?version=1.0.0&enc=bzip2" "check?version=1.0.0&enc=delta&base=xyz" \
         "check?version=1.0.0&enc=compressed&base=$(printf '%064d' 0)" \
         "chunk?chunk=0&release=$R4&enc=delta" "chunk?chunk=0&release=$R4&enc=compressed,delta"; do
    code=$(get "/api/inverter/fota/$q")
    [ "$code" = 400 ] || fail "GET $q: HTTP $code, expected 400 ($(cat "$DIR/body"))"
done
code=$(get "/api/inverter/fota/chunk?chunk=0&release=$R4&enc=delta&base=$(printf '%064d' 0)")
[ "$code" = 404 ] || fail "a delta from an unknown base: HTTP $code, expected 404"
ok "malformed enc=/base= refused with 400; a delta from an unknown base is 404"

kill_server TERM
echo "e2e_delta: delta $DELTA, compressed $COMPRESSED, full $size bytes; all checks passed"
