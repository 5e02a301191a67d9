#!/usr/bin/env bash
# Fuzzes Fovea's decoders with libFuzzer + AddressSanitizer (docs/RELIABILITY.md).
#
#   scripts/fuzz.sh [HARNESS|all] [SECONDS]   fuzz each harness SECONDS (default: all, 10 s each),
#                                              then replay every committed regression input
#   scripts/fuzz.sh --replay [HARNESS|all]    only replay the committed seeds and regression inputs
#   scripts/fuzz.sh --list                    the harness names
#
# Seeds come from Fuzz/Corpus/<harness>/ (committed, small); what the fuzzer adds goes to
# Fuzz/.build-fuzz/corpus/<harness>/ (not committed), crashes to Fuzz/.build-fuzz/crashes/<harness>/.
# A crash fixed in the parser is committed as Fuzz/Regressions/<harness>/<name>; `swift test`
# (FuzzRegressionTests) replays those without the fuzzer too.
# Extra libFuzzer flags: FUZZ_FLAGS="-runs=1000000" etc.; FUZZ_NO_BUILD=1 uses the binary already built
# (for several runs at once); FUZZ_CONFIG=debug builds unoptimised (a faster build, slower executions:
# what CI's short regression run uses). Exit status: 0 when nothing crashed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

harnesses="idx gzip png jpeg model keras h5 npy npz csv serving-json serving-binary"
replay_only=0
case "${1:-}" in
  --list) echo "$harnesses" | tr ' ' '\n'; exit 0 ;;
  --replay) replay_only=1; shift ;;
esac
which="${1:-all}"
seconds="${2:-10}"
if [ "$which" != all ]; then
  echo " $harnesses " | grep -q " $which " || { echo "unknown harness '$which' (one of: $harnesses)"; exit 2; }
  harnesses="$which"
fi

scratch=Fuzz/.build-fuzz
config="${FUZZ_CONFIG:-release}"
case "$config" in release|debug) ;; *) echo "FUZZ_CONFIG must be release or debug, not '$config'"; exit 2 ;; esac
start=$(date +%s)
if [ -n "${FUZZ_NO_BUILD:-}" ] && [ -x "$scratch/$config/fovea-fuzz" ]; then :; else
# libFuzzer's coverage instrumentation and AddressSanitizer, as -sanitize=fuzzer,address would give,
# but linked with libFuzzer's no-main runtime: SwiftPM gives the executable its own main, which calls
# LLVMFuzzerRunDriver (Fuzz/Sources/fovea-fuzz/main.swift).
runtime=$(ls "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -n 1)
[ -n "$runtime" ] || { echo "libFuzzer's runtime (libclang_rt.fuzzer_no_main) is not in this Swift toolchain"; exit 1; }
swift build -c "$config" --package-path Fuzz --scratch-path "$scratch" --product fovea-fuzz \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,indirect-calls,trace-cmp,inline-8bit-counters,pc-table \
  -Xcc -fsanitize=fuzzer-no-link,address -Xlinker "$runtime" -Xlinker -lstdc++ \
  2>&1 | grep -Ev 'warning: Cannot export local symbol' | tail -n 3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz build failed"; exit 1; }
echo "fuzz build ($config): $(( $(date +%s) - start )) s"
fi
bin="$scratch/$config/fovea-fuzz"

# Swift's crash backtracer would take seconds per crash; libFuzzer and ASan report instead.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0}"
failed=()
for h in $harnesses; do
  export FOVEA_FUZZ_HARNESS="$h"
  inputs=()
  for d in "Fuzz/Corpus/$h" "Fuzz/Regressions/$h"; do
    [ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f | sort)
  done
  if [ "$replay_only" -eq 0 ]; then
    mkdir -p "$scratch/corpus/$h" "$scratch/crashes/$h"
    log="$scratch/$h.log"
    # -rss_limit_mb: a decoder must refuse what does not fit, not reach for it.
    "$bin" "$scratch/corpus/$h" "Fuzz/Corpus/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$scratch/crashes/$h/" ${FUZZ_FLAGS:-} >"$log" 2>&1
    status=$?
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    final=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -E 's/ +/ /g')
    echo "$h: exit $status, ${runs:-?} runs; ${final}"
    if [ "$status" -ne 0 ]; then
      failed+=("$h"); grep -E 'ERROR|SUMMARY|Fatal error|deadly signal|out-of-memory|Test unit written' "$log" | head -n 8
    fi
  fi
  if [ ${#inputs[@]} -gt 0 ]; then
    "$bin" -runs=1 "${inputs[@]}" >"$scratch/$h.replay.log" 2>&1 \
      || { failed+=("$h (replay)"); echo "$h: a committed input crashes:"; grep -E 'Running:|ERROR|Fatal error|deadly' "$scratch/$h.replay.log" | tail -n 6; }
    [ "$replay_only" -eq 1 ] && echo "$h: replayed ${#inputs[@]} committed inputs"
  fi
done
echo "fuzz total: $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then echo "fuzz: FAILED: ${failed[*]}"; exit 1; fi
echo "fuzz: no crash"
