#!/bin/sh
# tests/soak/run.sh [BUILD_DIR] [SECONDS]: the soak test (tests/soak/soak.py) against the example
# servers built in BUILD_DIR (default: build): mixed echo + HTTP + UDP load with random
# disconnects for SECONDS (default: $SOAK_SECONDS, else 120). Not part of `meson test`; run it
# as `ninja -C BUILD soak` (which builds the examples first) or directly after a build.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
for exe in echo_server echo_events http_echo_body udp_echo; do
  if [ ! -x "$build/examples/$exe" ]; then
    echo "soak: $build/examples/$exe is missing: ninja -C $build soak builds it" >&2
    exit 2
  fi
done
exec python3 "$root/tests/soak/soak.py" "$build" "${2:-${SOAK_SECONDS:-120}}"
