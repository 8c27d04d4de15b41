#include "runtime/libraries.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "runtime/code_loading.h"
#include "runtime/memory_file.h"
#include "runtime/registry_access.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

bool trusted_file(const std::string& path, std::string& error) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    return false;
  }
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    error = path + ": owned by uid " + std::to_string(st.st_uid) + ", not by this process's user or root; refusing to use it";
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
    error = path + ": writable by other users (mode " + mode + "); refusing to use it";
    return false;
  }
  return true;
}

bool address_in_library(uintptr_t address, void* handle) {
  Dl_info info;
  link_map* map = nullptr;
  if (!dladdr1(reinterpret_cast<void*>(address), &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP)) return false;
  return map == static_cast<link_map*>(handle);
}

LibraryTable& LibraryTable::instance() {
  static LibraryTable table;
  return table;
}

std::optional<LoadedLibrary> LibraryTable::find(const std::string& name) {
  std::lock_guard<std::mutex> guard(lock_);
  for (const auto& l : libraries_)
    if (l.name == name) return l;
  return std::nullopt;
}

void LibraryTable::list(Reply& reply) {
  std::lock_guard<std::mutex> guard(lock_);
  if (libraries_.empty()) reply.line("no libraries loaded");
  for (const auto& l : libraries_) reply.line(l.name + " " + l.path);
}

void LibraryTable::load(const std::string& name, const std::string& path, const trust::Policy& policy, Reply& reply,
                        LoadedLibrary& loaded) {
  std::lock_guard<std::mutex> guard(lock_);
  loaded.name = name;
  for (const auto& l : libraries_)
    if (l.name == name) return reply.fail("a library named '" + name + "' is already loaded (" + l.path + ")");
  char real[PATH_MAX];
  if (!::realpath(path.c_str(), real)) return reply.fail(path + ": " + std::strerror(errno));
  loaded.path = real;
  std::string error;
  if (!trusted_file(real, error)) return reply.fail(error);
  // Read once: these bytes are judged, and these bytes are mapped.
  std::vector<uint8_t> bytes;
  if (!trust::read_file(real, bytes, error)) return reply.fail(error);
  const trust::Verdict verdict = trust::judge(bytes.data(), bytes.size(), policy, real);
  loaded.sha256 = verdict.sha256;
  loaded.signer = verdict.signer;
  if (!verdict.allowed) return reply.fail(std::string(kPolicyRefusal) + verdict.reason);
  if (verdict.is_signed) {
    const trust::Trailer t = trust::parse_trailer(bytes.data(), bytes.size());
    loaded.key = t.public_key;
  }
  MemoryFile memfd("hotpatch-lib:" + name);
  if (!memfd.fill(bytes, error)) return reply.fail(error);
  std::string load_path;
  if (!memfd.unique_dlopen_name(load_path, error)) return reply.fail(error);
  // RTLD_NOW: an unresolved symbol fails here, not in the middle of a call later.
  void* handle = ::dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return reply.fail(std::string("dlopen of ") + real + " failed: " + (why ? why : "unknown error"));
  }
  loaded.handle = handle;
  loaded.fd = memfd.release();
  libraries_.push_back(loaded);
  reply.line("loaded " + name + " " + real + (loaded.signer.empty() ? "" : " (signed by key " + loaded.signer + ")"));
}

void LibraryTable::unload(const std::string& name, Reply& reply) {
  std::lock_guard<std::mutex> guard(lock_);
  auto it = libraries_.begin();
  while (it != libraries_.end() && it->name != name) ++it;
  if (it == libraries_.end()) return reply.fail("no library named '" + name + "' is loaded (see: lib list)");
  // The registry is the truth about redirects (ours and the ptrace Loader's); hold
  // its lock so no upgrade into this library lands between the check and dlclose.
  std::string error;
  auto tx = RegistryTransaction::begin(error);
  if (!tx) return reply.fail(error);
  for (const auto& p : tx->registry.patches)
    for (const auto& r : p.redirects)
      if (address_in_library(r.replacement, it->handle))
        return reply.fail("library '" + name + "' is in use: '" + r.symbol + "' still jumps into it (" + p.id +
                          "); roll it back first (func rollback " + r.symbol + ")");
  if (::dlclose(it->handle) != 0) {
    const char* why = ::dlerror();
    return reply.fail(std::string("dlclose failed: ") + (why ? why : "unknown error"));
  }
  reply.line("unloaded " + name + " " + it->path);
  if (it->fd >= 0) ::close(it->fd);
  libraries_.erase(it);
}

}  // namespace hotpatch::runtime
