#!/usr/bin/env python3
"""The servers behind nginx in tests/real/nginx.sh, all in one process.

  nginx_backends.py DIR    listens on free ports of 127.0.0.1, writes DIR/ports
                           ("NAME PORT" lines) once every server listens, runs until killed.

  backend proxied HTTP: /ok answers "backend ok"; /trickle/HEX sends the bytes of HEX one
          TCP segment at a time (the charset filter then sees one-byte buffers)
  scgi    /scgi/ok: a normal reply; /scgi/split: the reply starts with "HTT", then a pause,
          then headers without a status line (nginx's status-line parser gives up midway)
  uwsgi   the same for uwsgi
  auth    nginx mail's auth_http server: appends the request's Auth-* and Client-* headers
          as one JSON line to DIR/auth.log, answers "Invalid login" (so no mail backend is
          needed) with Auth-Wait 0 (nginx ends the session) or, for /wait1, 1 (it goes on)
  echo    the stream module's backend: echoes what it reads
  dns     (UDP) the mail module's resolver: 127.0.0.1 is "x_y.test" (an underscore, outside
          RFC 1034's host name characters), and x_y.test is 127.0.0.1
  closed  a port nothing listens on (the gRPC upstream: the request is built, then refused)
"""
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def read_http_head(rfile):
    lines = []
    while True:
        line = rfile.readline(65536)
        if not line or line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


class Http(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = read_http_head(self.rfile)
            if not head:
                return
            path = head[0].split(" ")[1]
            if path.startswith("/trickle/"):
                body = bytes.fromhex(path[len("/trickle/"):])
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n")
                self.wfile.flush()
                for i in range(len(body)):
                    time.sleep(0.1)
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                return
            body = b"backend ok\n"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
            self.wfile.flush()


def recv_upstream_request(rfile, kind):
    """Reads an SCGI netstring or a uwsgi packet; returns the request's variables."""
    if kind == "scgi":
        size = b""
        while not size.endswith(b":"):
            c = rfile.read(1)
            if not c:
                return {}
            size += c
        block = rfile.read(int(size[:-1]) + 1)[:-1]
        parts = block.split(b"\0")
        env = dict(zip(parts[0::2], parts[1::2]))
    else:
        head = rfile.read(4)
        if len(head) < 4:
            return {}
        block = rfile.read(int.from_bytes(head[1:3], "little"))
        env, i = {}, 0
        while i < len(block):
            kl = int.from_bytes(block[i:i + 2], "little")
            key = block[i + 2:i + 2 + kl]
            i += 2 + kl
            vl = int.from_bytes(block[i:i + 2], "little")
            env[key] = block[i + 2:i + 2 + vl]
            i += 2 + vl
    length = int(env.get(b"CONTENT_LENGTH", b"0") or b"0")
    if length:
        rfile.read(length)
    return env


def upstream_handler(kind):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            env = recv_upstream_request(self.rfile, kind)
            uri = env.get(b"REQUEST_URI", b"").decode("latin-1")
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if uri.endswith("/split"):
                self.wfile.write(b"HTT")
                self.wfile.flush()
                time.sleep(0.2)
                self.wfile.write(b"X-Split: yes\r\nContent-Type: text/plain\r\n\r\n%s split ok\n" % kind.encode())
            else:
                self.wfile.write(b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n%s ok\n" % kind.encode())
            self.wfile.flush()
    return Handler


def auth_handler(log_path):
    lock = threading.Lock()

    class Auth(socketserver.StreamRequestHandler):
        def handle(self):
            head = read_http_head(self.rfile)
            if not head:
                return
            seen = {}
            for line in head[1:]:
                key, _, value = line.partition(":")
                if key.startswith(("Auth-", "Client-")):
                    seen[key] = value.strip()
            with lock, open(log_path, "a") as log:
                log.write(json.dumps(seen) + "\n")
            wait = b"1" if head[0].split(" ")[1].endswith("/wait1") else b"0"
            self.wfile.write(b"HTTP/1.0 200 OK\r\nAuth-Status: Invalid login or password\r\nAuth-Wait: %s\r\n\r\n" % wait)
            self.wfile.flush()
    return Auth


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


def dns_server(sock):
    """Answers PTR queries with x_y.test, A queries for x_y.test with 127.0.0.1."""
    def name(labels):
        return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
    while True:
        query, peer = sock.recvfrom(512)
        qid, qd = query[:2], query[12:]
        i, labels = 0, []
        while qd[i]:
            labels.append(qd[i + 1:i + 1 + qd[i]])
            i += 1 + qd[i]
        question = qd[:i + 5]
        qtype = int.from_bytes(qd[i + 1:i + 3], "big")
        qname = b".".join(labels).lower()
        answer = b""
        if qtype == 12 and qname.endswith(b".in-addr.arpa"):
            rdata = name([b"x_y", b"test"])
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 12, 1, 60, len(rdata)) + rdata
        elif qtype == 1 and qname == b"x_y.test":
            answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 1])
        header = qid + struct.pack(">HHHHH", 0x8180, 1, 1 if answer else 0, 0, 0)
        sock.sendto(header + question + answer, peer)


def main():
    out = sys.argv[1]
    servers = {
        "backend": Http, "scgi": upstream_handler("scgi"), "uwsgi": upstream_handler("uwsgi"),
        "auth": auth_handler(os.path.join(out, "auth.log")), "echo": Echo,
    }
    ports = []
    for name, handler in servers.items():
        server = Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports.append("%s %d" % (name, server.server_address[1]))
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))
    threading.Thread(target=dns_server, args=(dns,), daemon=True).start()
    ports.append("dns %d" % dns.getsockname()[1])
    # A port nothing listens on: bound, never listening, held for the whole run.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    ports.append("closed %d" % closed.getsockname()[1])
    with open(os.path.join(out, "ports.tmp"), "w") as f:
        f.write("\n".join(ports) + "\n")
    os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
    threading.Event().wait()


if __name__ == "__main__":
    main()
