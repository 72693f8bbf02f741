#!/usr/bin/env bash
# tests/install/check.sh: installs netco into a temporary prefix, then builds and runs an outside
# project against it three ways: plain compiler + pkg-config, meson's dependency('netco'), and
# CMake's find_package(netco). Prints one "install check: <way>: PASS|FAIL" line per way and
# exits with the number of failures. Uses $CXX if set (default c++). Keep the temp dir with
# NETCO_KEEP_TMP=1.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
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
check_output() {  # check_output PROGRAM: runs it and wants exactly "ok"
  local out
  out=$(timeout 30 "$1" 2>>"$log") || { echo "$1 exited $?" >>"$log"; return 1; }
  [[ "$out" == ok ]] || { echo "$1 printed '$out', want 'ok'" >>"$log"; return 1; }
}

# 1. meson install into the temporary prefix (headers, netco.pc, CMake package config).
: >"$log"
(
  run meson setup "$tmp/build" "$root" --prefix="$prefix" \
    -Dtests=false -Dexamples=false -Dbenchmarks=disabled &&
    run meson install -C "$tmp/build" &&
    run diff -r "$root/include/netco" "$prefix/include/netco"
)
report "meson install" $?
if ((failed)); then
  echo "install check: nothing to build against"
  exit "$failed"
fi

# Wherever libdir/datadir put them (lib/x86_64-linux-gnu on Debian, lib, lib64, share).
pc_dirs=$(find "$prefix" -name netco.pc -printf '%h:')
export PKG_CONFIG_PATH=${pc_dirs}${PKG_CONFIG_PATH:-}
export CMAKE_PREFIX_PATH=$prefix

# 2. A plain compiler command line with pkg-config's flags, as a Makefile would do.
: >"$log"
(
  set -e
  run pkg-config --exists --print-errors netco
  run pkg-config --modversion netco
  # shellcheck disable=SC2046  # word splitting of the flags is the point
  run "$CXX" -std=c++20 $(pkg-config --cflags netco) "$here/main.cpp" -o "$tmp/app-pc" \
    $(pkg-config --libs netco)
  check_output "$tmp/app-pc"
)
report "pkg-config + $CXX" $?

# 3. meson: dependency('netco') through pkg-config.
: >"$log"
(
  set -e
  run meson setup "$tmp/meson-app" "$here"
  run meson compile -C "$tmp/meson-app"
  check_output "$tmp/meson-app/app"
)
report "meson dependency('netco')" $?

# 4. CMake: find_package(netco) and the netco::netco target.
: >"$log"
(
  set -e
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  run cmake -S "$here" -B "$tmp/cmake-app" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release
  run cmake --build "$tmp/cmake-app"
  check_output "$tmp/cmake-app/app"
)
report "cmake find_package(netco)" $?

exit "$failed"
