#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time, starting from
# the committed corpus (fuzz/corpus/TARGET), and fails on any crash; the
# crashing input is left in fuzz/artifacts/TARGET/ to become a regression
# test. Needs the nightly toolchain (libFuzzer's sanitizer flags); installs
# cargo-fuzz into target/tools.
#
#   bash scripts/fuzz-code.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz-code: SKIPPED — no nightly toolchain (rustup toolchain install nightly)" >&2
    exit 0
fi
tools="$PWD/target/tools"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
    cargo install --locked --quiet --root "$tools" cargo-fuzz@0.13.2
fi
export PATH="$tools/bin:$PATH"

cd fuzz
# An unoptimised build: these targets run for seconds in CI, where build
# time dominates; run longer campaigns with `cargo +nightly fuzz run -O`.
cargo +nightly fuzz build --dev
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    # A scratch copy of the corpus: CI must not grow the committed one.
    scratch=$(mktemp -d)
    cp -r "corpus/$target/." "$scratch/"
    echo "== fuzz $target (${seconds}s, $(ls "$scratch" | wc -l) inputs)"
    log="$scratch.log"
    status=0
    cargo +nightly fuzz run --dev "$target" "$scratch" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -40 "$log" >&2
    fi
    rm -f "$log"
    rm -rf "$scratch"
    if [ "$status" -ne 0 ]; then
        echo "fuzz $target FAILED: see fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
