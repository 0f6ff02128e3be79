# testca.sh - sourced by tests that need TLS: a throwaway CA pair and a
# server certificate for 127.0.0.1, made with the openssl CLI in DIR.
#   testca DIR CA OTHER_CA   -> DIR/CA.pem DIR/OTHER_CA.pem DIR/server.pem
#                               DIR/server.key (signed by CA); returns 1 on error
testca() {
    local dir=$1 ca=$2 other=$3 c
    command -v openssl >/dev/null || { echo "openssl CLI missing" >&2; return 1; }
    for c in "$ca" "$other"; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=$c" -keyout "$dir/$c.key" -out "$dir/$c.pem" 2>/dev/null || return 1
    done
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null || return 1
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" 2>/dev/null
}
