#!/usr/bin/env python3
"""Load and checks for tests/real/nginx.sh. PREFIX is the server's prefix directory: its
file `ports` ("NAME PORT" lines, nginx's and the backends'), `ssl/` (CA, client cert).

  nginx_client.py PREFIX mp4              -> writes the MP4 files the load and the checks use
  nginx_client.py PREFIX ready            -> exit 0 once every kind of request the load makes works
  nginx_client.py PREFIX load THREADS     -> runs every kind of request in a loop until SIGTERM or
                                             SIGINT, then prints "requests=N failed=M" (exit 1 if M>0)
  nginx_client.py PREFIX check CVE        -> prints "fixed|vulnerable|unknown DETAIL": what the
                                             server does with the request that tells the fix apart
  nginx_client.py PREFIX checks           -> prints the CVEs with a check: "CVE safe|patched-only"
                                             (patched-only: the request would corrupt memory in the
                                             vulnerable server, so it is sent only while patched)
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

PREFIX = ""
PORTS = {}

CYRILLIC = "Привет, мир\n"  # the static page the charset filter converts to windows-1251


def load_ports():
    with open(os.path.join(PREFIX, "ports")) as f:
        for line in f:
            name, port = line.split()
            PORTS[name] = int(port)


def http_request(method, path, headers=None, body=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", PORTS["http"], timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def read_to_end(sock):
    """All the peer sends until it closes the connection."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def tls_context(client_cert=True):
    ctx = ssl.create_default_context(cafile=os.path.join(PREFIX, "ssl", "ca.pem"))
    if client_cert:
        ctx.load_cert_chain(os.path.join(PREFIX, "ssl", "client.pem"), os.path.join(PREFIX, "ssl", "client.key"))
    return ctx


