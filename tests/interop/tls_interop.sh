#!/bin/sh
# tests/interop/tls_interop.sh: real TLS peers against netco's TLS examples.
#   curl:     curl --cacert against https_hello (two requests over one kept-alive connection;
#             refused without the CA, and for a wrong host name)
#   s_client: openssl s_client against tls_echo: TLS 1.3 and 1.2 echo, renegotiation refused
# usage: tls_interop.sh MODE RUN_EXAMPLE_PY EXAMPLE_BINARY. Exit 77 (skipped) without the tools.
set -eu
mode=$1 run=$2 exe=$3
command -v openssl >/dev/null 2>&1 || exit 77
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
case $mode in
curl)
  command -v curl >/dev/null 2>&1 || exit 77
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
  exec python3 "$run" "$exe" --cert "$dir/cert.pem" --key "$dir/key.pem" -- sh -c '
    out=$(curl -sv --cacert "$0" https://localhost:{PORT}/ https://localhost:{PORT}/ 2>&1) || exit 1
    [ "$(printf "%s\n" "$out" | grep -c "^Hello, World!")" = 2 ] || { echo "$out"; exit 1; }
    printf "%s\n" "$out" | grep -qi "re-using existing connection" || { echo "no keep-alive"; exit 1; }
    if curl -s https://localhost:{PORT}/ >/dev/null 2>&1; then echo "unknown CA accepted"; exit 1; fi
    if curl -s --cacert "$0" --resolve wrong.example:{PORT}:127.0.0.1 \
      https://wrong.example:{PORT}/ >/dev/null 2>&1; then echo "wrong host accepted"; exit 1; fi' \
    "$dir/cert.pem"
  ;;
s_client)
  exec python3 "$run" "$exe" -- sh -c '
    for v in -tls1_3 -tls1_2; do
      got=$( (echo "hello$v"; sleep 0.5) | timeout 10 openssl s_client -connect 127.0.0.1:{PORT} $v -quiet 2>/dev/null)
      [ "$got" = "hello$v" ] || { echo "$v: got [$got]"; exit 1; }
    done
    out=$( (echo R; sleep 1) | timeout 10 openssl s_client -connect 127.0.0.1:{PORT} -tls1_2 2>&1)
    printf "%s\n" "$out" | grep -q RENEGOTIATING || { echo "no renegotiation attempt"; exit 1; }
    printf "%s\n" "$out" | grep -q "no renegotiation" || { echo "$out"; exit 1; }'
  ;;
esac
