#!/usr/bin/env bash
# `make demo` / `make demo-stop`.
#
#   scripts/demo.sh start   build the release server, start it on a fresh ./demo-data, create the
#                           admin and an API key, upload a generated sample library with the real
#                           the shoebox CLI, print what to look at; the server keeps running.
#   scripts/demo.sh stop    stop the demo server (pid in demo-data/server.pid).
#
# Environment: SHOEBOX_DEMO_PORT (default 2283, or a free port when 2283 is taken),
# CARGO_TARGET_DIR (where cargo puts the binary), SHOEBOX_CACHE (interop client cache,
# default ~/.cache/shoebox).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DEMO="$ROOT/demo-data"
PIDFILE="$DEMO/server.pid"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/release/shoebox-server"
CACHE="${SHOEBOX_CACHE:-$HOME/.cache/shoebox}"
NODE_BIN="$CACHE/interop-node/node_modules/.bin"

say() { printf '==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

stop_server() {
    [ -f "$PIDFILE" ] || return 0
    local pid
    pid="$(cat "$PIDFILE")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa shoebox-server "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        say "stopped demo server (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

port_free() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# api METHOD PATH [JSON]: print the response body; fail with the body on a non-2xx answer.
# Sends $AUTH (a full header line) when it is set.
AUTH=""
api() {
    local args=(-sS -X "$1" "$URL$2" -H 'Accept: application/json' -w '\n%{http_code}')
    [ -n "$AUTH" ] && args+=(-H "$AUTH")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local out code
    out="$(curl "${args[@]}")" || die "$1 $2: curl failed"
    code="${out##*$'\n'}"
    out="${out%$'\n'*}"
    case "$code" in 2??) printf '%s' "$out" ;; *) die "$1 $2 -> HTTP $code: $out" ;; esac
}

# json EXPR: evaluate a Python expression over the JSON document on stdin (bound to `d`).
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

start() {
    command -v curl >/dev/null || die "curl is missing: run 'make deps'"
    command -v python3 >/dev/null || die "python3 is missing: run 'make deps'"

    say "building the release server and CLI: cargo build --release -p shoebox-server -p shoebox-cli"
    cargo build --release -p shoebox-server -p shoebox-cli
    [ -x "$BIN" ] || die "no binary at $BIN"

    stop_server
    rm -rf "$DEMO"
    mkdir -p "$DEMO"

    local port
    if [ -n "${SHOEBOX_DEMO_PORT:-}" ]; then
        port="$SHOEBOX_DEMO_PORT"
        port_free "$port" || die "port $port (SHOEBOX_DEMO_PORT) is in use"
    elif port_free 2283; then
        port=2283
    else
        port=0
        say "port 2283 is in use; letting the server pick a free port"
    fi

    say "starting $BIN serve --data demo-data/server-data --listen 127.0.0.1:$port"
    local launcher=()
    command -v setsid >/dev/null && launcher=(setsid)
    RUST_LOG="${RUST_LOG:-info}" "${launcher[@]}" "$BIN" serve --data "$DEMO/server-data" \
        --listen "127.0.0.1:$port" >"$DEMO/server.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"

    URL=""
    for _ in $(seq 1 300); do
        URL="$(sed -n 's#^shoebox-server listening on \(http://[^ ]*\).*#\1#p' "$DEMO/server.log" | head -n1)"
        [ -n "$URL" ] && break
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$DEMO/server.log" >&2; die "the server exited"; }
        sleep 0.1
    done
    [ -n "$URL" ] || { cat "$DEMO/server.log" >&2; die "the server did not report its address in 30 s"; }
    api GET /api/server/ping >/dev/null

    local email="admin@shoebox.local" password
    password="$(python3 -c 'import secrets; print("demo-" + secrets.token_hex(8))')"
    say "creating the admin $email"
    api POST /api/auth/admin-sign-up \
        "{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Demo Admin\"}" >/dev/null
    local token key
    token="$(api POST /api/auth/login "{\"email\":\"$email\",\"password\":\"$password\"}" | json 'd["accessToken"]')"
    AUTH="Authorization: Bearer $token"
    key="$(api POST /api/api-keys '{"name":"demo","permissions":["all"]}' | json 'd["secret"]')"
    AUTH="x-api-key: $key"

    say "generating the sample library"
    python3 scripts/sample_library.py "$DEMO/sample-library"
    # Real photos for the AI jobs (faces, people, labels), from the model cache `make models` filled.
    local models="${SHOEBOX_MODELS:-${SHOEBOX_CACHE:-$HOME/.cache/shoebox}/models}"
    if [ -d "$models/samples" ]; then
        mkdir -p "$DEMO/sample-library/AI samples"
        cp "$models/samples/"* "$DEMO/sample-library/AI samples/"
    fi

    local cli="$TARGET_DIR/release/shoebox"
    say "backing up the sample library with our CLI: shoebox backup (each folder becomes an album)"
    "$cli" --state "$DEMO/cli-state" login "$URL" --key "$key"
    "$cli" --state "$DEMO/cli-state" backup "$DEMO/sample-library"
    "$cli" --state "$DEMO/cli-state" status

    say "waiting for the background jobs (metadata, thumbnails, places, faces, labels, search)"
    local busy=1 i
    for i in $(seq 1 180); do
        busy="$(api GET /api/jobs | json 'sum(q["jobCounts"]["waiting"] + q["jobCounts"]["active"] + q["jobCounts"]["delayed"] for q in d.values())')"
        [ "$busy" = 0 ] && break
        sleep 1
    done
    [ "$busy" = 0 ] || say "jobs still running ($busy left); the numbers below will grow"

    report "$email" "$password" "$key"
}

