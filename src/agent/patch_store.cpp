#include "agent/patch_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

#include "agent/operations.h"
#include "common/error.h"

namespace hotpatch::ops {

namespace {

void make_dirs(const std::string& dir) {
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot create {}", part), errno));
  }
}

// Copies `from` to `to` through a temporary file in the same directory and a rename:
// a reader (the agent) sees the old file or the new one, never half of one.
void copy_atomically(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error(ErrorKind::BadPatchFile, errno_message(from, errno));
  std::string tmp = to + ".tmp-" + std::to_string(::getpid());
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot create {}", tmp), err));
  }
  char buf[65536];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 || ::write(out, buf, n) != n) {
      ok = false;
      break;
    }
  }
  int err = errno;
  ok = ok && ::fchmod(out, 0644) == 0 && ::fsync(out) == 0;
  if (!ok) err = errno;
  ::close(in);
  if (::close(out) != 0) ok = false;
  if (!ok || ::rename(tmp.c_str(), to.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot install {} as {}", from, to), err));
  }
}

}  // namespace

PatchFile PatchStore::install(const std::string& file, bool& replaced) {
  PatchFile patch = accept_patch_file(file, "install-patch");
  if (!patch.build_id)
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: names no build-id (HOTPATCH_BUILD_ID): the agent could not tell "
                                                     "which processes it is for", patch.path));
  make_dirs(dir_);
  check_trusted();
  const std::string to = path_of(patch.id);
  replaced = ::access(to.c_str(), F_OK) == 0;
  copy_atomically(patch.path, to);
  return accept_patch_file(to, "install-patch");
}

void PatchStore::remove(const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id[0] == '.')
    throw Error(ErrorKind::Usage, fmt::format("'{}' is not a patch id", id));
  if (::unlink(path_of(id).c_str()) != 0) {
    if (errno == ENOENT)
      throw Error(ErrorKind::Conflict, fmt::format("no patch '{}' is installed in {}", id, dir_));
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot remove {}", path_of(id)), errno));
  }
}

std::vector<PatchFile> PatchStore::patches(std::vector<std::string>* problems) const {
  std::vector<PatchFile> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 3 && name.ends_with(".so") && name[0] != '.') names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    try {
      PatchFile p = accept_patch_file(dir_ + "/" + name, "installed-patch");
      if (p.id + ".so" != name) {
        if (problems) problems->push_back(fmt::format("{}/{}: holds patch '{}', not '{}'; skipped", dir_, name, p.id,
                                                      name.substr(0, name.size() - 3)));
        continue;
      }
      out.push_back(std::move(p));
    } catch (const Error& e) {
      if (problems) problems->push_back(fmt::format("{}; skipped", e.what()));
    }
  }
  return out;
}

std::string PatchStore::version() const {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) return "";
  return fmt::format("{}.{}:{}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_nlink);
}

void PatchStore::check_trusted() const {
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) throw Error(ErrorKind::BadPatchFile, errno_message(dir_, errno));
  if (!S_ISDIR(st.st_mode)) throw Error(ErrorKind::BadPatchFile, fmt::format("{}: not a directory", dir_));
  if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: writable by other users (owner uid {}, mode {:o}); refusing "
                                                     "to take patches from it", dir_, st.st_uid, st.st_mode & 07777));
}

}  // namespace hotpatch::ops
