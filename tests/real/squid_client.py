#!/usr/bin/env python3
"""Backend, load and readiness for tests/real/squid.sh. PREFIX is the proxy's directory: its
file `ports` ("NAME PORT" lines: squid's and the backend's).

  squid_client.py PREFIX backend          -> an HTTP server on a free port (written to PREFIX/ports
                                             as "backend PORT"), until killed
  squid_client.py PREFIX ready            -> exit 0 once a request through the proxy works
  squid_client.py PREFIX load THREADS     -> requests through the proxy in a loop until SIGTERM or
                                             SIGINT, then prints "requests=N failed=M" (exit 1 if M>0)
"""
import hashlib
import http.client
import http.server
import os
import signal
import socketserver
import sys
import threading
import time

PREFIX = ""
PORTS = {}


def load_ports():
    with open(os.path.join(PREFIX, "ports")) as f:
        for line in f:
            name, port = line.split()
            PORTS[name] = int(port)


def body_of(path):
    """What the backend answers for PATH: a few KiB that depend on the path (so a wrong
    or mixed-up answer is seen)."""
    seed = hashlib.sha256(path.encode()).digest()
    return (seed * (1 + len(path) * 37 % 200))[: 100 + len(path) * 53 % 8000]


class Backend(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = body_of(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        # Half cacheable (squid's store and memory cache), half not (always forwarded).
        self.send_header("Cache-Control", "max-age=60" if "cache" in self.path else "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        body = hashlib.sha256(data).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def backend():
    srv = Server(("127.0.0.1", 0), Backend)
    with open(os.path.join(PREFIX, "ports.tmp"), "a") as f:
        f.write("backend %d\n" % srv.server_address[1])
    os.rename(os.path.join(PREFIX, "ports.tmp"), os.path.join(PREFIX, "ports"))
    srv.serve_forever()


def via_proxy(method, path, body=None, timeout=10):
    """One request to the backend through squid; returns (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORTS["squid"], timeout=timeout)
    try:
        url = "http://127.0.0.1:%d%s" % (PORTS["backend"], path)
        headers = {"Host": "127.0.0.1:%d" % PORTS["backend"]}
        conn.request(method, url, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def one(i):
    """One request of the load's mix; returns None or what went wrong."""
    kind = i % 3
    if kind == 0:
        path = "/cache/%d" % (i % 50)
        status, body = via_proxy("GET", path)
        expect = body_of(path)
    elif kind == 1:
        path = "/fresh/%d?q=%d" % (i, i % 7)
        status, body = via_proxy("GET", path)
        expect = body_of(path)
    else:
        data = os.urandom(64 + i % 3000)
        status, body = via_proxy("POST", "/post/%d" % i, body=data)
        expect = hashlib.sha256(data).hexdigest().encode()
    if status != 200:
        return "status %d" % status
    if body != expect:
        return "wrong body (%d bytes)" % len(body)
    return None


def ready():
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if one(0) is None and one(1) is None and one(2) is None:
                return 0
        except OSError:
            pass
        time.sleep(0.3)
    print("squid did not answer through the proxy")
    return 1


def load(threads):
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"requests": 0, "failed": 0}

    def worker(t):
        i = t
        while not stop.is_set():
            try:
                err = one(i)
            except Exception as e:  # noqa: BLE001 - every failure counts
                err = "%s: %s" % (type(e).__name__, e)
            with lock:
                counts["requests"] += 1
                if err:
                    counts["failed"] += 1
                    print("failed request %d: %s" % (i, err), flush=True)
            i += threads

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    while not stop.is_set():
        time.sleep(0.1)
    for t in ts:
        t.join()
    print("requests=%d failed=%d" % (counts["requests"], counts["failed"]), flush=True)
    return 1 if counts["failed"] else 0


def main():
    global PREFIX
    PREFIX = sys.argv[1]
    what = sys.argv[2]
    if what == "backend":
        return backend()
    load_ports()
    if what == "ready":
        return ready()
    if what == "load":
        return load(int(sys.argv[3]))
    print("unknown command " + what)
    return 2


if __name__ == "__main__":
    sys.exit(main())
