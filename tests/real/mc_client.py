#!/usr/bin/env python3
"""A small memcached binary-protocol client for the real-world tests.

  mc_client.py PORT auth USER PASSWORD          -> prints "auth ok" or "auth refused", exit 0
  mc_client.py PORT load USER PASSWORD SECONDS  -> authenticated set/get loop on 4 connections,
                                                   prints "requests=N failed=M", exit 1 if M > 0
"""
import socket
import struct
import sys
import threading
import time

MAGIC_REQ, MAGIC_RES = 0x80, 0x81
OP_GET, OP_SET, OP_SASL_AUTH = 0x00, 0x01, 0x21


def request(sock, opcode, key=b"", value=b"", extras=b""):
    body = extras + key + value
    header = struct.pack(">BBHBBHIIQ", MAGIC_REQ, opcode, len(key), len(extras), 0, 0, len(body), 0, 0)
    sock.sendall(header + body)
    head = recv_exact(sock, 24)
    magic, op, keylen, extlen, _, status, bodylen, _, _ = struct.unpack(">BBHBBHIIQ", head)
    payload = recv_exact(sock, bodylen)
    if magic != MAGIC_RES or op != opcode:
        raise RuntimeError("malformed reply")
    return status, payload[extlen + keylen:]


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def connect(port, user, password):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    status, _ = request(sock, OP_SASL_AUTH, b"PLAIN", b"\0" + user.encode() + b"\0" + password.encode())
    return sock, status == 0


def main():
    port, mode, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    if mode == "auth":
        sock, ok = connect(port, user, password)
        sock.close()
        print("auth ok" if ok else "auth refused")
        return 0
    seconds = float(sys.argv[5])
    counts = {"requests": 0, "failed": 0}
    lock = threading.Lock()

    def worker(n):
        deadline = time.time() + seconds
        i = 0
        while time.time() < deadline:
            ok = False
            try:
                sock, authed = connect(port, user, password)
                with sock:
                    if authed:
                        key = b"k%d-%d" % (n, i)
                        value = b"v%d" % i
                        s1, _ = request(sock, OP_SET, key, value, struct.pack(">II", 0, 0))
                        s2, got = request(sock, OP_GET, key)
                        ok = s1 == 0 and s2 == 0 and got == value
            except Exception:
                ok = False
            with lock:
                counts["requests"] += 1
                counts["failed"] += 0 if ok else 1
            i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("requests=%d failed=%d" % (counts["requests"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
