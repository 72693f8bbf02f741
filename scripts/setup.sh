#!/usr/bin/env bash
# scripts/setup.sh: installs what netco needs to build, test and lint (Debian 12 / apt-get).
# Idempotent and fast: asks dpkg first and runs apt-get only for what is missing.
#   scripts/setup.sh           compilers, Asio, doctest, meson, cmake, sanitizer runtimes, tools
#   scripts/setup.sh --bench   also what the load benchmarks (benchmarks/run.sh, benchmarks/kit) use
set -euo pipefail

want=(g++ clang-14 libclang-rt-14-dev libasio-dev doctest-dev meson ninja-build libbenchmark-dev
      cmake pkg-config python3 curl clang-format-14 nginx)
want+=(liburing-dev)  # meson -Dio_uring=enabled (the loop on io_uring; CI section "uring")
want+=(libssl-dev openssl zlib1g-dev)  # TLS (-Dtls, OpenSSL 3) and permessage-deflate (-Dws_deflate)
want+=(chromium)  # a real browser for the WebSocket chat page's interop test (headless)
for arg in "$@"; do
  case "$arg" in
    # the kit's baselines (libuv, Boost.Beast headers; nginx is above), its drivers (make, wrk,
    # openssl s_time, taskset, ss, ps, /usr/bin/time) and profile.sh's perf, strace, valgrind
    --bench) want+=(make libuv1-dev libboost1.81-dev wrk openssl util-linux iproute2 procps time
                    linux-perf strace valgrind) ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done
# Node.js is used by interop tests; the machines have it already, so only fill the gap.
command -v node >/dev/null 2>&1 || want+=(nodejs)
# npm installs the ws package the WebSocket interop tests run against (Node's own npm if any).
command -v npm >/dev/null 2>&1 || want+=(npm)

missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup.sh: all ${#want[@]} packages present"
  exit 0
fi

echo "setup.sh: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: need root (or sudo) to install" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# nginx is only a test peer (tests/interop/nginx_proxy.py runs its own on loopback): its
# package must not start a system nginx on port 80. A policy-rc.d that answers 101 tells
# invoke-rc.d and deb-systemd-invoke not to start services; one already there is left alone.
if [[ " ${missing[*]} " == *" nginx "* && ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
  trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
