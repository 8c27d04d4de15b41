# sealed.py PID NAME: the mapping of /memfd:NAME (deleted) in process PID is a memfd
# no one can change any more, root included (F_SEAL_WRITE, F_SEAL_SHRINK,
# F_SEAL_GROW): writing it, mapping it writable and shared, shrinking and growing it
# all fail with EPERM. Opened through /proc/PID/map_files (root may).
import errno
import mmap
import os
import sys

pid, name = sys.argv[1], sys.argv[2]
suffix = f"/memfd:{name} (deleted)"
ranges = [line.split()[0] for line in open(f"/proc/{pid}/maps") if line.rstrip("\n").endswith(suffix)]
if not ranges:
    sys.exit(f"process {pid} maps no {suffix}")
fd = os.open(f"/proc/{pid}/map_files/{ranges[0]}", os.O_RDWR)
size = os.fstat(fd).st_size
attempts = {
    "write": lambda: os.pwrite(fd, b"\xcc", 0),
    "writable shared mapping": lambda: mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE),
    "shrink": lambda: os.ftruncate(fd, size - 1),
    "grow": lambda: os.ftruncate(fd, size + 4096),
}
for what, attempt in attempts.items():
    try:
        attempt()
    except OSError as e:
        if e.errno != errno.EPERM:
            sys.exit(f"{suffix}: {what} failed with {errno.errorcode.get(e.errno, e.errno)}, not EPERM (a seal)")
        continue
    sys.exit(f"{suffix}: {what} succeeded: the memfd is not sealed")
if os.fstat(fd).st_size != size:
    sys.exit(f"{suffix}: its size changed")
print(f"{suffix}: {size} bytes, sealed (write, writable mapping, shrink, grow: EPERM)")
