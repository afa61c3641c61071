#!/usr/bin/env bash
# http.fetch benchmark: wall time against the latency bound N*L/C, server-observed
# concurrency and connections, for one stage and two chained stages, plus xargs + curl.
#
# usage: pipelines/bench/http/run.sh [BUILD_DIR]
#   BUILD_DIR  an existing build directory with bin/conveyor (default: build a Release
#              binary in <repo>/build-release)
# env:
#   SKIP_C1=1        skip C=1 (each C=1 run takes N*L = 100 s)
#   CONCS="1 10 50 200"  concurrencies (C=1 is dropped by SKIP_C1)
#   TWO_CONCS="10 50 200 1000" concurrencies for the two-stage pipelines (W2)
#   N=2000 DELAY_MS=100  rows and server latency
#   SKIP_CURL=1      skip the peers (xargs + curl, curl -Z, python3 aiohttp)
#   SKIP_H2LOAD=1    skip h2load (run for one stage when installed: nghttp2-client)
#   REPEAT=3         runs per configuration when the bound is <= 30 s (the median is reported)
#   BENCH_DIR        where delay_server.py and gen_data.py live (default <repo>/../shared/bench)
#   SERVER=py        use ../shared/bench/delay_server.py instead of the C++ delay server
#   RESULTS=path     where to write the table (default RESULTS.md next to this script)
#
# Starts the delay server on 127.0.0.1 (ephemeral port, stops itself after 900 s, stopped by
# PID on exit), prints a markdown table and writes it with the machine description to
# RESULTS.md next to this script. Every row also gives the client's CPU time (user + system
# of the command and its children) per request, conveyor's next to curl's and aiohttp's.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BENCH=${BENCH_DIR:-$ROOT/../shared/bench}
N=${N:-2000}
DELAY_MS=${DELAY_MS:-100}
CONCS=${CONCS:-"1 10 50 200"}
TWO_CONCS=${TWO_CONCS:-"10 50 200 1000"}
PY=/usr/bin/python3

if [ "${SKIP_C1:-0}" = "1" ]; then
  CONCS=$(for c in $CONCS; do [ "$c" = 1 ] || printf '%s ' "$c"; done)
fi

BUILD=${1:-}
if [ -z "$BUILD" ]; then
  BUILD=$ROOT/build-release
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONVEYOR_BUILD_TESTS=OFF > /dev/null
  ninja -C "$BUILD" conveyor
fi
CONVEYOR=$BUILD/bin/conveyor
[ -x "$CONVEYOR" ] || { echo "no conveyor binary at $CONVEYOR" >&2; exit 1; }
BUILD_TYPE=$(grep -s '^CMAKE_BUILD_TYPE:' "$BUILD/CMakeCache.txt" | cut -d= -f2 || true)

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/conveyor-bench-http.XXXXXX)
SPID=""
cleanup() {
  if [ -n "$SPID" ]; then
    kill "$SPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

$PY "$BENCH/gen_data.py" "$N" "$WORK/input.csv" > /dev/null
# The delay server: the C++ one (delay_server.cpp, one Asio thread, so that at C = 1000 the
# server is not what is measured) unless SERVER=py asks for ../shared/bench/delay_server.py.
if [ "${SERVER:-cpp}" = py ]; then
  SERVER_CMD=("$PY" "$BENCH/delay_server.py")
else
  ninja -C "$BUILD" conveyor-delay-server > /dev/null
  SERVER_CMD=("$BUILD/bin/conveyor-delay-server")
fi
"${SERVER_CMD[@]}" --port 0 --port-file "$WORK/port" --pid-file "$WORK/pid" \
  --delay-ms "$DELAY_MS" --max-seconds 900 > "$WORK/server.log" 2>&1 &
for _ in $(seq 100); do [ -s "$WORK/pid" ] && [ -s "$WORK/port" ] && break; sleep 0.1; done
SPID=$(cat "$WORK/pid")
PORT=$(cat "$WORK/port")
U="http://127.0.0.1:$PORT"
export BENCH_PORT=$PORT BENCH_INPUT=$WORK/input.csv BENCH_OUT=$WORK/out.jsonl

L=$(awk -v d="$DELAY_MS" 'BEGIN { printf "%.3f", d / 1000 }')
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# Start-up: the same input and output without HTTP (median of 3).
startups=()
for _ in 1 2 3; do
  t0=$(now); "$CONVEYOR" run -q "$HERE/baseline.toml" > /dev/null; t1=$(now)
  startups+=("$(sub "$t1" "$t0")")
done
STARTUP=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 2p)

