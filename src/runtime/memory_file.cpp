#include "runtime/memory_file.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hotpatch::runtime {

namespace {
#ifndef MFD_EXEC
constexpr unsigned MFD_EXEC = 0x0010U;  // Linux 6.3 (linux/memfd.h); Debian 12's headers predate it
#endif
}  // namespace

MemoryFile::MemoryFile(const std::string& name) {
  // MFD_EXEC: since Linux 6.3 a memfd may be created without exec permission
  // (vm.memfd_noexec); older kernels refuse the flag, so ask again without it.
  fd_ = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd_ < 0) fd_ = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd_ < 0) create_errno_ = errno;
}

MemoryFile::~MemoryFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool MemoryFile::fill(const std::vector<uint8_t>& bytes, std::string& error) {
  if (fd_ < 0) {
    error = std::string("memfd_create: ") + std::strerror(create_errno_);
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::string("cannot write the library into a memfd: ") + std::strerror(n < 0 ? errno : ENOSPC);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fcntl(fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    error = std::string("cannot seal the library's memfd: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int MemoryFile::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

bool MemoryFile::unique_dlopen_name(std::string& path, std::string& error) {
  for (int tries = 0; tries < 64; ++tries) {
    path = "/proc/self/fd/" + std::to_string(fd_);
    void* loaded = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!loaded) return true;
    ::dlclose(loaded);
    int moved = ::fcntl(fd_, F_DUPFD_CLOEXEC, fd_ + 1);
    if (moved < 0) break;
    ::close(fd_);
    fd_ = moved;
  }
  error = "no free /proc/self/fd name to load the library under";
  return false;
}

}  // namespace hotpatch::runtime
