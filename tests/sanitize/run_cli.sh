#!/usr/bin/env bash
# Runs every example pipeline (under each executor) and every CLI subcommand with a conveyor
# binary built with sanitizers (the `asan` preset: ctest label `sanitize`), and fails on any
# sanitizer report or unexpected exit code. Checks that the runs work, not what they print: the
# integration tests compare outputs.
#
#   tests/sanitize/run_cli.sh BUILD/bin/conveyor
set -uo pipefail
cd "$(dirname "$0")/../.."
bin="$(realpath "$1")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Sanitizers stop the process at the first report (the build uses -fno-sanitize-recover=all);
# their exit code is 99 to set it apart from conveyor's own.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1:exitcode=99"
export TSAN_OPTIONS="${TSAN_OPTIONS:-}:halt_on_error=1:exitcode=99"
unset CONVEYOR_LOG MIN_AMOUNT

failures=0
runs=0
# expect CODE ARGS...: runs conveyor ARGS (stdin from /dev/null) and checks its exit code and
# that no sanitizer spoke.
expect() {
    local want="$1"
    shift
    runs=$((runs + 1))
    local err="$work/stderr" status
    "$bin" "$@" </dev/null >"$work/stdout" 2>"$err"
    status=$?
    if [ "$status" -ne "$want" ] ||
        grep -qE 'Sanitizer|runtime error:|==[0-9]+==ERROR' "$err"; then
        failures=$((failures + 1))
        echo "FAILED: conveyor $* (exit $status, expected $want)"
        head -c 20000 "$err"
    fi
}

# Every example under every executor, as the golden tests run them.
for p in pipelines/examples/*.toml; do
    # An example that leaves records out on purpose records its exit code (examples_test.cpp).
    code_file="pipelines/examples/expected/$(basename "$p" .toml)/exit_code"
    code=0
    [ -f "$code_file" ] && code="$(cat "$code_file")"
    for ex in dag channel async; do
        out="$work/out-$(basename "$p" .toml)-$ex"
        mkdir -p "$out"
        OUT_DIR="$out" expect "$code" run "$p" --executor "$ex" -q
    done
    expect 0 validate "$p"
    expect 0 graph "$p"
    expect 0 graph "$p" --format mermaid
    expect 0 explain "$p"
    expect 0 explain "$p" --executor async
    OUT_DIR="$work/dry" expect 0 run "$p" --dry-run
done

# The observation flags on one run.
q=pipelines/examples/quickstart.toml
OUT_DIR="$work/obs" expect 0 run "$q" --stats --stats-json "$work/stats.json" \
    --metrics-textfile "$work/m.prom" --tap "$(sed -n 's/^id = "\(.*\)"/\1/p' "$q" | head -1)" \
    --keep-intermediate "$work/keep" --lock --no-progress --log-level debug

# The commands that need no pipeline.
expect 0 list
"$bin" list 2>/dev/null | awk '{print $1}' | grep -E '^[a-z_]+\.[a-z_]+$' >"$work/functions"
while read -r fn; do expect 0 describe "$fn"; done <"$work/functions"
expect 0 schema
expect 0 completion bash
expect 0 completion zsh
expect 0 man
expect 0 --version
# The work-queue commands as far as they go without a queue engine (their tests start one).
expect 64 queue status --queue redis:/nowhere
expect 75 queue status --queue redis://127.0.0.1:1/q
expect 75 worker --queue nats://127.0.0.1:1/q
expect 0 --help
expect 0 run --help
pushd "$work" >/dev/null
expect 0 new starter
expect 0 validate starter.toml
popd >/dev/null

# replay: dead letters back into a stage.
cat >"$work/replay.toml" <<'TOML'
[[stages]]
id = "load"
function = "csv.read"
inputs = []
[stages.config]
path = "unused.csv"
[[stages]]
id = "big"
function = "filter.apply"
inputs = ["load"]
[stages.config]
column = "amount"
operator = ">="
value = 100
[[stages]]
id = "save"
function = "json.write"
inputs = ["big"]
[stages.config]
path = "replayed.jsonl"
TOML
printf '%s\n' \
    '{"stage":"big","error":{"kind":"temporary","message":"x"},"attempts":3,"timestamp":"t","record":{"id":1,"amount":150}}' \
    '{"stage":"load","error":{"kind":"data","message":"row"},"attempts":1,"timestamp":"t","where":"a.csv:3","raw":"1,2,3"}' \
    >"$work/failed.jsonl"
pushd "$work" >/dev/null
expect 0 replay failed.jsonl replay.toml --from-stage big
popd >/dev/null

# Sharded runs: two shards (rows), finalize combining a group-by's partial groups, and the
# local backend starting its shards as processes of the instrumented binary.
printf 'id,k,amount,note\n1,a,5,"x\ny"\n2,b,7,plain\n3,a,9,"q""q"\n4,c,1,z\n' >"$work/sharded.csv"
cat >"$work/sharded.toml" <<'TOML'
[global]
processes = 2
[[stages]]
id = "in"
function = "csv.read"
inputs = []
[stages.config]
path = "sharded.csv"
[[stages]]
id = "g"
function = "groupby.apply"
inputs = ["in"]
[stages.config]
by = ["k"]
aggregations = [{ operation = "count" }, { column = "amount", operation = "avg" }]
[[stages]]
id = "out"
function = "json.write"
inputs = ["g"]
[stages.config]
path = "sharded.jsonl"
TOML
pushd "$work" >/dev/null
expect 0 run sharded.toml -q --shard 0/2
expect 0 run sharded.toml -q --shard 1/2 --attempt second
expect 0 finalize sharded.toml
expect 0 run sharded.toml -q --set global.backend=local
expect 64 run sharded.toml -q --shard 2/2
popd >/dev/null

# Failures take their documented exits, cleanly.
expect 64 frobnicate
expect 64 run
expect 66 run "$work/missing.toml"
printf '[[stages]]\nid = "x"\nfunction = "csv.raed"\n' >"$work/bad.toml"
expect 78 validate "$work/bad.toml"
expect 78 run "$work/bad.toml"

echo "sanitized CLI: $runs runs, $failures failed"
[ "$failures" -eq 0 ]
