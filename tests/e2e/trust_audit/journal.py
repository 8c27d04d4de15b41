"""A stand-in for journald's native socket, for tests: binds a Unix datagram socket
at argv[1] and appends each record it receives to argv[2] as one JSON object per
line ({"FIELD": "value", ...}), decoding the native protocol (KEY=VALUE lines, and
the binary-safe KEY\\n<64-bit length><value>\\n form). Bound at /dev/log instead, it
stands in for syslog: a line "<PRI>..." is kept whole as {"SYSLOG_LINE": line}."""
import json
import os
import socket
import struct
import sys


def decode(data):
    fields = {}
    i = 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            raise ValueError("record does not end in a newline")
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            value = data[nl + 9:nl + 9 + size]
            if data[nl + 9 + size:nl + 10 + size] != b"\n":
                raise ValueError("binary field %r does not end in a newline" % key)
            i = nl + 10 + size
        fields[key.decode()] = value.decode()
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o666)  # like journald's: any process may log
    print("listening", flush=True)
    with open(out, "a") as f:
        while True:
            data = sock.recv(1 << 20)
            if data.startswith(b"<"):  # a syslog line (/dev/log), not the native protocol
                record = {"SYSLOG_LINE": data.decode()}
            else:
                try:
                    record = decode(data)
                except ValueError as e:
                    record = {"UNDECODABLE": str(e)}
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()


main()
