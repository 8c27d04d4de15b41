#!/usr/bin/env bash
# The files nginx.sh's server uses, in its private prefix directory.
#   nginx_setup.sh PREFIX TREE        pages, certificates, directories
#   nginx_setup.sh PREFIX TREE conf   nginx.conf, from the backends' PREFIX/ports; picks
#                                     free ports for nginx itself and adds them to PREFIX/ports
set -euo pipefail
prefix=$1 tree=$2

if [ "${3:-}" != conf ]; then
  mkdir -p "$prefix"/{html,ctext,mp4,dav,logs,ssl}
  chmod 777 "$prefix/dav"  # written by the workers (nobody)
  echo hello >"$prefix/html/index.html"
  printf 'Привет, мир\n' >"$prefix/ctext/page.html"
  python3 "$(dirname "$0")/nginx_client.py" "$prefix" mp4
  cd "$prefix/ssl"
  # A CA, a server certificate for a.test and b.test, a client certificate.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=hotpatch-test-ca \
    -keyout ca.key -out ca.pem 2>/dev/null
  printf 'subjectAltName=DNS:a.test,DNS:b.test\n' >server.ext
  for who in server client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who.test" \
      -keyout "$who.key" -out "$who.csr" 2>/dev/null
    ext=()
    [ "$who" = server ] && ext=(-extfile server.ext)
    openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "${ext[@]}" \
      -out "$who.pem" 2>/dev/null
  done
  chmod 644 ./*
  exit 0
fi

port() { sed -n "s/^$1 //p" "$prefix/ports"; }
# Free ports for nginx: bound to port 0 by the kernel, then released.
read -r http https smtp smtp_wait smtp_dns stream < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
printf 'http %s\nhttps %s\nsmtp %s\nsmtp_wait %s\nsmtp_dns %s\nstream %s\n' "$http" "$https" "$smtp" "$smtp_wait" \
  "$smtp_dns" "$stream" \
  >>"$prefix/ports"
user=''
[ "$(id -u)" = 0 ] && user="user nobody $(id -gn nobody);"
ssl="ssl_certificate $prefix/ssl/server.pem; ssl_certificate_key $prefix/ssl/server.key; ssl_protocols TLSv1.2 TLSv1.3;"

cat >"$prefix/nginx.conf" <<EOF
$user
worker_processes 2;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log info;
events { worker_connections 512; }

http {
  access_log off;
  include $tree/conf/mime.types;
  include $tree/conf/win-utf;
  default_type application/octet-stream;
  client_body_temp_path $prefix/body;
  large_client_header_buffers 4 3m;
  $ssl

  server {
    listen 127.0.0.1:$http;
    root $prefix/html;
    location / { }
    # CVE-2026-42945: \$1 after a rewrite with arguments
    location /rw42945/ { rewrite ^(.*) /new?c=1; set \$myvar \$1; return 200 "\$myvar\n"; }
    # CVE-2026-42934, CVE-2026-48142: UTF-8 recoded to windows-1251, from a static page and
    # from a backend that sends one byte at a time
    location /ctext/ { root $prefix; charset windows-1251; source_charset utf-8; }
    location /charset/ {
      charset windows-1251; source_charset utf-8;
      proxy_pass http://127.0.0.1:$(port backend)/; proxy_buffering off;
    }
    location /proxy/ { proxy_pass http://127.0.0.1:$(port backend)/; }
    # CVE-2026-27654: COPY/MOVE in a location with alias
    location /dav/ {
      alias $prefix/dav/;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_access user:rw group:rw all:rw;
    }
    location /mp4/ { root $prefix; mp4; }
    # CVE-2026-42946: scgi/uwsgi replies without a status line
    location /scgi/ { scgi_pass 127.0.0.1:$(port scgi); include $tree/conf/scgi_params; }
    location /uwsgi/ { uwsgi_pass 127.0.0.1:$(port uwsgi); include $tree/conf/uwsgi_params; }
    # CVE-2026-42055: header lengths for gRPC (the request is built, the connection refused)
    location /grpc/ { grpc_pass grpc://127.0.0.1:$(port closed); }
  }

  # CVE-2025-23419: TLSv1.3 session resumption across server names with client certificates
  server {
    listen 127.0.0.1:$https ssl;
    server_name a.test;
    ssl_verify_client optional;
    ssl_client_certificate $prefix/ssl/ca.pem;
    location / { return 200 "\$server_name \$ssl_client_verify\n"; }
  }
  server {
    listen 127.0.0.1:$https ssl;
    server_name b.test;
    ssl_verify_client on;
    ssl_client_certificate $prefix/ssl/ca.pem;
    location / { return 200 "\$server_name \$ssl_client_verify\n"; }
  }
}

mail {
  server_name mail.test;
  smtp_auth login plain cram-md5 none;
  $ssl
  # auth_http answers "Invalid login": /wait0 ends the session, /wait1 lets it go on
  server { listen 127.0.0.1:$smtp; protocol smtp; auth_http 127.0.0.1:$(port auth)/wait0; }
  server { listen 127.0.0.1:$smtp_wait; protocol smtp; auth_http 127.0.0.1:$(port auth)/wait1; }
  # CVE-2026-28753: the client's host name from DNS goes to auth_http unless it is valid
  server {
    listen 127.0.0.1:$smtp_dns; protocol smtp; auth_http 127.0.0.1:$(port auth)/wait0;
    resolver 127.0.0.1:$(port dns);
  }
}

stream {
  $ssl
  ssl_client_certificate $prefix/ssl/ca.pem;
  server { listen 127.0.0.1:$stream ssl; ssl_verify_client optional; proxy_pass 127.0.0.1:$(port echo); }
}
EOF
