#include "loader/runtime_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "common/paths.h"
#include "common/registry_layout.h"
#include "loader/process.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {
struct Header {
  char magic[8];
  uint32_t layout_version;
  uint32_t lock;
  uint64_t generation;
  uint64_t capacity;
  uint64_t used;
  uint64_t offset;
};
static_assert(sizeof(Header) == HOTPATCH_REGISTRY_HEADER_SIZE);
}  // namespace

std::optional<RuntimeRegistry> RuntimeRegistry::find(const TargetObjects& objects) {
  for (const auto& o : objects.objects()) {
    if (!is_runtime_library_name(o.basename())) continue;
    try {
      for (const ElfSymbol* s : objects.image(o).find_symbols(HOTPATCH_REGISTRY_SYMBOL))
        if (s->dynamic && s->section_index != 0) return RuntimeRegistry(o.path, RemoteAddr(s->value + o.bias));
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

RegistrySnapshot RuntimeRegistry::read(const Process& process, const RegistrySnapshot* hint) const {
  Header h{};
  std::vector<uint8_t> data;
  bool have_data = false;
  if (hint && !hint->fresh && hint->used <= HOTPATCH_REGISTRY_HALF) {
    data.resize(hint->used);
    Process::ReadRequest both[2] = {
        {address_, &h, sizeof h},
        {address_ + static_cast<int64_t>(HOTPATCH_REGISTRY_HEADER_SIZE + hint->offset), data.data(), data.size()}};
    process.read_many(both);
    have_data = both[0].got == sizeof h && both[1].got == data.size() && h.generation == hint->generation &&
                h.offset == hint->offset && h.used == hint->used;
  }
  if (!have_data) process.read(address_, &h, sizeof h);
  RegistrySnapshot snap;
  static const char zero[8] = {};
  if (std::memcmp(h.magic, zero, 8) == 0) return snap;  // fresh runtime: nothing applied yet
  if (std::memcmp(h.magic, HOTPATCH_REGISTRY_MAGIC, 8) != 0)
    throw Error(ErrorKind::Conflict, fmt::format("process {}: the registry of {} is corrupt (bad magic)", process.pid(), runtime_path_));
  if (h.layout_version != HOTPATCH_REGISTRY_LAYOUT_VERSION)
    throw Error(ErrorKind::Conflict,
                fmt::format("process {}: its hotpatch runtime ({}) keeps registry layout {}, this hotpatch reads layout {}; "
                            "use the matching hotpatch version",
                            process.pid(), runtime_path_, h.layout_version, HOTPATCH_REGISTRY_LAYOUT_VERSION));
  if (h.used > HOTPATCH_REGISTRY_HALF || (h.offset != 0 && h.offset != HOTPATCH_REGISTRY_HALF))
    throw Error(ErrorKind::Conflict, fmt::format("process {}: the registry of {} is corrupt (size)", process.pid(), runtime_path_));
  if (!have_data)
    data = process.read_bytes(address_ + static_cast<int64_t>(HOTPATCH_REGISTRY_HEADER_SIZE + h.offset), h.used);
  auto decoded = decode_registry(data.data(), data.size());
  if (!decoded)
    throw Error(ErrorKind::Conflict, fmt::format("process {}: the registry of {} is corrupt", process.pid(), runtime_path_));
  snap.registry = std::move(*decoded);
  snap.generation = h.generation;
  snap.lock_holder = h.lock;
  snap.offset = h.offset;
  snap.used = h.used;
  snap.fresh = false;
  return snap;
}

void RuntimeRegistry::write(const Process& process, RegistrySnapshot& snap) const {
  std::vector<uint8_t> data = encode_registry(snap.registry);
  if (data.size() > HOTPATCH_REGISTRY_HALF)
    throw Error(ErrorKind::Conflict, fmt::format("process {}: registry full ({} bytes needed)", process.pid(), data.size()));
  // Into the half that does not hold the current encoding; the header write below
  // switches to it (registry_layout.h: a killed CLI leaves the old one intact).
  const uint64_t offset = (snap.fresh || snap.offset != 0) ? 0 : HOTPATCH_REGISTRY_HALF;
  Header h{};
  std::memcpy(h.magic, HOTPATCH_REGISTRY_MAGIC, 8);
  h.layout_version = HOTPATCH_REGISTRY_LAYOUT_VERSION;
  h.lock = 0;
  h.generation = snap.generation + 1;
  h.capacity = HOTPATCH_REGISTRY_CAPACITY;
  h.used = data.size();
  h.offset = offset;
  // Data, then the header that switches to it, in one call (in order).
  const Process::WriteRequest writes[2] = {
      {address_ + static_cast<int64_t>(HOTPATCH_REGISTRY_HEADER_SIZE + offset), data.data(), data.size()},
      {address_, &h, sizeof h}};
  process.write_many(writes);
  snap.generation = h.generation;
  snap.offset = offset;
  snap.used = h.used;
  snap.fresh = false;
}

std::optional<pid_t> runtime_control_thread(const Process& process, const TargetObjects& objects) {
  for (const auto& o : objects.objects()) {
    if (!is_runtime_library_name(o.basename())) continue;
    try {
      for (const ElfSymbol* s : objects.image(o).find_symbols(HOTPATCH_CONTROL_THREAD_SYMBOL)) {
        if (!s->dynamic || s->section_index == 0) continue;
        int32_t tid = 0;
        // Its gettid(), an id of the process's own PID namespace: ours may differ.
        if (process.read_partial(RemoteAddr(s->value + o.bias), &tid, sizeof tid) == sizeof tid && tid > 0)
          return thread_with_own_id(process.pid(), tid);
      }
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

std::string locate_runtime_library() {
  if (const char* env = std::getenv("HOTPATCH_RUNTIME"); env && *env) {
    if (::access(env, R_OK) != 0) throw Error(ErrorKind::Internal, errno_message(fmt::format("HOTPATCH_RUNTIME={}", env), errno));
    char real[PATH_MAX];
    return ::realpath(env, real) ? real : env;
  }
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::vector<std::string> candidates;
  if (n > 0) candidates = runtime_library_candidates(directory_of(std::string(self, n)));
  for (const std::string& candidate : candidates) {
    char real[PATH_MAX];
    if (::access(candidate.c_str(), R_OK) == 0 && ::realpath(candidate.c_str(), real)) return real;
  }
  throw Error(ErrorKind::Internal, fmt::format("cannot find the runtime {} (looked in {}); set HOTPATCH_RUNTIME",
                                               HOTPATCH_RUNTIME_SONAME, fmt::join(candidates, ", ")));
}

void check_file_is_trusted(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorKind::BadPatchFile, errno_message(path, errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::BadPatchFile, fmt::format("{}: not a regular file", path));
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: owned by uid {}, not by you or root; refusing to load it into a process",
                                                     path, st.st_uid));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: writable by other users (mode {:o}); refusing to load it into a process",
                                                     path, st.st_mode & 07777));
}

}  // namespace hotpatch
