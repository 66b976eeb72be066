#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer on stable Rust (cargo-fuzz, no sanitizer).
#
#   scripts/fuzz.sh [TARGET|all] [RUNS]     fuzz one or every target (default: all,
#                                           10,000,000 executions each), one after
#                                           another, then minimise each corpus
#   scripts/fuzz.sh TARGET -- FILE...       run TARGET on FILEs only (reproduce)
#   scripts/fuzz.sh list                    the targets
#
# Builds into fuzz/target (not the workspace's target/, so it never waits on the
# main build lock). Corpora live in fuzz/corpus/<target>/ (committed; the fuzzer
# adds to them during a run, then `-merge=1 -use_counters=0` keeps the smallest
# inputs with the same edge coverage). Crash,
# timeout and OOM reproducers go to fuzz/artifacts/<target>/. Logs and a summary
# (fuzz/target/fuzz-summary.tsv) are kept under fuzz/target/. Exits non-zero if any
# target crashed, hung or ran out of memory.
#
# Environment: FUZZ_TIMEOUT (s per input, 10), FUZZ_RSS_MB (2048), FUZZ_NICE (10),
# FUZZ_MAX_TOTAL_TIME (s per target, 0 = no limit), FUZZ_MERGE (1; 0 skips the
# corpus minimisation), FUZZ_BUILD (1; 0 reuses the last build).
#
# Why no sanitizer: ASan needs -Zsanitizer (nightly only); the targets are safe Rust
# (all crates under test forbid unsafe), so panics, overflows (debug assertions are
# on), hangs and OOMs are what there is to find. The coverage instrumentation
# (-Cpasses=sancov-module, -Cllvm-args=-sanitizer-coverage-*) is stable.
set -euo pipefail
cd "$(dirname "$0")/.."

TRIPLE=x86_64-unknown-linux-gnu
BIN_DIR=fuzz/target/$TRIPLE/release
TARGETS=(frame_decoder message_decoder csr_check label_template config_parser mqtt_packet)
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
NICE=${FUZZ_NICE:-10}
MAX_TOTAL_TIME=${FUZZ_MAX_TOTAL_TIME:-0}

max_len() {
    # Template and configuration texts are longer than libFuzzer's 4 KB default.
    case "$1" in
        label_template) echo 8192 ;;
        config_parser) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_target() {
    local t
    for t in "${TARGETS[@]}"; do [[ $t == "$1" ]] && return 0; done
    return 1
}

ensure_cargo_fuzz() {
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "== installing cargo-fuzz" >&2
        cargo install cargo-fuzz --locked
    fi
}

build() {
    [[ ${FUZZ_BUILD:-1} == 0 && -x $BIN_DIR/${TARGETS[0]} ]] && return 0
    ensure_cargo_fuzz
    echo "== building fuzz targets (fuzz/target, release + debug assertions, no sanitizer)" >&2
    # 16 codegen units: a much quicker build on two cores for a few % of speed.
    nice -n "$NICE" cargo fuzz build --sanitizer none -O -a --codegen-units 16 "$@" >&2
}

ensure_corpus() {
    local t=$1
    if [[ -z $(ls -A "fuzz/corpus/$t" 2>/dev/null) ]]; then
        echo "== fuzz/corpus/$t is missing or empty: writing the seeds" >&2
        cargo run --quiet -p hallmark-fuzz --example seeds >&2
    fi
}

# The value after `key:` on the last libFuzzer status line that has it.
status_field() {
    grep -E "^#[0-9]+" "$2" | grep -oE "$1: [0-9]+[a-zA-Z]*" | tail -1 | awk '{print $2}' || true
}

stat_field() {
    grep -E "^stat::$1:" "$2" | tail -1 | awk '{print $2}' || true
}

