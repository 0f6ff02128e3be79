# lib.sh - helpers shared by the bench/*.sh scripts (sourced, not run).
# Every process started here is recorded in BENCH_PIDS and ended by its pid
# in bench_cleanup; every wait is bounded.

BENCH_PIDS=()
bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BENCH_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    BENCH_PIDS=()
}

# wait_file FILE [TENTHS]: until FILE is non-empty (default 10 s)
wait_file() {
    local i
    for i in $(seq "${2:-100}"); do [ -s "$1" ] && return 0; sleep 0.1; done
    return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_server DIR LOGLEVEL [extra options]: sets SPID, SPORT, SURL. Rate
# limits are turned off (--rate-device 0 --rate-addr 0) unless BENCH_DEFAULTS=1:
# then the server runs with its shipped limits.
start_server() {
    local dir=$1 level=$2 extra=() help opt off=("--rate-device 0" "--rate-addr 0")
    shift 2
    help=$("$SERVER_BIN" --help 2>&1 || true)
    [ "${BENCH_DEFAULTS:-0}" = 1 ] && off=()
    # options of newer servers, only when this build has them
    for opt in "${off[@]}" "$@"; do
        grep -q -- "${opt%% *}" <<<"$help" && read -r -a a <<<"$opt" && extra+=("${a[@]}")
    done
    mkdir -p "$dir"
    FOTA_ADMIN_TOKEN=bench-token "$SERVER_BIN" --db "$dir/db.sqlite" --data "$dir/data" \
        --master-key-file "$dir/master.key" --port 0 --port-file "$dir/port" \
        --log-level "$level" "${extra[@]}" 2>"$dir/server.log" &
    SPID=$!
    BENCH_PIDS+=("$SPID")
    wait_file "$dir/port" || { echo "fota-server did not start:" >&2; cat "$dir/server.log" >&2; return 1; }
    SPORT=$(cat "$dir/port")
    SURL=http://127.0.0.1:$SPORT
}

admin() { FOTA_ADMIN_TOKEN=bench-token FOTA_SERVER=$SURL "$ADMIN_BIN" "$@"; }

# release_add IMAGE VERSION: prints the release id
release_add() { admin --json release add "$1" --version "$2" | grep -o '"id":[0-9]*' | sed -n '1s/.*://p'; }
# device_add ID: prints the key
device_add() { admin device add "$1" 2>/dev/null | sed -n 's/^key: //p'; }
device_token() {
    python3 -c "import hmac,hashlib,sys; print(hmac.new(bytes.fromhex(sys.argv[1]), ('token:'+sys.argv[2]).encode(), hashlib.sha256).hexdigest())" "$1" "$2"
}

# start_nginx DIR ROOT: nginx serving ROOT on a free loopback port; sets NPORT.
# Tuned as nginx's own documentation recommends for static files: one worker
# per CPU (worker_processes auto), open_file_cache so open/stat are not paid
# per request, sendfile with tcp_nopush (headers and file in full packets),
# no access log, long keep-alive.
start_nginx() {
    local dir=$1 root=$2
    NPORT=$(free_port)
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    sendfile_max_chunk 512k;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=10000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    default_type application/json;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $root;
        location / { }
    }
}
EOF
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" &
    BENCH_PIDS+=("$!")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$NPORT/" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nginx did not start:" >&2
    cat "$dir/error.log" >&2
    return 1
}

# stats V1 V2 ...: "median min max" of the numbers
stats() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a n/a n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%g %g %g\n", m, v[1], v[NR] }'; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
