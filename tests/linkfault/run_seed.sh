#!/usr/bin/env bash
# run_seed.sh SEED [BUILD_DIR]: replay one seed of the link-fault campaign,
# verbose, with its temp folder (proxy log, device output, flash) kept.
# BUILD_DIR defaults to $FOTA_BUILD_DIR, else build-lf, else build.
# Env: LF_RATE (default 15, as in the campaign), LF_IMAGE_SIZE.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 SEED [BUILD_DIR]" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
b=${2:-${FOTA_BUILD_DIR:-}}
if [ -z "$b" ]; then
    for c in "$root/build-lf" "$root/build"; do
        [ -x "$c/tests/linkfault/faultproxy" ] && { b=$c; break; }
    done
fi
[ -n "$b" ] && [ -x "$b/tests/linkfault/lf_device" ] || { echo "run_seed.sh: no build with tests/linkfault/lf_device; build first or pass BUILD_DIR" >&2; exit 1; }
fw=${FOTA_SHARED_FIRMWARE:-$(sed -n 's/^FOTA_SHARED_FIRMWARE:PATH=//p' "$b/CMakeCache.txt")}
exec bash "$here/lf_campaign.sh" "$b/src/server" "$b/src/sim" "$b/tests/linkfault" "$fw" seed "$1"