fuzz_one() {
    local t=$1 runs=$2
    local bin=$BIN_DIR/$t corpus=fuzz/corpus/$t artifacts=fuzz/artifacts/$t
    local log=fuzz/target/logs/$t.log
    mkdir -p "$artifacts" fuzz/target/logs
    ensure_corpus "$t"
    local before_art
    before_art=$(find "$artifacts" -type f | wc -l)
    echo "== $t: $runs runs (timeout ${TIMEOUT}s, rss ${RSS_MB} MB, log $log)" >&2
    local start end rc=0
    start=$(date +%s.%N)
    nice -n "$NICE" "$bin" "$corpus" -runs="$runs" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
        -max_len="$(max_len "$t")" -max_total_time="$MAX_TOTAL_TIME" -artifact_prefix="$artifacts/" \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    end=$(date +%s.%N)
    local wall execs execps cov ft result new_art
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
    execs=$(stat_field number_of_executed_units "$log")
    execps=$(stat_field average_exec_per_sec "$log")
    cov=$(status_field cov "$log")
    ft=$(status_field ft "$log")
    new_art=$(($(find "$artifacts" -type f | wc -l) - before_art))
    case $rc in
        0) result=ok ;;
        70) result=TIMEOUT ;;
        72) result=INTERRUPTED ;;
        *) if grep -q "out-of-memory" "$log"; then result=OOM; else result="CRASH(rc=$rc)"; fi ;;
    esac
    if [[ $rc != 0 ]]; then
        echo "!! $t: $result; reproducer(s) in $artifacts/, log $log:" >&2
        grep -E "panicked at|ERROR: libFuzzer|SUMMARY|Test unit written" "$log" | head -5 >&2 || true
    fi
    if [[ ${FUZZ_MERGE:-1} != 0 ]]; then
        # Keep only inputs that add coverage (the fuzzer wrote every new find). Edges
        # and comparisons, not hit counts: a tenth of the files for the same edges,
        # so the committed corpus stays small.
        local merged=fuzz/target/merge-$t
        rm -rf "$merged" && mkdir -p "$merged"
        if nice -n "$NICE" "$bin" -merge=1 -use_counters=0 "$merged" "$corpus" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" \
            -max_len="$(max_len "$t")" >"fuzz/target/logs/$t.merge.log" 2>&1 \
            && [[ -n $(ls -A "$merged") ]]; then
            # Seeds (seed-*) always stay: they are cheap and document the format; the
            # merge names files by SHA-1, so drop its copies of them.
            local seed
            for seed in "$corpus"/seed-*; do
                if [[ -e $seed ]]; then rm -f "$merged/$(sha1sum "$seed" | cut -c1-40)"; fi
            done
            find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -delete
            find "$merged" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
        else
            echo "!! $t: corpus merge failed (fuzz/target/logs/$t.merge.log); corpus left as it is" >&2
        fi
        rm -rf "$merged"
    fi
    local files size
    files=$(find "$corpus" -type f | wc -l)
    size=$(find "$corpus" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "$wall" "${execps:-?}" "$files" "$size" \
        "${cov:-?}" "${ft:-?}" "$result" "$new_art" | tee -a fuzz/target/fuzz-summary.tsv
    [[ $rc == 0 || $rc == 72 ]]
}

[[ ${1:-} == -h || ${1:-} == --help ]] && usage
if [[ ${1:-} == list ]]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi

WHICH=${1:-all}
if [[ $WHICH != all ]] && ! is_target "$WHICH"; then
    echo "unknown target $WHICH; targets: ${TARGETS[*]}" >&2
    exit 2
fi

if [[ ${2:-} == -- ]]; then
    [[ $WHICH == all ]] && usage
    shift 2
    build "$WHICH"
    exec "$BIN_DIR/$WHICH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" "$@"
fi

RUNS=${2:-10000000}
[[ $RUNS =~ ^[0-9]+$ ]] || usage
if [[ $WHICH == all ]]; then SELECTED=("${TARGETS[@]}"); else SELECTED=("$WHICH"); fi

build
mkdir -p fuzz/target
printf 'target\texecutions\twall_s\texec_per_s\tcorpus_files\tcorpus_bytes\tcov\tft\tresult\tnew_artifacts\n' \
    | tee -a fuzz/target/fuzz-summary.tsv
failed=0
for t in "${SELECTED[@]}"; do
    fuzz_one "$t" "$RUNS" || failed=1
done
exit $failed
