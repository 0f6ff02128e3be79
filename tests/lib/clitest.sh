# clitest.sh - sourced by CLI tests after they set DIR (temp folder) and PID
# (the server's pid, or empty): fail with the server log's tail, and expect
# an exit code keeping stdout in $DIR/out and stderr in $DIR/err.
fail() {
    echo "FAIL: $*" >&2
    [ -f "$DIR/server.log" ] && tail -20 "$DIR/server.log" >&2
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    exit 1
}
# expect CODE CMD...: run CMD, check its exit code
expect() {
    want=$1; shift
    "$@" >"$DIR/out" 2>"$DIR/err"
    got=$?
    [ "$got" = "$want" ] || { cat "$DIR/out" "$DIR/err" >&2; fail "exit $got, expected $want: $*"; }
    echo "ok: exit $got: $*"
}
