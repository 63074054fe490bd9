# memcached.sh — memcached with 4 worker threads on a loopback port, driven by
# memaslap (libmemcached-tools: 2 threads, 32 connections, 400,000 requests, 10 % of
# the values verified) and by a deterministic client of our own (4 connections at
# once: sets of 1 B – 64 KiB values, multi-gets that check every byte, appends,
# increments, deletes). The server runs on glibc, then on pagoda; the client and the
# load generator always run on glibc. The server is killed by PID when done, and by
# run-all's exit trap if anything goes wrong. Every request is bounded by timeouts.

MEMCACHED_CLIENT=$(cat <<'PY'
import hashlib, socket, sys, threading
port = int(sys.argv[1])
KEYS, CONNECTIONS = 24000, 4
def value(i):
    size = 1 + (i * 7919) % (64 * 1024 if i % 50 == 0 else 2000)
    return (("%d:" % i) * (size // 2 + 2)).encode()[:size]
def exchange(sock, request, until):
    sock.sendall(request)
    data = b""
    while not data.endswith(until):
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data
results = [None] * CONNECTIONS
def work(c):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    digest, bad = hashlib.sha256(), 0
    mine = range(c, KEYS, CONNECTIONS)
    for i in mine:
        v = value(i)
        if exchange(sock, b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(v), v), b"\r\n") != b"STORED\r\n":
            bad += 1
    for i in mine:
        if i % 7 == 0:
            exchange(sock, b"append k%d 0 0 4\r\n+app\r\n" % i, b"\r\n")
        if i % 11 == 0:
            exchange(sock, b"delete k%d\r\n" % i, b"\r\n")
    exchange(sock, b"set counter%d 0 0 1\r\n0\r\n" % c, b"\r\n")
    for _ in range(500):
        exchange(sock, b"incr counter%d 3\r\n" % c, b"\r\n")
    keys = list(mine)
    for start in range(0, len(keys), 100):
        batch = keys[start:start + 100]
        reply = exchange(sock, b"get " + b" ".join(b"k%d" % i for i in batch) + b"\r\n", b"END\r\n")
        digest.update(reply)
        for i in batch:
            expected = None if i % 11 == 0 else value(i) + (b"+app" if i % 7 == 0 else b"")
            header = b"VALUE k%d 0 " % i
            found = reply.find(header)
            if expected is None:
                bad += found >= 0
                continue
            if found < 0:
                bad += 1
                continue
            length_end = reply.index(b"\r\n", found)
            data_start = length_end + 2
            length = int(reply[found + len(header):length_end])
            bad += reply[data_start:data_start + length] != expected
    counter = exchange(sock, b"get counter%d\r\n" % c, b"END\r\n")
    sock.close()
    results[c] = (digest.hexdigest(), bad, counter.split(b"\r\n")[1].decode())
threads = [threading.Thread(target=work, args=(c,)) for c in range(CONNECTIONS)]
for t in threads: t.start()
for t in threads: t.join()
for c, result in enumerate(results):
    print("connection", c, *result)
PY
)

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts memcached for ALLOCATOR on PORT, sets SERVER_PID; fails if it does not answer.
start_memcached() {
    local allocator=$1 port=$2 user=()
    [ "$(id -u)" -eq 0 ] && user=(-u root)
    local preload=
    [ "$allocator" = pagoda ] && preload=$PAGODA_LIB
    LD_PRELOAD=$preload memcached "${user[@]}" -t 4 -l 127.0.0.1 -p "$port" -U 0 -m 512 -c 256 \
        2>"$WORK/memcached.$allocator.server.err" &
    SERVER_PID=$!
    local tries
    for tries in $(seq 50); do
        memcping --servers="127.0.0.1:$port" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

stop_memcached() {
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

# One run: the load, then our client; stdout to $WORK/memcached.ALLOCATOR.out.
memcached_job() {
    local port=$1
    timeout 120 memcaslap -s "127.0.0.1:$port" -T 2 -c 32 -x 400000 -v 0.1 \
        | grep -E '^(cmd_get|cmd_set|get_misses|verify_misses|verify_failed):' || return 1
    timeout 120 /usr/bin/python3 -c "$MEMCACHED_CLIENT" "$port"
}

# The mapping check of this program: libpagoda.so was in the pagoda server's
# /proc/PID/maps and not in the glibc server's, and no value came back wrong.
memcached_checks() {
    MAPPING_DETAIL="libpagoda.so mapped in the server of:${MEMCACHED_MAPPED:- none}; $MEMCACHED_THREADS threads"
    [ "$MEMCACHED_MAPPED" = " pagoda" ] || return 1
    if grep '^connection' "$WORK/memcached.pagoda.out" | grep -qv ' 0 [0-9]*$'; then
        MAPPING_DETAIL="wrong values returned: $(grep '^connection' "$WORK/memcached.pagoda.out" | tr '\n' ' ')"
        return 1
    fi
}

program_memcached() {
    local allocator port start end status
    MEMCACHED_MAPPED=
    for allocator in glibc pagoda; do
        port=$(free_port)
        if ! start_memcached "$allocator" "$port"; then
            stop_memcached
            verdict memcached fail 0 0 "memcached on $allocator did not answer on 127.0.0.1:$port: $(tail -c 300 "$WORK/memcached.$allocator.server.err")"
            return
        fi
        MEMCACHED_THREADS=$(awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status")
        libpagoda_mapped_in_pid "$SERVER_PID" && MEMCACHED_MAPPED="$MEMCACHED_MAPPED $allocator"
        start=$(date +%s.%N)
        memcached_job "$port" >"$WORK/memcached.$allocator.out" 2>"$WORK/memcached.$allocator.err"
        status=$?
        end=$(date +%s.%N)
        kill -0 "$SERVER_PID" 2>/dev/null || status=99       # the server died under load
        stop_memcached
        if [ "$allocator" = glibc ]; then
            GLIBC_STATUS=$status
            GLIBC_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
        else
            PAGODA_STATUS=$status
            PAGODA_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
        fi
    done
    compare_and_verdict memcached "400,000 memaslap requests, 24,000 keys checked byte for byte" memcached_checks
}
