#!/usr/bin/env bash
# scripts/test.sh: everything CI checks, in order. Goes on through every section, then exits
# non-zero if anything failed; the last line is always "N passed, N failed".
#   1. gcc        g++, --werror -Dwarning_level=3, debugoptimized: build all, meson test
#   2. asan       clang-14 -O0, ASan + UBSan (aborting on the first report): meson test
#   3. tsan       clang-14 -O0, ThreadSanitizer: builds and runs only the suite 'threads'
#   4. format     clang-format-14 --dry-run -Werror over include/ examples/ tests/ benchmarks/
#   5. install    meson install into a temp prefix; pkg-config, meson and CMake consumers
# Each meson test, the format check and each install consumer count as one check; a build
# that does not configure or compile counts as one more failure. Build folders (build-ci-*)
# are reused when present. NETCO_CI_JOBS sets the parallelism (default: the number of CPUs).
# Arguments pick sections (scripts/test.sh asan format); none means all of them.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
jobs=${NETCO_CI_JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$root/build-ci-logs
mkdir -p "$logs"

passed=0
failed=0
timings=()
failures=()

section() { printf '\n======== %s ========\n' "$*"; }
note_failure() { failures+=("$1"); failed=$((failed + 1)); }
# timed NAME CMD...: runs a section and records how long it took
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%-8s %4ds' "$name" $((SECONDS - start)))")
}

# configure DIR ARGS...: meson setup, or for a DIR configured before, meson configure (meson
# 1.0's setup --reconfigure drops changed compiler options) and a regeneration. The
# environment (CC, CXX) only matters the first time: meson keeps the compiler it found.
configure() {
  local dir=$1
  shift
  local log=$logs/$dir-setup.log
  local what=setup
  if [[ -f "$dir/build.ninja" ]]; then
    what=reconfigure
    meson configure "$dir" "$@" >"$log" 2>&1 && ninja -C "$dir" build.ninja >>"$log" 2>&1
  else
    rm -rf "$dir"  # a setup that failed half way
    meson setup "$dir" "$@" >"$log" 2>&1
  fi
  local rc=$?
  if ((rc != 0)); then
    echo "meson $what of $dir failed:"
    tail -n 40 "$log"
  fi
  return $rc
}

# build DIR [TARGETS...]: ninja, going on past errors so every suite that compiles can run
build() {
  local dir=$1
  shift
  local start=$SECONDS
  ninja -C "$dir" -k 0 -j "$jobs" "$@" >"$logs/$dir-build.log" 2>&1
  local rc=$?
  if ((rc != 0)); then
    echo "build in $dir failed ($((SECONDS - start))s); the first errors:"
    grep -n -m 40 -E 'error|FAILED' "$logs/$dir-build.log"
    echo "(full log: $logs/$dir-build.log)"
  else
    echo "built $dir ($((SECONDS - start))s)"
  fi
  return $rc
}

# list_tests DIR [SUITE]: one line per test (of SUITE, or all): "built NAME FILES..." or
# "missing NAME FILES...", FILES being what it runs from DIR (programs, and arguments that
# name built files, such as an example an interop test drives)
list_tests() {
  meson introspect "$1" --targets --tests | python3 -c '
import json, os, sys
build, suite = os.path.realpath(sys.argv[1]), sys.argv[2]
info = json.load(sys.stdin)
by_id = {t["id"]: [os.path.realpath(f) for f in t["filename"]] for t in info["targets"]}
outputs = {f for fs in by_id.values() for f in fs}
for t in info["tests"]:
    if suite and not any(s == suite or s.endswith(":" + suite) for s in t["suite"]):
        continue
    # Built targets only (an argument may also name a file the test writes): the program,
    # arguments naming targets (meson passes those relative to the build dir), depends.
    files = {os.path.realpath(os.path.join(build, a)) for a in t["cmd"]}
    files = (files & outputs).union(*(by_id.get(d, []) for d in t.get("depends", [])))
    files = sorted(files)
    state = "built" if all(os.path.exists(f) for f in files) else "missing"
    print(state, t["name"], *(os.path.relpath(f, build) for f in files))
' "$1" "${2:-}"
}

