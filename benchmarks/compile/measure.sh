#!/usr/bin/env bash
# benchmarks/compile/measure.sh: what including netco costs a user's build. Compiles each
# translation unit (-c, -O2, -std=c++20) with g++ and clang++-14 under /usr/bin/time -v, REPS
# times, and prints the median wall time, CPU time (user + sys) and peak memory (RSS) of the
# compiler, with ratios to the load kit's Asio coroutine echo server compiled the same way.
#
#   benchmarks/compile/measure.sh [-r REPS] [-o OUT.md] [--quick] [--no-variants]
#
# Units: examples/echo_server.cpp, examples/echo_events.cpp and examples/http_hello.cpp (those
# that exist), a file that only includes <netco/netco.hpp>, and benchmarks/kit's asio_coro_echo.cpp
# (the baseline), asio_cb_echo.cpp and asio_coro_http.cpp (http_hello's counterpart). CPU time is the steadier figure on a busy machine.
# Environment: KIT_SRC (default benchmarks/kit), COMPILERS (default "g++ clang++-14").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
reps=3 out="" variants=1
while (($#)); do
  case $1 in
    -r) reps=$2; shift ;;
    -o) out=$2; shift ;;
    --quick) reps=1 ;;
    --no-variants) variants=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "measure.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
kit=${KIT_SRC:-$root/benchmarks/kit}
compilers=${COMPILERS:-"g++ clang++-14"}
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

tmp=$(mktemp -d -t netco-compile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A snapshot of the sources: edits made while it runs must not change what is measured (and
# would invalidate the precompiled header).
cp -r include examples "$tmp/"
mkdir -p "$tmp/src" && cp src/netco_separate.cpp "$tmp/src/"
printf '// only the umbrella header: the floor of every netco user\n#include <netco/netco.hpp>\nint main() {}\n' \
  >"$tmp/include_netco.cpp"

# A unit is NAME=SOURCE[|EXTRA-FLAGS]. Variants of netco's units: "+sep" compiles them with
# NETCO_SEPARATE_COMPILATION (Asio's out-of-line code then lives in src/netco_separate.cpp,
# measured once as "netco_separate.cpp(once)"), "+sep+pch" also with a precompiled
# <netco/netco.hpp> (its one-time cost is "netco_pch(once)"). --no-variants: neither.
examples=()
for ex in echo_server echo_events http_hello; do
  [[ -f examples/$ex.cpp ]] && examples+=("$ex=$tmp/examples/$ex.cpp")
done
examples+=("include_netco_only=$tmp/include_netco.cpp")
units=("${examples[@]}")
if ((variants)); then
  for u in "${examples[@]}"; do units+=("${u%%=*}+sep=${u#*=}|sep"); done
  units+=("netco_separate.cpp(once)=$tmp/src/netco_separate.cpp|sep" "netco_pch(once)=PCH|sep")
  for u in "${examples[@]}"; do units+=("${u%%=*}+sep+pch=${u#*=}|sep pch"); done
fi
units+=("asio_coro_echo(kit)=$kit/asio_coro_echo.cpp" "asio_cb_echo(kit)=$kit/asio_cb_echo.cpp"
       "asio_coro_http(kit)=$kit/asio_coro_http.cpp")
baseline="asio_coro_echo(kit)"
mkdir -p "$tmp/pch"
printf '#include <netco/netco.hpp>\n' >"$tmp/pch/netco_pch.hpp"

# one compile: prints "wall_s cpu_s rss_kb"
measure() {  # $1 = compiler, $2 = source, $3 = variant words (sep, pch)
  local flags=(-std=c++20 -O2 -DASIO_NO_DEPRECATED -I "$tmp/include" -pthread)
  # NOTE: Asio 1.22 enables awaitable under clang only with these (it knows gcc's coroutines).
  [[ $1 == clang* ]] && flags+=(-DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1)
  [[ " $3 " == *" sep "* ]] && flags+=(-DNETCO_SEPARATE_COMPILATION)
  local src=$2 out=$tmp/out.o
  if [[ $src == PCH ]]; then  # the precompiled header itself, with the flags of its users
    src=$tmp/pch/netco_pch.hpp out=$tmp/pch/netco_pch.hpp.$(pch_ext "$1")
    flags+=(-x c++-header)
  else
    flags+=(-c)
    if [[ " $3 " == *" pch "* && $1 == clang* ]]; then
      flags+=(-include-pch "$tmp/pch/netco_pch.hpp.pch")
    elif [[ " $3 " == *" pch "* ]]; then
      flags+=(-include "$tmp/pch/netco_pch.hpp" -Winvalid-pch)  # g++ takes the .gch beside it
    fi
  fi
  /usr/bin/time -v -o "$tmp/time.txt" "$1" "${flags[@]}" "$src" -o "$out" 2>"$tmp/cc.err" ||
    { echo "compile failed: $1 $2 ($3)" >&2; cat "$tmp/cc.err" >&2; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + t[i] }
              /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { r = $2 }
              END { printf "%.3f %.3f %d\n", w, u + s, r }' "$tmp/time.txt"
}

pch_ext() { if [[ $1 == clang* ]]; then echo pch; else echo gch; fi; }

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

report=$tmp/report.md
{
  echo "compile cost, $(date -u +%F), $(nproc) vCPUs, load $(cut -d' ' -f1-3 /proc/loadavg); median of $reps;"
  echo "flags: -std=c++20 -O2 -DASIO_NO_DEPRECATED -c (clang: + -DASIO_HAS_CO_AWAIT=1 -DASIO_HAS_STD_COROUTINE=1);"
  echo "ratios to $baseline. Asio $(dpkg-query -W -f='${Version}' libasio-dev 2>/dev/null || echo '?')."
} >"$report"
for cc in $compilers; do
  command -v "$cc" >/dev/null || { echo "($cc not found: skipped)" >&2; continue; }
  declare -A W=() C=() R=()
  for u in "${units[@]}"; do
    name=${u%%=*} src=${u#*=}
    : >"$tmp/samples"
    for ((i = 1; i <= reps; i++)); do
      measure "$cc" "${src%%|*}" "$([[ $src == *'|'* ]] && echo "${src#*|}")" >>"$tmp/samples"
      printf '  %-10s %-22s run %d: %s\n' "$cc" "$name" "$i" "$(tail -n 1 "$tmp/samples")" >&2
    done
    W[$name]=$(awk '{print $1}' "$tmp/samples" | median)
    C[$name]=$(awk '{print $2}' "$tmp/samples" | median)
    R[$name]=$(awk '{print $3}' "$tmp/samples" | median)
  done
  {
    echo
    echo "#### $($cc --version | head -n 1)"
    echo
    echo "| unit | wall s | CPU s | peak RSS MiB | wall ratio | CPU ratio | RSS ratio |"
    echo "|---|---|---|---|---|---|---|"
    for u in "${units[@]}"; do
      name=${u%%=*}
      awk -v n="$name" -v w="${W[$name]}" -v c="${C[$name]}" -v r="${R[$name]}" \
          -v bw="${W[$baseline]}" -v bc="${C[$baseline]}" -v br="${R[$baseline]}" \
          'BEGIN { printf "| %s | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f |\n", n, w, c, r / 1024, w / bw, c / bc, r / br }'
    done
  } >>"$report"
  unset W C R
done
cat "$report"
if [[ -n $out ]]; then cp "$report" "$out"; echo "written to $out" >&2; fi