ROWS=()
# once LIMIT OUTFILE cmd... -> "wall rc maxc conns reqs codes lines" for one run (server counters
# reset before it). MAXC_LIMIT is the most requests that may be in flight.
once() {
  local out=$1; shift
  rm -f "$out"
  curl -s "$U/__reset" > /dev/null
  local t0 t1 rc=0
  t0=$(now)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu" "$@" || rc=$?
  t1=$(now)
  local cpu; cpu=$(tail -n 1 "$WORK/cpu" | awk '{ printf "%.3f", $1 + $2 }')
  local st; st=$(curl -s "$U/__stats")
  local lines; lines=$( [ -f "$out" ] && wc -l < "$out" || echo 0)
  printf '%s %s %s %s %s %s %s %s %s\n' "$(sub "$t1" "$t0")" "$rc" \
    "$(echo "$st" | jq .max_concurrent_requests)" \
    "$(echo "$st" | jq '.connections_total - 1')" \
    "$(echo "$st" | jq .requests)" \
    "$(echo "$st" | jq -c .status | tr -d '{}" ')" "$lines" \
    "$(echo "$st" | jq '.first_request_to_last_response_s // 0')" "$cpu"
}

# run LABEL TOOL C BOUND MAXC_LIMIT OUTFILE cmd...
# Short runs (bound <= 30 s) are repeated REPEAT times (default 3) and the run with the median
# wall time is reported, with its server counters; long ones run once. The machine is shared,
# so a single short run can be slowed by someone else's compile.
run() {
  local label=$1 tool=$2 c=$3 bound=$4 limit=$5 out=$6; shift 6
  local reps=1
  if awk -v b="$bound" 'BEGIN { exit !(b <= 30) }'; then reps=${REPEAT:-3}; fi
  local results=() i
  for ((i = 0; i < reps; i++)); do results+=("$(once "$out" "$@")"); done
  local median; median=$(printf '%s\n' "${results[@]}" | sort -n -k1,1 | sed -n "$(( (reps + 1) / 2 ))p")
  local walls; walls=$(printf '%s\n' "${results[@]}" | awk '{ printf "%s%s", sep, $1; sep = " " }')
  local wall rc maxc conns reqs codes lines span cpu
  read -r wall rc maxc conns reqs codes lines span cpu <<< "$median"
  local per_req; per_req=$(awk -v c="$cpu" -v r="$reqs" 'BEGIN { if (r > 0) printf "%.0f", c * 1e6 / r; else printf "-" }')
  local ratio; ratio=$(awk -v w="$wall" -v b="$bound" -v s="$STARTUP" 'BEGIN { printf "%.3f", w / (b + s) }')
  local verdict="-"
  if [ "$tool" = conveyor ]; then
    # Within 5% of the bound, 10% at C >= 1000 (issue 20).
    verdict=$(awk -v r="$ratio" -v m="$maxc" -v lim="$limit" -v rc="$rc" -v n="$lines" -v want="$N" -v c="$c" \
      'BEGIN { ok = (rc == 0 && n == want && r <= (c >= 1000 ? 1.10 : 1.05) && m <= lim && m >= 0.9 * lim);
               printf "%s", ok ? "pass" : "FAIL" }')
  fi
  local row
  row=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |' \
    "$label" "$tool" "$c" "$N" "$bound" "$wall" "$walls" "$ratio" "$span" "$maxc" "$limit" "$conns" "$reqs" "$codes" "$cpu" "$per_req" "$verdict")
  echo "$row"
  ROWS+=("$row")
}

