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

# start_server DIR LOGLEVEL [extra options]: sets SPID, SPORT, SURL
start_server() {
    local dir=$1 level=$2 extra=() help opt
    shift 2
    help=$("$SERVER_BIN" --help 2>&1 || true)
    # options of newer servers, only when this build has them
    for opt in "--rate-device 0" "--rate-addr 0" "$@"; do
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

# start_nginx DIR ROOT: nginx serving ROOT on a free loopback port; sets NPORT
start_nginx() {
    local dir=$1 root=$2
    NPORT=$(free_port)
    mkdir -p "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
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

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