# run_tests DIR SUITE [MESON-TEST-ARGS...]: meson test without rebuilding, on the tests of
# SUITE ("" for all) whose programs were built (meson runs none when one is missing; those
# count as failed). Adds the results to the counts, from meson's testlog.json: OK and
# EXPECTEDFAIL pass, SKIP counts neither way.
run_tests() {
  local dir=$1 suite=$2
  shift 2
  local built=() missing=() state name rest
  while read -r state name rest; do
    if [[ $state == built ]]; then built+=("$name"); else missing+=("$name"); fi
  done < <(list_tests "$dir" "$suite")
  if ((${#missing[@]})); then
    echo "not built, counted as failed: ${missing[*]}"
    failed=$((failed + ${#missing[@]}))
    failures+=("$dir: not built: ${missing[*]}")
  fi
  if ((${#built[@]} == 0)); then
    echo "$dir: no test to run"
    return
  fi
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes "$jobs" "$@" "${built[@]}"
  local counts
  counts=$(python3 - "$dir/meson-logs/testlog.json" <<'EOF'
import json, sys
ok = bad = 0
names = []
try:
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            if t["result"] in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif t["result"] != "SKIP":
                bad += 1
                names.append(t["name"].replace(" ", ""))
except FileNotFoundError:
    pass
print(ok, bad, " ".join(names))
EOF
  )
  local ok bad names
  read -r ok bad names <<<"$counts"
  if ((ok + bad == 0)); then  # meson test failed before it ran anything
    bad=${#built[@]}
    names="${built[*]}"
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  [[ -n "$names" ]] && failures+=("$dir: $names")
  echo "$dir: $ok passed, $bad failed"
}

# ---------------------------------------------------------------------------------------------
setup_section() {
  section "setup"
  if ! bash scripts/setup.sh; then
    echo "setup.sh failed; going on with what is installed"
    note_failure "setup.sh"
  fi
}

gcc_section() {
  section "gcc: g++ --werror -Dwarning_level=3 debugoptimized"
  local dir=build-ci-gcc
  CC=gcc CXX=g++ configure "$dir" -Dwerror=true -Dwarning_level=3 -Dbuildtype=debugoptimized ||
    { note_failure "$dir: meson setup"; return; }
  build "$dir" || note_failure "$dir: build"
  run_tests "$dir" ""
}

asan_section() {
  section "asan: clang-14 -fsanitize=address,undefined"
  local dir=build-ci-asan
  # Examples are built too (the interop tests run them); benchmarks are not. -O0: a test
  # program compiles 3-4 times faster than at -O2 under ASan and runs about as fast.
  # NOTE: -fno-sanitize=function: clang 14's function-type check cannot compile coroutines
  # ("error: Cannot represent a difference across sections", llvm/llvm-project#54153).
  CC=clang-14 CXX=clang++-14 configure "$dir" -Dbuildtype=debug \
    -Db_sanitize=address,undefined -Db_lundef=false \
    "-Dcpp_args=['-fno-sanitize-recover=all', '-fno-sanitize=function']" \
    -Dbenchmarks=disabled || { note_failure "$dir: meson setup"; return; }
  build "$dir" || note_failure "$dir: build"
  ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:strict_string_checks=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1 \
    run_tests "$dir" "" --timeout-multiplier 3
}

tsan_section() {
  section "tsan: clang-14 -fsanitize=thread, suite 'threads'"
  local dir=build-ci-tsan
  CC=clang-14 CXX=clang++-14 configure "$dir" -Dbuildtype=debug \
    -Db_sanitize=thread -Db_lundef=false -Dexamples=false -Dbenchmarks=disabled ||
    { note_failure "$dir: meson setup"; return; }
  # Build only what the suite needs: the programs its tests run.
  local tests
  tests=$(list_tests "$dir" threads)
  if [[ -z "$tests" ]]; then
    echo "skipped: no test is in suite 'threads' yet"
    return
  fi
  # shellcheck disable=SC2046  # one target per word
  build "$dir" $(cut -d' ' -f3- <<<"$tests" | tr ' ' '\n' | sort -u) ||
    note_failure "$dir: build"
  # NOTE: clang 14's TSan dies with "unexpected memory mapping" on kernels that randomise
  # mmap with more than 28 bits (vm.mmap_rnd_bits); running without ASLR avoids it.
  local wrapper=()
  if (($(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) > 28)) &&
    setarch "$(uname -m)" -R true 2>/dev/null; then
    wrapper=(--wrapper "setarch $(uname -m) -R")
  fi
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4 \
    run_tests "$dir" threads --timeout-multiplier 5 "${wrapper[@]}"
}

format_section() {
  section "format: clang-format-14 --dry-run -Werror"
  local dirs=() d
  for d in include examples tests benchmarks; do [[ -d $d ]] && dirs+=("$d"); done
  local files=()
  mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.hpp' -o -name '*.cpp' \) | sort)
  local out
  if out=$(clang-format-14 --style=file --dry-run -Werror "${files[@]}" 2>&1); then
    echo "${#files[@]} files formatted as .clang-format says"
    passed=$((passed + 1))
  else
    head -n 30 <<<"$out"
    echo "..."
    local bad
    bad=$(grep -oE '^[^: ]+\.[ch]pp(:[0-9]+){2}: error' <<<"$out" | cut -d: -f1 | uniq -c)
    echo "not formatted (violations per file):"
    echo "$bad"
    echo "fix with: clang-format-14 -i $(awk '{print $2}' <<<"$bad" | paste -sd' ')"
    note_failure "format"
  fi
}

install_section() {
  section "install: meson install + pkg-config, meson and CMake consumers"
  local out rc
  out=$(CXX=g++ bash tests/install/check.sh 2>&1)
  rc=$?
  echo "$out"
  local ok bad
  ok=$(grep -c '^install check: .*: PASS$' <<<"$out")
  bad=$(grep -c '^install check: .*: FAIL' <<<"$out")
  # "meson install" is a step, not a consumer: it counts only when it fails.
  grep -q '^install check: meson install: PASS$' <<<"$out" && ok=$((ok - 1))
  if ((rc != 0 && bad == 0)); then bad=1; fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  ((bad)) && failures+=("install: $(grep '^install check: .*: FAIL' <<<"$out" | cut -d: -f2 | paste -sd,)")
}

all_sections=(gcc asan tsan format install)
wanted=("$@")
((${#wanted[@]})) || wanted=("${all_sections[@]}")
for s in "${wanted[@]}"; do
  if [[ " ${all_sections[*]} " != *" $s "* ]]; then
    echo "test.sh: unknown section '$s' (sections: ${all_sections[*]})" >&2
    exit 2
  fi
done

total_start=$SECONDS
timed setup setup_section
for s in "${all_sections[@]}"; do
  [[ " ${wanted[*]} " == *" $s "* ]] && timed "$s" "${s}_section"
done

section "summary"
printf '%s\n' "${timings[@]}"
printf '%-8s %4ds\n' total $((SECONDS - total_start))
if ((${#failures[@]})); then
  echo "failed:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
