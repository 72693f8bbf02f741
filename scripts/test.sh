#!/usr/bin/env bash
# scripts/test.sh: everything CI checks, in order. Goes on through every section, then exits
# non-zero if anything failed; the last line is always "N passed, N failed".
#   1. gcc        g++, --werror -Dwarning_level=3, debugoptimized: build all, meson test
#   2. asan       clang-14 -O0, ASan + UBSan (aborting on the first report): meson test
#   3. tsan       clang-14 -O0, ThreadSanitizer: builds and runs only the suite 'threads'
#   3b. uring     netco's io_uring engine: the gcc build's tests that do I/O again, the I/O suites
#                 of the asan build and the tsan build's suite, with NETCO_ENGINE=io_uring;
#                 skipped without liburing-dev or when io_uring_setup is refused
#   3c. portable  g++ -DNETCO_PORTABLE_READS (reads through Asio's public API only): the net,
#                 stream and http suites
#   4. format     clang-format-14 --dry-run -Werror over include/ examples/ tests/ benchmarks/;
#                 the generated docs (Node name table, include graph) match the headers;
#                 README.md and docs/ use no internal words (scripts/check_docs.sh)
#   5. install    meson install into a temp prefix; pkg-config, meson and CMake consumers
#   6. fuzz       clang-14 libFuzzer + ASan/UBSan: every target in tests/fuzz for
#                 NETCO_FUZZ_SECONDS (default 60) each, two at a time (about 2-3 minutes)
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
# SUITE ("" for all; ONLY="names" narrows it to those tests) whose programs were built (meson runs none when one is missing; those
# count as failed). Adds the results to the counts, from meson's testlog.json: OK and
# EXPECTEDFAIL pass, SKIP counts neither way.
run_tests() {
  local dir=$1 suite=$2
  shift 2
  local built=() missing=() state name rest
  while read -r state name rest; do
    # ONLY="a b": just those tests (a section that builds a few suites of a full tree)
    [[ -n ${ONLY:-} && " $ONLY " != *" $name "* ]] && continue
    # EXCEPT="a b": all but those
    [[ -n ${EXCEPT:-} && " $EXCEPT " == *" $name "* ]] && continue
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

# npm_deps DIR: the npm packages the interop tests run against (the ws package), into DIR/npm
# (never committed; npm is the one registry besides Debian's). Without npm they skip.
npm_deps() {
  local dir=$1
  [[ -d $dir/npm/node_modules/ws ]] && return 0
  command -v npm >/dev/null 2>&1 || { echo "npm missing: the ws interop tests will skip"; return 0; }
  npm install --prefix "$dir/npm" --no-audit --no-fund --silent ws@8 >"$logs/$dir-npm.log" 2>&1 ||
    echo "npm install ws failed (see $logs/$dir-npm.log): the ws interop tests will skip"
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
  npm_deps "$dir"
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
  npm_deps "$dir"
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
  run_tsan_tests "$dir"
}

# run_tsan_tests DIR: the suite 'threads' of a TSan build
run_tsan_tests() {
  # NOTE: clang 14's TSan dies with "unexpected memory mapping" on kernels that randomise
  # mmap with more than 28 bits (vm.mmap_rnd_bits); running without ASLR avoids it.
  local wrapper=()
  if (($(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) > 28)) &&
    setarch "$(uname -m)" -R true 2>/dev/null; then
    wrapper=(--wrapper "setarch $(uname -m) -R")
  fi
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4 \
    run_tests "$1" threads --timeout-multiplier 5 "${wrapper[@]}"
}

uring_section() {
  section "uring: the gcc build's suites again on netco's io_uring engine (NETCO_ENGINE=io_uring)"
  local dir=build-ci-gcc
  # NOTE: containers often block io_uring_setup (seccomp, kernel.io_uring_disabled); loops
  # would then run on Asio (saying so once), so the section says so and skips.
  if ! pkg-config --exists liburing; then
    echo "skipped: liburing-dev is not installed (scripts/setup.sh installs it)"
    return
  fi
  if ! python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)  # struct io_uring_params
fd = libc.syscall(425, 4, params)  # io_uring_setup(4 entries)
sys.exit(1 if fd < 0 else 0)'; then
    echo "skipped: this kernel or container refuses io_uring_setup"
    return
  fi
  # The engine is chosen at run time: the gcc section's programs, unchanged (built here if
  # this section runs alone). NETCO_TEST_REQUIRE_URING makes test_loop fail if a loop fell
  # back to Asio, so a silent fallback cannot pass for the engine.
  if [[ ! -f "$dir/build.ninja" ]]; then
    CC=gcc CXX=g++ configure "$dir" -Dwerror=true -Dwarning_level=3 -Dbuildtype=debugoptimized ||
      { note_failure "$dir: meson setup"; return; }
  fi
  build "$dir" || note_failure "$dir: build"
  npm_deps "$dir"
  # All but what does no I/O (protocol cores, compile checks), which the engine cannot change.
  local no_io=(task when_all http_parser events ws_error ws_frame ws_utf8 ws_handshake ws_deflate
               ws_codec ws_codec_alloc tls_error tls_certificate tls_self_signed tls_context
               tls_engine tls_alloc tls_separate ws_codec_separate timers_refused events_refused
               url url_differential http_differential headers separate_compilation)
  NETCO_ENGINE=io_uring NETCO_TEST_REQUIRE_URING=1 EXCEPT="${no_io[*]}" run_tests "$dir" ""
  # And the suites that do I/O under ASan/UBSan, where the asan section built them.
  local asan=build-ci-asan
  if [[ -f "$asan/build.ninja" ]]; then
    local suites=(loop timer timers tcp local udp serve net net_alloc dgram fs http http_alloc
                  signal shutdown faults worker_pool cluster ws_socket ws_server ws_client
                  tls_stream tls_socket https)
    NETCO_ENGINE=io_uring NETCO_TEST_REQUIRE_URING=1 \
      ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1 \
      UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1 \
      ONLY="${suites[*]}" run_tests "$asan" "" --timeout-multiplier 3
  fi
  # And the suite 'threads' under TSan, where the tsan section built it.
  if [[ -f build-ci-tsan/build.ninja ]]; then
    NETCO_ENGINE=io_uring NETCO_TEST_REQUIRE_URING=1 run_tsan_tests build-ci-tsan
  fi
}

