#!/usr/bin/env bash
# run_doc.sh - run a document's ```sh blocks literally (docs/testing.md,
# "Docs that run"): tests docs_readme and docs_security.
#
#   run_doc.sh DOC.md BUILD_DIR EXPECT_FILE
#
# In a fresh temp folder holding only `build` (a link to BUILD_DIR, the build
# under test), with PATH reduced to the system's (so the binaries are found
# only if the document puts them on PATH), every ```sh block of DOC.md runs
# in one bash with `set -euo pipefail`, in order (scripts/doc-blocks). The
# document's ports 8080 and 8443 become free loopback ports. `make build`
# is the one command not run as written: the build under test is already
# built (any other make target fails). The run fails on the first command
# that fails, naming DOC:LINE of its block, and when a line of EXPECT_FILE
# (fixed strings, one a line) is missing from the output.
set -uo pipefail
[ $# = 3 ] || { echo "usage: $0 DOC.md BUILD_DIR EXPECT_FILE" >&2; exit 1; }
DOC=$1 BUILD=$(cd "$2" && pwd) EXPECT=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $EXPECT in /*) ;; *) EXPECT=$ROOT/$EXPECT ;; esac
[ -r "$EXPECT" ] || { echo "FAIL: no expected-output file $EXPECT" >&2; exit 1; }
for t in bash python3 openssl; do
    command -v $t >/dev/null || { echo "FAIL: $t missing (scripts/bootstrap installs it)" >&2; exit 1; }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/fota-docs-XXXXXX")
cleanup() {
    local rc=$? p
    for p in $(cat "$DIR/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
    if [ $rc = 0 ] && [ "${DOCS_KEEP:-0}" != 1 ]; then rm -rf "$DIR"; else echo "docs: temp folder kept: $DIR" >&2; fi
    exit $rc
}
trap cleanup EXIT
ln -s "$BUILD" "$DIR/build"
read -r P1 P2 < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
(cd "$ROOT" && scripts/doc-blocks "$DOC" 8080="$P1" 8443="$P2") >"$DIR/doc.sh" || exit 1

cat >"$DIR/prelude.sh" <<PRELUDE
set -euo pipefail
# the build under test is built already: 'make build' is a no-op here
make() {
    [ "\$*" = build ] || { echo "docs test: the document runs 'make \$*'; only 'make build' is known" >&2; return 1; }
    echo "(docs test: make build: using the build under test, $BUILD)"
}
# wait until a server started in the background listens (a reader waits too)
doc_wait_listen() {
    local i
    for i in \$(seq 400); do
        (exec 3<>/dev/tcp/127.0.0.1/\$1) 2>/dev/null && return 0
        sleep 0.05
    done
    echo "docs test: nothing listens on port \$1 after 20 s" >&2
    return 1
}
# every background job is stopped when the run ends
trap 'jobs -p > "$DIR/pids"' EXIT
PRELUDE

cd "$DIR" || exit 1
rc=0
env -i HOME="$DIR" PATH=/usr/local/bin:/usr/bin:/bin TMPDIR="${TMPDIR:-/tmp}" \
    bash -c '. ./prelude.sh; . ./doc.sh' >"$DIR/out" 2>&1 || rc=$?
if [ $rc != 0 ]; then
    echo "FAIL: $DOC as written fails (exit $rc) in the block below; output:" >&2
    tail -25 "$DIR/out" >&2
    exit 1
fi
missing=0
while IFS= read -r want; do
    [ -z "$want" ] || [ "${want#\#}" != "$want" ] && continue
    grep -qF -- "$want" "$DIR/out" || { echo "FAIL: $DOC: output lacks '$want'" >&2; missing=1; }
done <"$EXPECT"
[ $missing = 0 ] || { tail -25 "$DIR/out" >&2; exit 1; }
echo "docs: every sh block of $DOC ran as written ($(grep -c '^### ' "$DIR/out") blocks), expected output present"