report() {
    local email="$1" password="$2" key="$3"
    local albums checks files bytes
    albums="$(api GET /api/albums | json '"%d albums: " % len(d) + ", ".join("%s (%s)" % (a["albumName"], a.get("assetCount", len(a.get("assets", [])))) for a in sorted(d, key=lambda a: a["albumName"]))')"
    # Ask the server which of the sample files it holds (SHA-1 dedup check).
    checks="$(python3 - "$DEMO/sample-library" <<'PY'
import hashlib, json, os, sys
assets = []
for dirpath, _, names in os.walk(sys.argv[1]):
    for n in sorted(names):
        p = os.path.join(dirpath, n)
        assets.append({"id": p, "checksum": hashlib.sha1(open(p, "rb").read()).hexdigest()})
print(json.dumps({"assets": assets}))
PY
)"
    local stored total
    read -r stored total < <(api POST /api/assets/bulk-upload-check "$checks" |
        json '"%d %d" % (sum(1 for r in d["results"] if r["action"] == "reject"), len(d["results"]))')
    local people labels
    people="$(api GET '/api/people?withHidden=true' | json '"%d found in the photos" % len(d["people"])')"
    labels="$(api GET /api/search/explore | json '", ".join(i["value"] for f in d if f["fieldName"] == "smartInfo.objects" for i in f["items"]) or "none yet"')"
    files="$(find "$DEMO/server-data/library" -type f 2>/dev/null | wc -l)"
    bytes="$(du -sh "$DEMO/server-data/library" 2>/dev/null | cut -f1)"

    cat <<MSG

==================================================================================
 Shoebox demo server is running
----------------------------------------------------------------------------------
 URL           $URL   (Immich-compatible API under $URL/api)
 admin         $email
 password      $password
 API key       $key
 stored        $stored of $total sample files are assets on the server
 albums        $albums
 people        $people   (GET /api/people; name them with PUT /api/people/ID)
 labels        $labels   (GET /api/search/explore)
 on disk       $DEMO/server-data/library  ($files files, $bytes)
               database: $DEMO/server-data/shoebox.db
 sample files  $DEMO/sample-library
 server log    $DEMO/server.log   (pid $(cat "$PIDFILE") in $PIDFILE)

 try:   curl -H 'x-api-key: $key' $URL/api/albums
        curl -H 'x-api-key: $key' -H 'content-type: application/json' \\
             -d '{"query":"cat"}' $URL/api/search/smart
        $TARGET_DIR/release/shoebox --state $DEMO/cli-state status
        (Immich's own CLI works too: immich login $URL $key; immich upload --recursive DIR)
 stop:  make demo-stop
==================================================================================
MSG
}

case "${1:-start}" in
    start) start ;;
    stop) stop_server ;;
    *) die "usage: $0 start|stop" ;;
esac