class Smtp:
    """A line-by-line SMTP session with nginx's mail proxy."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        self.reply()  # greeting

    def reply(self):
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                lines.append("(closed)")
                return "\n".join(lines)
            lines.append(line.decode("latin-1").rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return "\n".join(lines)

    def cmd(self, text):
        self.sock.sendall(text.encode("latin-1") + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def b64(text):
    return base64.b64encode(text.encode("latin-1")).decode()


def mp4_file(stsc, sample_count, chunk_count):
    """A one-track MP4 file for nginx's mp4 module: `sample_count` samples of 100 bytes,
    one per second, one sample per chunk, the sample-to-chunk table `stsc` (pairs of
    first chunk and samples per chunk) and `chunk_count` chunk offsets."""
    def atom(name, payload):
        return struct.pack(">I4s", 8 + len(payload), name) + payload

    def full(name, payload):
        return atom(name, b"\0\0\0\0" + payload)  # version 0, no flags

    n, duration = sample_count, 1000 * sample_count
    ftyp = atom(b"ftyp", b"isom\0\0\2\0isomiso2mp41")
    mvhd = full(b"mvhd", struct.pack(">IIII", 0, 0, 1000, duration) + b"\0\1\0\0\1\0" + b"\0" * 70 + b"\0\0\0\2")
    tkhd = full(b"tkhd", struct.pack(">IIIII", 0, 0, 1, 0, duration) + b"\0" * 64)
    mdhd = full(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1000, duration, 0, 0))
    hdlr = full(b"hdlr", b"\0\0\0\0vide" + b"\0" * 12 + b"v\0")
    stsd = full(b"stsd", struct.pack(">I", 1) + atom(b"avc1", b"\0" * 78))
    stts = full(b"stts", struct.pack(">III", 1, n, 1000))
    stsc_atom = full(b"stsc", struct.pack(">I", len(stsc)) + b"".join(struct.pack(">III", c, k, 1) for c, k in stsc))
    stsz = full(b"stsz", struct.pack(">II", 0, n) + struct.pack(">I", 100) * n)

    def file(offsets):
        stco = full(b"stco", struct.pack(">I", len(offsets)) + b"".join(struct.pack(">I", o) for o in offsets))
        minf = atom(b"minf", full(b"vmhd", b"\0" * 8) + atom(b"stbl", stsd + stts + stsc_atom + stsz + stco))
        return ftyp + atom(b"moov", mvhd + atom(b"trak", tkhd + atom(b"mdia", mdhd + hdlr + minf)))

    base = len(file([0] * chunk_count)) + 8
    return file([base + 100 * i for i in range(chunk_count)]) + atom(b"mdat", bytes(range(100)) * n)


def write_mp4_files():
    """The files the load and the mp4 checks ask for, in PREFIX/mp4."""
    files = {
        "ok.mp4": mp4_file([(1, 1)], 8, 8),
        # CVE-2024-7347 (1): 65536 chunks of 65536 samples: 2^32 samples, 0 in 32 bits
        "overflow.mp4": mp4_file([(1, 0x10000), (0x10001, 1), (0x10002, 1)], 8, 8),
        # CVE-2024-7347 (2): chunk 2's entry before chunk 1's
        "unordered.mp4": mp4_file([(2, 1), (1, 1), (3, 1)], 8, 8),
        # CVE-2026-32647: a chunk offset table with no entry
        "nochunks.mp4": mp4_file([(1, 1)], 8, 0),
    }
    for name, data in files.items():
        with open(os.path.join(PREFIX, "mp4", name), "wb") as f:
            f.write(data)


# One function per kind of request the load makes; each raises on a wrong answer.
def op_static(tid):
    status, body = http_request("GET", "/")
    assert status == 200 and body == b"hello\n", (status, body[:80])


def op_rewrite(tid):
    status, body = http_request("GET", "/rw42945/t%d" % tid)
    assert status == 200 and body in (b"/rw42945/t%d\n" % tid), (status, body[:80])


def op_charset(tid):
    status, body = http_request("GET", "/ctext/page.html")
    assert status == 200 and body == CYRILLIC.encode("cp1251"), (status, body[:80])


def op_proxy(tid):
    status, body = http_request("GET", "/proxy/ok")
    assert status == 200 and body == b"backend ok\n", (status, body[:80])


def op_scgi(tid):
    for kind in ("scgi", "uwsgi"):
        status, body = http_request("GET", "/%s/ok" % kind)
        assert status == 200 and body == b"%s ok\n" % kind.encode(), (kind, status, body[:80])


def op_dav(tid):
    name = "/dav/t%d-%d" % (tid, os.getpid())
    status, _ = http_request("PUT", name + ".txt", body=b"dav %d\n" % tid)
    assert status in (201, 204), ("PUT", status)
    status, _ = http_request("COPY", name + ".txt", headers={"Destination": name + "-copy.txt", "Overwrite": "T"})
    assert status in (201, 204), ("COPY", status)
    status, body = http_request("GET", name + "-copy.txt")
    assert status == 200 and body == b"dav %d\n" % tid, ("GET", status, body[:80])


def op_mp4(tid):
    status, body = http_request("GET", "/mp4/ok.mp4?start=2.5")  # cut from the third second on
    assert status == 200 and body[4:8] == b"ftyp" and body.endswith(bytes(range(100)) * 6), (status, body[:16])


def op_https(tid):
    with socket.create_connection(("127.0.0.1", PORTS["https"]), timeout=10) as raw:
        with tls_context().wrap_socket(raw, server_hostname="a.test") as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: a.test\r\n\r\n")
            data = read_to_end(s)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"a.test SUCCESS\n"), data[-80:]


def op_stream(tid):
    with socket.create_connection(("127.0.0.1", PORTS["stream"]), timeout=10) as raw:
        with tls_context().wrap_socket(raw, server_hostname="a.test") as s:
            s.sendall(b"ping %d\n" % tid)
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
    assert data == b"ping %d\n" % tid, data


def op_smtp(tid):
    smtp = Smtp(PORTS["smtp"])
    try:
        reply = smtp.cmd("EHLO load%d" % tid)
        assert reply.startswith("250"), reply
        reply = smtp.cmd("AUTH PLAIN " + b64("\0user%d\0secret" % tid))
        assert reply.startswith("535"), reply
    finally:
        smtp.close()


OPS = [op_static, op_rewrite, op_charset, op_proxy, op_scgi, op_dav, op_mp4, op_https, op_stream, op_smtp]


def ready():
    deadline = time.time() + 20
    while True:
        try:
            for op in OPS:
                op(0)
            return 0
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            if time.time() > deadline:
                print("not ready: %r" % (e,), file=sys.stderr)
                return 1
            time.sleep(0.2)


def load(threads):
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"requests": 0, "failed": 0}
    failures = []

    def worker(tid):
        while not stop.is_set():
            for op in OPS:
                if stop.is_set():
                    break
                try:
                    op(tid)
                    ok = True
                except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                    ok = False
                    with lock:
                        if len(failures) < 10:
                            failures.append("%s: %r" % (op.__name__, e))
                with lock:
                    counts["requests"] += 1
                    counts["failed"] += 0 if ok else 1

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    while not stop.is_set():
        stop.wait(0.2)
    for t in pool:
        t.join()
    for f in failures:
        print("failed %s" % f, file=sys.stderr)
    print("requests=%d failed=%d" % (counts["requests"], counts["failed"]))
    return 1 if counts["failed"] else 0


# Checks: one per CVE whose effect a request can show. Each returns (state, detail).
def log_has(text, since):
    with open(os.path.join(PREFIX, "logs", "error.log"), "rb") as f:
        f.seek(since)
        return text.encode() in f.read()


def log_size():
    return os.path.getsize(os.path.join(PREFIX, "logs", "error.log"))


def repeat(fn, tries=3):
    """Runs a check up to `tries` times while it answers "unknown" (timing under load)."""
    def run():
        for _ in range(tries):
            state, detail = fn()
            if state != "unknown":
                break
        return state, detail
    return run


def check_42945():
    body = b""
    for _ in range(3):  # several connections: each may reach another worker
        _, body = http_request("GET", "/rw42945/x%26y")
        if body != b"/rw42945/x&y\n":
            return "unknown", "$1 after a rewrite with arguments: %r (escaped)" % body
    return "fixed", "$1 after a rewrite with arguments is not escaped: %r" % body


def trickle(hex_bytes):
    _, body = http_request("GET", "/charset/trickle/" + hex_bytes)
    return body


def charset_check(hex_bytes, fixed, what):
    """Bytes sent one at a time through the charset filter: the fixed answer, or the
    vulnerable one (the same with one byte read past the buffer before the last two)."""
    body = trickle(hex_bytes)
    detail = "%s in 1-byte buffers: %r" % (what, body)
    if body == fixed:
        return "fixed", detail
    if len(body) == len(fixed) + 1 and body.startswith(fixed[:-2]):
        return "vulnerable", detail + " (one byte read past the buffer)"
    return "unknown", detail


def check_42934():
    # U+20AC (3 bytes, "\x88" in windows-1251) between "A" and "B"
    return charset_check("41e282ac420a", b"A\x88B\n", "a 3-byte character")


def check_48142():
    # a 3-byte sequence cut after 2 bytes, then "B"
    return charset_check("41e282420a", b"A?\n", "a cut UTF-8 sequence")


def check_27654():
    http_request("PUT", "/dav/alias.txt", body=b"x")
    since = log_size()
    status, _ = http_request("COPY", "/dav/alias.txt", headers={"Destination": "/d"})
    if status == 400 and log_has('client sent invalid "Destination" header: "/d"', since):
        return "fixed", "COPY to a destination shorter than the alias: 400, logged"
    return "unknown", "COPY to a destination shorter than the alias: %d" % status


def check_42946():
    got = []
    for kind in ("scgi", "uwsgi"):
        status, body = http_request("GET", "/%s/split" % kind)
        got.append("%s %d %r" % (kind, status, body))
        if status != 200 or body != b"%s split ok\n" % kind.encode():
            return "unknown", "a reply split inside a would-be status line: " + ", ".join(got)
    return "fixed", "a reply split inside a would-be status line: " + ", ".join(got)


def check_42055():
    since = log_size()
    with socket.create_connection(("127.0.0.1", PORTS["http"]), timeout=30) as s:
        s.sendall(b"GET /grpc/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: " + b"a" * 2097300 + b"\r\n\r\n")
        reply = read_to_end(s)
    status = reply.split(b"\r\n", 1)[0].decode("latin-1")
    if " 500 " in status and log_has("too long http2 header value", since):
        return "fixed", "a 2 MiB header for gRPC: %s, logged" % status
    return "unknown", "a 2 MiB header for gRPC: %s" % status


def auth_record(helo):
    """The auth_http request nginx made for the SMTP session that said EHLO `helo`."""
    with open(os.path.join(PREFIX, "auth.log")) as f:
        for line in f:
            seen = json.loads(line)
            if seen.get("Auth-SMTP-Helo") == helo:
                return seen
    return {}


def check_53859():
    # A good AUTH LOGIN user name, then one that is not base64, then a mail transaction
    # (smtp_auth none): nginx asks auth_http with the session's login.
    helo = "check53859-%d" % os.getpid()
    smtp = Smtp(PORTS["smtp_wait"])
    try:
        for command in ["EHLO " + helo, "AUTH LOGIN", b64("A" * 100), "*", "AUTH LOGIN", "*",
                        "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>"]:
            smtp.cmd(command)
    finally:
        smtp.close()
    user = auth_record(helo).get("Auth-User", "")
    if user == "A" * 100:
        return "fixed", "Auth-User after a bad AUTH LOGIN name: the previous name"
    if user:
        return "vulnerable", "Auth-User after a bad AUTH LOGIN name: %d bytes of the worker's memory (%s...)" % (
            len(user), user[:24])
    return "unknown", "no auth_http request seen for the session"


def check_27651():
    # CRAM-MD5 refused by auth_http, then a mail transaction (smtp_auth none): the
    # vulnerable worker escapes a NULL password of the old length and crashes.
    smtp = Smtp(PORTS["smtp_wait"])
    try:
        replies = [smtp.cmd(c) for c in ["EHLO check27651", "AUTH CRAM-MD5", b64("user " + "0f" * 16),
                                         "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>"]]
    finally:
        smtp.close()
    if replies[-1].startswith("535"):
        return "fixed", "RCPT after a refused CRAM-MD5: %r" % replies[-1]
    return "unknown", "RCPT after a refused CRAM-MD5: %r" % replies[-1]


def check_28753():
    # The resolver says 127.0.0.1 is "x_y.test" (and back): the vulnerable worker passes
    # the name on as Client-Host; the fixed one only names made of RFC 1034's characters.
    helo = "check28753-%d" % os.getpid()
    smtp = Smtp(PORTS["smtp_dns"])
    try:
        for command in ["EHLO " + helo, "MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>"]:
            smtp.cmd(command)
    finally:
        smtp.close()
    host = auth_record(helo).get("Client-Host")
    if host == "[TEMPUNAVAIL]":
        return "fixed", "Client-Host for a client whose DNS name is x_y.test: %s" % host
    if host == "x_y.test":
        return "vulnerable", "Client-Host for a client whose DNS name is x_y.test: %s" % host
    return "unknown", "Client-Host for a client whose DNS name is x_y.test: %s" % host


def sni_get(ctx, host, session=None):
    with socket.create_connection(("127.0.0.1", PORTS["https"]), timeout=10) as raw:
        try:
            s = ctx.wrap_socket(raw, server_hostname=host, session=session)
        except ssl.SSLError as e:
            return None, "handshake refused (%s)" % e.reason
        with s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
            data = read_to_end(s)
            return s.session, "%s%s" % (data.split(b"\r\n\r\n", 1)[-1].decode().strip(),
                                        " (resumed)" if s.session_reused else "")


def check_23419():
    # TLSv1.3: a session made with a client certificate for a.test, resumed for b.test
    ctx = tls_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    session, first = sni_get(ctx, "a.test")
    _, other = sni_get(ctx, "b.test", session)
    detail = "a.test: %s; resumed for b.test: %s" % (first, other)
    if other.startswith("handshake refused (TLSV1_ALERT_ACCESS_DENIED)"):
        return "fixed", detail
    if other == "b.test SUCCESS (resumed)":
        return "vulnerable", detail
    return "unknown", detail


def mp4_check(path, logged, what):
    since = log_size()
    status, _ = http_request("GET", path)
    if status == 500 and log_has(logged, since):
        return "fixed", "%s: 500, logged \"%s\"" % (what, logged)
    return "unknown", "%s: %d" % (what, status)


def check_7347():
    return mp4_check("/mp4/unordered.mp4?start=2.5", "unordered mp4 stsc chunks", "an stsc table out of order")


def check_7347_1():
    since = log_size()
    status, body = http_request("GET", "/mp4/overflow.mp4?start=2.5")
    what = "a sample-to-chunk table of 2^32 samples, from the third second"
    if status == 200 and body[4:8] == b"ftyp":
        return "fixed", "%s: 200, cut" % what
    if status == 500 and log_has("start time is out mp4 stco chunks", since):
        return "vulnerable", "%s: 500, the count wrapped to 0 (\"start time is out mp4 stco chunks\")" % what
    return "unknown", "%s: %d" % (what, status)


def check_32647():
    return mp4_check("/mp4/nochunks.mp4?start=0.5", "start time is out mp4 stco chunks", "an empty stco table")


CHECKS = {
    "CVE-2026-42945": (check_42945, "patched-only"),
    "CVE-2026-42934": (repeat(check_42934), "safe"),
    "CVE-2026-48142": (repeat(check_48142), "safe"),
    "CVE-2026-27654": (check_27654, "patched-only"),
    "CVE-2026-42946.1": (check_42946, "patched-only"),
    "CVE-2026-42055": (check_42055, "patched-only"),
    "CVE-2025-53859": (check_53859, "safe"),
    "CVE-2026-27651": (check_27651, "patched-only"),
    "CVE-2025-23419": (check_23419, "safe"),
    "CVE-2024-7347-1": (check_7347_1, "safe"),
    "CVE-2024-7347-2": (check_7347, "patched-only"),
    "CVE-2026-32647": (check_32647, "patched-only"),
    "CVE-2026-28753": (check_28753, "safe"),
}


def check(cve):
    for key, (fn, _) in CHECKS.items():
        if cve.startswith(key):
            try:
                state, detail = fn()
            except Exception as e:  # noqa: BLE001 - no answer is an answer too
                state, detail = "unknown", "%s: %r" % (fn.__name__, e)
            print("%s %s" % (state, detail))
            return 0
    print("unknown no check for %s" % cve)
    return 0


def main():
    global PREFIX
    PREFIX = sys.argv[1]
    what = sys.argv[2]
    if what == "mp4":
        write_mp4_files()
        return 0
    load_ports()
    if what == "ready":
        return ready()
    if what == "load":
        return load(int(sys.argv[3]))
    if what == "check":
        return check(sys.argv[3])
    if what == "checks":
        for key, (_, safety) in CHECKS.items():
            print(key, safety)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
