#!/usr/bin/env python3
"""A small RESP client for tests/real/redis.sh.

  redis_client.py PORT cmd ARG...   -> sends one command, prints the reply as Python repr
                                      (errors as "ERR:..."), exit 0; exit 2 if no reply
  redis_client.py PORT load SECONDS -> 4 connections, each doing SET/GET, INCR, EVAL (Lua),
                                      PFADD/PFCOUNT in a loop, a new connection every 50
                                      rounds, until SECONDS have passed or SIGTERM; prints
                                      "requests=N failed=M", exit 1 if M > 0
"""
import signal
import socket
import sys
import threading
import time


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("latin-1")
        if kind == b"-":
            return "ERR:" + rest.decode("latin-1")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("malformed reply: %r" % line)

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.reply()


SCRIPT = "local v = redis.call('INCR', KEYS[1]) return tostring(v) .. ARGV[1]"


def load(port, seconds):
    counts = {"requests": 0, "failed": 0}
    lock = threading.Lock()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def worker(n):
        deadline = time.time() + seconds
        i = 0
        conn = None
        while time.time() < deadline and not stop.is_set():
            ok = False
            try:
                if conn is None or i % 50 == 0:
                    if conn:
                        conn.close()
                    conn = Conn(port)
                key = "k%d-%d" % (n, i % 1000)
                value = b"v%d" % i
                ok = conn.call("SET", key, value) == "OK" and conn.call("GET", key) == value
                counter = conn.call("INCR", "c%d" % n)
                got = conn.call("EVAL", SCRIPT, 1, "e%d" % n, "x")
                ok = ok and isinstance(counter, int) and isinstance(got, bytes) and got.endswith(b"x")
                ok = ok and isinstance(conn.call("PFADD", "h%d" % n, "m%d" % i), int)
                ok = ok and isinstance(conn.call("PFCOUNT", "h%d" % n), int)
            except Exception:
                ok = False
                conn = None
            with lock:
                counts["requests"] += 1
                counts["failed"] += 0 if ok else 1
            i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
    print("requests=%d failed=%d" % (counts["requests"], counts["failed"]))
    return 1 if counts["failed"] else 0


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "load":
        return load(port, float(sys.argv[3]))
    try:
        conn = Conn(port)
        print(repr(conn.call(*sys.argv[3:])))
    except Exception as e:
        print("no reply: %s" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