gen() { sed "s/@C@/$2/g" "$HERE/$1.toml.in" > "$WORK/$1_c$2.toml"; echo "$WORK/$1_c$2.toml"; }

HEADER='| workload | tool | C | N | bound (s) | measured (s) | all runs (s) | ratio | server span (s) | max in flight / limit | connections | requests | status | client CPU (s) | CPU / request (us) | check |'
SEP='|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|'
echo "start-up (csv.read -> json.write, no HTTP, median of 3): ${STARTUP} s"
echo "$HEADER"; echo "$SEP"

for C in $CONCS; do
  bound=$(awk -v n="$N" -v l="$L" -v c="$C" 'BEGIN { printf "%.3f", n * l / c }')
  p=$(gen fetch_one "$C")
  run "one stage" conveyor "$C" "$bound" "$C" "$BENCH_OUT" "$CONVEYOR" run -q "$p"
  if [ "${SKIP_CURL:-0}" != "1" ]; then
    run "one stage" "xargs -P C curl" "$C" "$bound" "$C" "$WORK/x.out" sh -c \
      "tail -n +2 '$WORK/input.csv' | cut -d, -f1 | xargs -P $C -I{} curl -sS -m 10 -w '\n' '$U/users/{}/profile' > '$WORK/x.out'"
    # One curl process with its own parallel engine and keep-alive pool: a strong reference
    # client, to tell the server's share of the overhead from conveyor's.
    tail -n +2 "$WORK/input.csv" | cut -d, -f1 |
      awk -v u="$U" '{ printf "url = \"%s/users/%s/profile\"\noutput = \"/dev/null\"\n", u, $1 }' > "$WORK/one.curl"
    run "one stage" "curl -Z --parallel-max C" "$C" "$bound" "$C" "$WORK/z.out" sh -c \
      "curl -sS --no-progress-meter --fail -m 10 -Z --parallel-max $C -K '$WORK/one.curl' && seq $N > '$WORK/z.out'"
  fi
  # nghttp2's load generator (Debian nghttp2-client), HTTP/1.1, C connections doing N
  # requests in all: a client in C that does nothing but connect, send and read, so its ratio
  # is the floor of any client on this machine and this server (one URL: the server's delay
  # does not depend on the id). Its output is only checked: all N must succeed.
  if [ "${SKIP_H2LOAD:-0}" != "1" ] && command -v h2load > /dev/null; then
    run "one stage" "h2load --h1 -c C" "$C" "$bound" "$C" "$WORK/h.out" sh -c \
      "h2load --h1 -n $N -c $C -m 1 '$U/users/1/profile' > '$WORK/h.log' && grep -q ' $N succeeded' '$WORK/h.log' && seq $N > '$WORK/h.out'"
  fi
done

