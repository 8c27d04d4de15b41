"""Raw control-socket clients for coop_bad_input: each check prints one line
"ok NAME ..." or "FAIL NAME ...", and the script exits non-zero on any FAIL."""
import os
import socket
import sys
import threading

SOCK = sys.argv[1]
failures = []


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(SOCK)
    return s


pending = {}  # socket -> bytes received beyond the replies read so far


def read_reply(s):
    """Lines up to and including the final OK / ERR line ('' if the peer closed)."""
    data = pending.pop(s, b"")
    while True:
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            line = data[start:nl]
            if line == b"OK" or line.startswith(b"ERR"):
                pending[s] = data[nl + 1:]
                return data[:nl + 1].decode(errors="replace")
            start = nl + 1
        chunk = s.recv(65536)
        if not chunk:
            return data.decode(errors="replace")
        data += chunk


def check(name, cond, detail=""):
    print(("ok " if cond else "FAIL ") + name + (": " + detail if detail else ""))
    if not cond:
        failures.append(name)


def ask(payload):
    s = connect()
    s.sendall(payload)
    reply = read_reply(s)
    s.close()
    return reply


def last_line(reply):
    lines = [l for l in reply.split("\n") if l]
    return lines[-1] if lines else ""


for name, payload, want in [
    ("unknown command", b"frobnicate\n", "ERR unknown command 'frobnicate'"),
    ("unknown subcommand", b"var frob\n", "ERR unknown var command 'frob'"),
    ("unknown name", b"var get no_such_var\n", "ERR no variable 'no_such_var'"),
    ("wrong type", b"var set double age 1.5\n", "ERR variable 'age' is int32_t, not double"),
    ("out of range", b"var set age 4294967296\n", "ERR variable 'age' (int32_t): '4294967296' is out of range"),
    ("empty line", b"\n", "ERR empty command"),
    ("blank line", b"   \t \r\n", "ERR empty command"),
    ("binary garbage", bytes(range(256)) + b"\n", "ERR binary input"),
    ("NUL in a command", b"var get \x00age\n", "ERR binary input"),
    ("unterminated quote", b'var set user_name "abc\n', "ERR unterminated quote"),
    ("too many words", b"var set int age 1 2\n", "ERR wrong number of arguments"),
    ("unknown lib", b"lib unload nolib\n", "ERR no library named 'nolib'"),
    ("lib load missing file", b"lib load x /nonexistent/lib.so\n", "ERR /nonexistent/lib.so: No such file"),
    ("rollback not upgraded", b"func rollback add_func\n", "ERR 'add_func' is not upgraded"),
]:
    reply = ask(payload)
    check(name, last_line(reply).startswith(want), repr(last_line(reply)))

# Several commands on one connection, the bad ones in between do not end it.
s = connect()
s.sendall(b"version\nnonsense\nvar get age\n")
r1, r2, r3 = read_reply(s), read_reply(s), read_reply(s)
s.close()
check("pipelined", r1.endswith("OK\n") and r2.startswith("ERR") and r3.endswith("OK\n"), repr((r1, r2, r3)))

# 1 MiB line: ERR, connection closed, server fine.
s = connect()
try:
    s.sendall(b"var get " + b"a" * (1 << 20) + b"\n")
except (BrokenPipeError, ConnectionResetError):
    pass
reply = read_reply(s)
check("1 MiB line", last_line(reply).startswith("ERR line longer than 65536 bytes"), repr(last_line(reply))[:120])
try:
    rest = s.recv(100)
except ConnectionResetError:
    rest = b""
check("1 MiB line closes the connection", rest == b"")
s.close()

# Half a line, then gone: nothing runs, nothing breaks.
s = connect()
s.sendall(b"var set age 77")
s.close()
check("half a line then disconnect", last_line(ask(b"var get age\n")) == "OK" and "77" not in ask(b"var get age\n"))

# 64 clients at once, each with its own connection open at the same time.
results = [None] * 64
barrier = threading.Barrier(64)


def client(i):
    try:
        c = connect()
        barrier.wait()
        c.sendall(b"var get age\nversion\n")
        results[i] = read_reply(c) + read_reply(c)
        c.close()
    except Exception as e:  # noqa: BLE001 - reported as a failure below
        results[i] = "exception " + repr(e)


threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
for t in threads:
    t.start()
for t in threads:
    t.join()
good = sum(1 for r in results if r and r.count("OK\n") == 2)
check("64 clients at once", good == 64, "%d of 64 got both answers; e.g. %r" % (good, [r for r in results if not r or r.count("OK\n") != 2][:1]))

check("still serving", last_line(ask(b"version\n")) == "OK")
sys.exit(1 if failures else 0)
