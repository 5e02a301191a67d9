#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer (docs/RELIABILITY.md, "ThreadSanitizer").
#
#   scripts/tsan.sh [swift test arguments]   e.g. scripts/tsan.sh --filter ServingTests
#
# Builds the library, the `fovea` executable and every test target with -sanitize=thread (release:
# the numeric tests stay fast) into .build-tsan, then runs the suite. Every process's reports — the
# test runner's and those of the TSan-built `fovea` executables the CLI tests start — are written to
# .build-tsan/tsan-reports/report.<pid> (TSan's log_path; a report inside a child process would
# otherwise only reach the file the test captures). Prints the number of reports and the first
# lines of each; exit status 1 when there is any report or the suite fails.
# TSAN_NO_BUILD=1 uses the build already in .build-tsan. Extra TSan flags: TSAN_EXTRA="a=1:b=2".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scratch=.build-tsan

if [ -z "${TSAN_NO_BUILD:-}" ]; then
  start=$(date +%s)
  swift build -c release --build-tests --sanitize=thread --scratch-path "$scratch" 2>&1 | tail -n 3
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "tsan: the build failed"; exit 1; }
  echo "tsan: build $(( $(date +%s) - start )) s"
fi

reports="$PWD/$scratch/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
# halt_on_error=0: report every race, not only the first. report_signal_unsafe=0: the crash
# backtracer and XCTest's signal handlers call functions TSan flags as async-signal-unsafe; that is
# not a data race. suppressions: scripts/tsan.supp holds third-party/toolchain reports only (each
# with the reason it is not Fovea's race).
export TSAN_OPTIONS="halt_on_error=0:report_signal_unsafe=0:log_path=$reports/report:suppressions=$PWD/scripts/tsan.supp${TSAN_EXTRA:+:$TSAN_EXTRA}"

start=$(date +%s)
log="$reports/suite.log"
swift test -c release --sanitize=thread --scratch-path "$scratch" --skip-build "$@" > "$log" 2>&1
status=$?
seconds=$(( $(date +%s) - start ))
summary=$(grep -E 'Executed [0-9]+ tests?, with ' "$log" | tail -n 1)
grep -E "error: |failed \(" "$log" | head -n 40

count=$( (cat "$reports"/report.* 2>/dev/null || true) | grep -c 'WARNING: ThreadSanitizer')
if [ "$count" -gt 0 ]; then
  echo "tsan: the reports' summaries (full reports in $reports/report.*):"
  cat "$reports"/report.* | grep -E '^SUMMARY: ThreadSanitizer' | sort | uniq -c | sort -rn | head -n 40
fi
echo "tsan: suite ${seconds} s (exit $status); ${summary:-no XCTest summary found}"
echo "tsan: $count ThreadSanitizer reports"
[ "$count" -eq 0 ] || exit 1
[ "$status" -eq 0 ] && [ -n "$summary" ] || exit 1
exit 0