portable_section() {
  section "portable: g++ -DNETCO_PORTABLE_READS (no Asio reactor internals)"
  local dir=build-ci-portable
  CC=gcc CXX=g++ configure "$dir" -Dwerror=true -Dwarning_level=3 -Dbuildtype=debugoptimized \
    "-Dcpp_args=['-DNETCO_PORTABLE_READS']" -Dexamples=false -Dbenchmarks=disabled ||
    { note_failure "$dir: meson setup"; return; }
  local suites=(net net_alloc tcp local serve http http_alloc)
  local targets=() t
  for t in "${suites[@]}"; do targets+=("tests/test_$t"); done
  build "$dir" "${targets[@]}" || note_failure "$dir: build"
  ONLY="${suites[*]}" run_tests "$dir" ""
}

format_section() {
  section "format: clang-format-14 --dry-run -Werror"
  local dirs=() d
  for d in include examples tests benchmarks; do [[ -d $d ]] && dirs+=("$d"); done
  local files=()
  mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.hpp' -o -name '*.ipp' -o -name '*.cpp' \) | sort)
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
  local script
  for script in scripts/node_table.py scripts/include_graph.py; do
    if python3 "$script" --check; then
      passed=$((passed + 1))
    else
      note_failure "$script --check (run it to regenerate the docs)"
    fi
  done
  # The user docs carry no words of the project's internal workflow (seed ids, ../shared ...).
  if bash scripts/check_docs.sh; then
    passed=$((passed + 1))
  else
    note_failure "scripts/check_docs.sh (internal words in README.md or docs/)"
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

fuzz_section() {
  section "fuzz: clang-14 libFuzzer + ASan/UBSan, ${NETCO_FUZZ_SECONDS:-60} s per target"
  # Each target counts as one check; a crash leaves its input in build-ci-fuzz/fuzz-artifacts.
  local out
  out=$(BUILD_DIR=$root/build-ci-fuzz PARALLEL=2 NINJA_JOBS=$jobs \
    sh tests/fuzz/run.sh all "${NETCO_FUZZ_SECONDS:-60}" 2>&1)
  local rc=$?
  grep -E '^(fuzz |  )|FAILED|error:' <<<"$out" | tail -n 80
  local ok bad
  ok=$(grep -c '^fuzz .*: PASS' <<<"$out")
  bad=$(grep -c '^fuzz .*: FAIL' <<<"$out")
  if ((rc != 0 && bad == 0)); then  # it did not get as far as running them
    tail -n 30 <<<"$out"
    bad=1
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  ((bad)) && failures+=("fuzz: $(grep '^fuzz .*: FAIL' <<<"$out" | cut -d: -f1 | cut -c6- | paste -sd,)")
}

all_sections=(gcc asan tsan uring portable format install fuzz)
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