for C in $TWO_CONCS; do
  p=$(gen fetch_two "$C")
  chan=$(awk -v n="$N" -v l="$L" -v c="$C" 'BEGIN { printf "%.3f", n * l / c + l }')
  dag=$(awk -v n="$N" -v l="$L" -v c="$C" 'BEGIN { printf "%.3f", 2 * n * l / c }')
  run "two stages, channel" conveyor "$C" "$chan" "$((2 * C))" "$BENCH_OUT" "$CONVEYOR" run -q --executor channel "$p"
  run "two stages, dag" conveyor "$C" "$dag" "$C" "$BENCH_OUT" "$CONVEYOR" run -q --executor dag "$p"
  if [ "${SKIP_CURL:-0}" != "1" ]; then
    run "two requests per row" "xargs -P C row_fetch.sh" "$C" "$dag" "$C" "$WORK/x.out" sh -c \
      "tail -n +2 '$WORK/input.csv' | cut -d, -f1 | xargs -P $C -n 1 '$BENCH/w2/row_fetch.sh' $PORT > '$WORK/x.out'"
    run "two requests per row" "curl -Z (curl_parallel.sh)" "$C" "$dag" "$C" "$WORK/z.out" sh -c \
      "'$BENCH/w2/curl_parallel.sh' $PORT $C '$WORK/input.csv' '$WORK/z.out' 2> /dev/null"
    # Two pipelined stages of C requests each, as conveyor's channel run (Debian python3-aiohttp).
    if $PY -c 'import aiohttp' 2> /dev/null; then
      run "two stages, pipelined" "python3 aiohttp (aio_client.py --mode stages)" "$C" "$chan" "$((2 * C))" \
        "$WORK/a.out" "$PY" "$BENCH/w2/aio_client.py" "$PORT" "$C" "$WORK/input.csv" "$WORK/a.out" --mode stages
    fi
  fi
done

{
  echo "# http.fetch benchmark results"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`pipelines/bench/http/run.sh\` (commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), conveyor build type: ${BUILD_TYPE:-unknown})."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
  echo "- Memory: $(free -g | awk '/^Mem:/ { print $2 }') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- Load average (1, 5, 15 min) at the start: ${LOAD_START}; at the end: $(cut -d' ' -f1-3 /proc/loadavg) (a shared 2-CPU machine: other jobs ran at the same time)"
  echo "- Server: \`$(basename "${SERVER_CMD[-1]}") --delay-ms $DELAY_MS\` (same machine, 127.0.0.1; the C++ one unless SERVER=py); N = $N rows from \`gen_data.py $N\`"
  echo
  echo "## Reading the table"
  echo
  echo "- tools: conveyor (this build); xargs -P C curl (one curl process per request, as in /work/shared/bench/w2); curl -Z --parallel-max C (one curl process, its own keep-alive pool; for two requests per row the W2 script curl_parallel.sh, which fetches all 2N URLs with C in flight and joins them afterwards); h2load --h1 (nghttp2's load generator: C connections, N requests, nothing else done with the answers: the floor of any client here; one stage only, when installed)."
  echo "- bound: the latency bound. One stage: N·L/C. Two chained stages under \`channel\`: N·L/C + L (both stages run at once); under \`dag\`: 2·N·L/C (the second stage starts when the first is done). xargs rows: the same bounds for the same work (row_fetch.sh makes its two requests one after the other)."
  echo "- measured: wall time of the whole command, start-up included; the median of ${REPEAT:-3} runs when the bound is <= 30 s (all runs listed), else one run. Start-up (csv.read -> json.write of the same file without HTTP, median of 3): ${STARTUP} s."
  echo "- ratio: measured / (bound + start-up); the target is <= 1.05 (<= 1.10 at C >= 1000)."
  echo "- client CPU: user + system time of the command and its children (/usr/bin/time), of the median run; per request: divided by the requests the server counted."
  echo "- server span: the server's time from the first request received to the last response sent (all of the waiting on the server plus the client's turnaround between a response and the next request; not start-up or writing the output)."
  echo "- max in flight: the server's max_concurrent_requests; limit is C (2C for two stages running at once under channel). Target for conveyor: 0.9·limit <= max <= limit."
  echo "- connections: TCP connections the server accepted during the run (keep-alive reuse shows as <= C for conveyor; curl opens one per request)."
  echo "- check: pass when the run succeeded, wrote N records, the ratio is within its target and max in flight is within [0.9·limit, limit]."
  echo
  echo "$HEADER"
  echo "$SEP"
  printf '%s\n' "${ROWS[@]}"
} > "${RESULTS:-$HERE/RESULTS.md}"
echo
echo "wrote ${RESULTS:-$HERE/RESULTS.md}"
