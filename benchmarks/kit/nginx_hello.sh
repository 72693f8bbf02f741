#!/usr/bin/env bash
# benchmarks/kit/nginx_hello.sh: nginx as an HTTP / HTTPS reference: one process, keep-alive,
# "Hello, World!" (text/plain) from `return 200`, no access log.
#
#   nginx_hello.sh PORT [--tls CERT KEY]
#
# Writes its config into a folder of its own, ${TMPDIR:-/tmp}/netco-kit-nginx-PORT (error.log
# and the pid file are there too), then execs nginx in the foreground with master_process off,
# so the pid that run.sh measures and signals is the one process serving: SIGTERM stops it.
# --tls: TLS 1.2 and 1.3 with CERT and KEY (PEM), session tickets on, nginx's default ciphers.
# Needs nginx >= 1.19.5 (-e) with the ssl module: Debian 12's nginx package.
set -euo pipefail
usage() { echo "usage: nginx_hello.sh PORT [--tls CERT KEY]" >&2; exit 2; }
(($# == 1 || $# == 4)) && [[ $1 =~ ^[0-9]+$ ]] || usage
port=$1 ssl="" tls_conf=""
if (($# == 4)); then
  [[ $2 == --tls && -r $3 && -r $4 ]] || usage
  ssl=" ssl"
  tls_conf="ssl_certificate $(realpath "$3");
    ssl_certificate_key $(realpath "$4");
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;"
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx ]] || { echo "nginx_hello.sh: no nginx (apt-get install nginx)" >&2; exit 2; }
dir=${TMPDIR:-/tmp}/netco-kit-nginx-$port
mkdir -p "$dir"
[[ -O $dir ]] || { echo "nginx_hello.sh: $dir is someone else's" >&2; exit 2; }
# master_process off is meant for nginx's developers, but it makes the one process the worker,
# which is what a one-thread comparison needs.
cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  default_type text/plain;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port$ssl backlog=4096;
    $tls_conf
    location = / { return 200 "Hello, World!"; }
  }
}
CONF
exec "$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
