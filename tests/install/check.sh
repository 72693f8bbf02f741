#!/usr/bin/env bash
# tests/install/check.sh: installs netco and builds outside projects against it exactly as
# README.md's "Build, install, use from your project" says: the README's own code blocks (each
# after an "<!-- install-check: NAME -->" line) are extracted and run, with only the prefix
# ($HOME/.local becomes a temporary folder) and the netco build folder changed, and `c++` at
# the start of a command line read as $CXX (default c++). The consumers' program is
# tests/install/main.cpp, which prints "ok". Prints one "install check: <way>: PASS|FAIL" line
# per way and exits with the number of failures. Keep the temp dir with NETCO_KEEP_TMP=1.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
readme=$root/README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/netco-install.XXXXXX")
if [[ "${NETCO_KEEP_TMP:-0}" == 1 ]]; then
  echo "install check: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
prefix=$tmp/prefix
log=$tmp/log
export CXX=${CXX:-c++}

failed=0
report() {  # report NAME STATUS
  if (($2 == 0)); then
    echo "install check: $1: PASS"
  else
    echo "install check: $1: FAIL (log follows)"
    sed 's/^/    /' "$log" | tail -n 60
    failed=$((failed + 1))
  fi
}
# run CMD...: appends the command and its output to $log
run() {
  echo "+ $*" >>"$log"
  "$@" >>"$log" 2>&1
}
# block NAME: the README's code block marked "<!-- install-check: NAME -->"; fails if absent
block() {
  local text
  text=$(awk -v mark="<!-- install-check: $1 -->" '
    $0 == mark { state = 1; next }
    state == 1 && /^```/ { state = 2; next }
    state == 2 && /^```/ { exit }
    state == 2 { print }' "$readme")
  if [[ -z $text ]]; then
    echo "README.md has no code block marked <!-- install-check: $1 -->" >>"$log"
    return 1
  fi
  # The README's prefix becomes ours; a line that starts with the compiler uses $CXX.
  # shellcheck disable=SC2016  # "$CXX" is expanded when the block runs, not here
  sed -e "s#\$HOME/\.local#$prefix#g" -e 's#^c++ #"$CXX" #' <<<"$text"
}
# consumer DIR FILE...: a fresh project folder holding main.cpp and the README's FILEs
consumer() {
  local name=$1 dir=$tmp/$1 f
  shift
  mkdir -p "$dir" && cp "$here/main.cpp" "$dir/" || return 1
  for f in "$@"; do
    block "$name/$f" >"$dir/$f" 2>>"$log" || return 1
    echo "--- $name/$f" >>"$log"
    cat "$dir/$f" >>"$log"
  done
}
# build_and_run DIR [BLOCK]: runs the README's BLOCK (default DIR/build.sh) in DIR; its last
# line of output must be "ok"
build_and_run() {
  local dir=$tmp/$1 script out
  script=$(block "${2:-$1/build.sh}") || return 1
  echo "+ (cd $dir; $script)" >>"$log"
  out=$(cd "$dir" && timeout 600 bash -e -c "$script" 2>>"$log") || {
    echo "the build or the program failed" >>"$log"
    return 1
  }
  echo "$out" >>"$log"
  [[ $(tail -n 1 <<<"$out") == ok ]] || { echo "the program did not print 'ok'" >>"$log"; return 1; }
}

# 1. The README's install block, run in the source tree (the build folder made a temporary one).
: >"$log"
(
  set -e
  install=$(block install.sh)
  install=$(sed -e "s#^meson setup build #meson setup \"$tmp/build\" #" \
    -e "s#^meson install -C build#meson install -C \"$tmp/build\"#" <<<"$install")
  echo "+ $install" >>"$log"
  # What the block exports is what the consumers below get.
  (cd "$root" && bash -e -c "$install"$'\n'"declare -px PKG_CONFIG_PATH CMAKE_PREFIX_PATH >'$tmp/env'") \
    >>"$log" 2>&1
  run diff -r "$root/include/netco" "$prefix/include/netco"
  # Where the README says the package files go.
  run test -f "$prefix/share/pkgconfig/netco.pc"
  run test -f "$prefix/share/cmake/netco/netcoConfig.cmake"
  if pkg-config --exists 'openssl >= 3.0'; then run test -f "$prefix/share/pkgconfig/netco-tls.pc"; fi
)
report "meson install" $?
if ((failed)); then
  echo "install check: nothing to build against"
  exit "$failed"
fi
# shellcheck disable=SC1091  # written by the install step
source "$tmp/env"

# 2. A plain compiler command line with pkg-config's flags.
: >"$log"
consumer pkg-config && build_and_run pkg-config
report "pkg-config + $CXX" $?

# 3. meson: dependency('netco') through pkg-config.
: >"$log"
consumer meson meson.build && build_and_run meson
report "meson dependency('netco')" $?

# 4. CMake: find_package(netco) and the netco::netco target.
: >"$log"
consumer cmake CMakeLists.txt && build_and_run cmake
report "cmake find_package(netco)" $?

# 5. CMake, separate compilation: netco::separate and the one netco.cpp.
: >"$log"
# The README builds it with the same commands as the plain CMake consumer.
consumer separate CMakeLists.txt netco.cpp && build_and_run separate cmake/build.sh
report "cmake netco::separate" $?

# 6. CMake without Asio: find_package must fail and say what to install.
: >"$log"
(
  cd "$tmp/cmake" || exit 1
  mkdir -p "$tmp/no-asio"
  if cmake -S . -B "$tmp/cmake-no-asio" -DNETCO_ASIO_INCLUDE_DIR="$tmp/no-asio" >>"$log" 2>&1; then
    echo "cmake configured although Asio is not where NETCO_ASIO_INCLUDE_DIR says" >>"$log"
    exit 1
  fi
  # CMake wraps the message: compare it with its lines joined.
  tr -s ' \n' '  ' <"$log" | grep -q 'apt-get install libasio-dev' ||
    { echo "cmake failed without saying how to get Asio" >>"$log"; exit 1; }
)
report "cmake without Asio: a clear error" $?

exit "$failed"
