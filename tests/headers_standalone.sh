#!/usr/bin/env bash
# tests/headers_standalone.sh INCLUDE_DIR COMPILER... : every public header compiles on its own,
# first in a translation unit, with the project's warnings as errors. A header that leans on
# another being included before it (or that includes Asio before netco configures it) fails.
set -euo pipefail
include_dir=$1
shift
check() {  # header path relative to include_dir; the compiler command follows
  local header=$1
  shift
  local defines=()
  [[ $header == netco/impl/src.hpp ]] && defines=(-DNETCO_SEPARATE_COMPILATION)
  if ! out=$(printf '#include <%s>\n' "$header" |
    "$@" -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror "${defines[@]}" \
      -I"$include_dir" -x c++ - 2>&1); then
    printf 'FAILED: %s\n%s\n' "$header" "$out"
    return 1
  fi
  echo "ok: $header"
}
export -f check
export include_dir
cd "$include_dir"
find netco -name '*.hpp' -not -path 'netco/detail/*' | sort |
  xargs -P 2 -I{} bash -c 'check "$@"' _ {} "$@"
