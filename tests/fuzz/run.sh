#!/usr/bin/env bash
# Runs every built libFuzzer target (build-asan/fuzz/fuzz_*, see the `fuzz` build preset) for N
# seconds each (default 30) on its seed corpora, one per core at a time. Builds nothing.
#
#   tests/fuzz/run.sh [seconds] [target...]      e.g. tests/fuzz/run.sh 600 fuzz_csv_reader
#
# Seeds: tests/fuzz/corpus/<name>/ (name = target without "fuzz_"), the matching conformance
# corpora in ../shared/corpora when present, and the test fixtures / example data. They are
# copied into a scratch corpus (FUZZ_WORK, default build-asan/fuzz-work/<target>/corpus) that
# libFuzzer grows, so the checked-in corpora stay as they are and a later run starts from
# what earlier runs found. Environment: FUZZ_BUILD_DIR (default build-asan), FUZZ_WORK,
# FUZZ_ARGS (extra libFuzzer flags), FUZZ_JOBS (targets at a time, default nproc), FUZZ_CORPORA (default ../shared/corpora).
#
# Exit status: 0 when no target crashed; 1 otherwise, after printing each crash input's path
# (reproduce with: build-asan/fuzz/<target> <crash file>).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-30}"
shift || true
build="${FUZZ_BUILD_DIR:-build-asan}"
work="${FUZZ_WORK:-$build/fuzz-work}"
shared="${FUZZ_CORPORA:-../shared/corpora}"
# Symbolized stacks in reports (the `llvm` package's llvm-symbolizer).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/bin/llvm-symbolizer ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for bin in "$build"/fuzz/fuzz_*; do
        [ -x "$bin" ] && targets+=("$(basename "$bin")")
    done
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "run.sh: no fuzz targets in $build/fuzz (cmake --preset asan && cmake --build --preset fuzz)" >&2
    exit 2
fi

# copy_seeds DEST DIR PATTERN...: files under DIR whose names match a PATTERN, flattened into
# DEST (prefixed with their folder so equal names from different folders do not collide).
copy_seeds() {
    local dest="$1" dir="$2"
    shift 2
    [ -d "$dir" ] || return 0
    local args=() p
    for p in "$@"; do args+=(-o -name "$p"); done
    find "$dir" -type f \( "${args[@]:1}" \) -print0 |
        while IFS= read -r -d '' f; do
            local rel="${f#"$dir"/}"
            cp -f "$f" "$dest/seed_${rel//\//_}"
        done
}

seed_target() {
    local target="$1" dest="$2" name="${1#fuzz_}"
    copy_seeds "$dest" "tests/fuzz/corpus/$name" '*'
    case "$name" in
    csv_reader)
        copy_seeds "$dest" "$shared/csv-spectrum/csvs" '*.csv'
        copy_seeds "$dest" tests/fixtures '*.csv' '*.tsv'
        copy_seeds "$dest" pipelines/examples '*.csv'
        ;;
    json_reader)
        copy_seeds "$dest" "$shared/JSONTestSuite/test_parsing" '*.json'
        copy_seeds "$dest" "$shared/csv-spectrum/json" '*.json'
        copy_seeds "$dest" tests/fixtures '*.json' '*.jsonl' '*.ndjson'
        copy_seeds "$dest" pipelines/examples '*.json' '*.jsonl'
        ;;
    json_writer)
        copy_seeds "$dest" "$shared/JSONTestSuite/test_parsing" '*.json'
        copy_seeds "$dest" tests/fixtures '*.json' '*.jsonl' '*.ndjson'
        ;;
    pipeline_loader)
        copy_seeds "$dest" "$shared/toml-test/tests" '*.toml'
        copy_seeds "$dest" tests/fixtures '*.toml'
        copy_seeds "$dest" pipelines '*.toml'
        ;;
    esac
}

# fuzz_one TARGET: fuzzes one target; its report goes to $work/TARGET/report (printed by the
# caller in target order), and $work/TARGET/failed exists when it failed.
fuzz_one() {
    local target="$1" bin="$build/fuzz/$1"
    local corpus="$work/$1/corpus" artifacts="$work/$1/artifacts"
    mkdir -p "$corpus" "$artifacts"
    local report="$work/$target/report" log="$work/$target/fuzz.log"
    rm -f "$work/$target/failed"
    if [ ! -x "$bin" ]; then
        echo "!! $bin is not built" >"$report"
        touch "$work/$target/failed"
        return
    fi
    seed_target "$target" "$corpus"
    local before status new f
    echo "== $target: ${seconds}s, $(find "$corpus" -type f | wc -l) inputs in $corpus" >"$report"
    before="$(find "$artifacts" -type f | sort)"
    # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a runaway allocation is a finding.
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    status=$?
    { grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$log" | tr '\n' ' '
      echo; } >>"$report"
    if [ "$status" -ne 0 ]; then
        new="$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort))"
        {
            echo "!! $target failed (exit $status); log: $log"
            grep -E 'ERROR: |SUMMARY: |^    #[0-9]+ ' "$log" | head -30
            for f in $new; do echo "!! crash input: $f"; done
        } >>"$report"
        touch "$work/$target/failed"
    fi
}

# The targets run FUZZ_JOBS at a time (default: one per core; each libFuzzer process is
# single-threaded), so N targets take about N / cores times the seconds each.
jobs="${FUZZ_JOBS:-$(nproc)}"
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    fuzz_one "$target" &
done
wait
failed=()
for target in "${targets[@]}"; do
    cat "$work/$target/report"
    [ -e "$work/$target/failed" ] && failed+=("$target")
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} target(s), ${seconds}s each, $jobs at a time, no crash"
