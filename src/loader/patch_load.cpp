#include "loader/patch_load.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "arch/arch.h"
#include "common/error.h"
#include "loader/address_space.h"
#include "loader/interruption.h"
#include "loader/near_linker.h"
#include "loader/patch_plan.h"
#include "loader/process.h"
#include "loader/remote_call.h"
#include "loader/target_objects.h"
#include "loader/target_unwinder.h"
#include "loader/test_steps.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

using Clock = std::chrono::steady_clock;
#ifndef MFD_EXEC
constexpr unsigned MFD_EXEC = 0x0010U;  // Linux 6.3 (linux/memfd.h); Debian 12's headers predate it
#endif
constexpr uint64_t kStubPageSize = 4096;
constexpr size_t kStubSlotSize = 16;  // stubs start 16-byte aligned

// Libc functions the loader calls inside the target.
struct LibcEntryPoints {
  RemoteAddr dlopen, dlclose, dlerror, mmap, munmap, mprotect, memfd_create, close;
};

LibcEntryPoints find_libc_entry_points(const TargetObjects& objects) {
  const LoadedObject* libc = &objects.libc("load code into it");
  auto get = [&](const char* name) { return objects.resolve(name, libc, true).address; };
  LibcEntryPoints e;
  // glibc >= 2.34 exports dlopen from libc itself (Debian 12 has 2.36).
  e.dlopen = get("dlopen");
  e.dlclose = get("dlclose");
  e.dlerror = get("dlerror");
  e.mmap = get("mmap");
  e.munmap = get("munmap");
  e.mprotect = get("mprotect");
  e.memfd_create = get("memfd_create");
  e.close = get("close");
  return e;
}

std::string remote_dlerror(Process& process, RemoteCall& rc, const LibcEntryPoints& libc) {
  uint64_t msg = rc.call(libc.dlerror, {}, "dlerror()");
  return msg ? process.read_cstring(RemoteAddr(msg), 1024) : std::string("unknown error");
}

uint64_t remote_dlopen(Process& process, RemoteCall& rc, const LibcEntryPoints& libc, const std::string& path,
                       const std::string& shown_as = "") {
  RemoteAddr path_in_target = rc.push_string(path);
  // RTLD_NOW: every undefined symbol of the patch must resolve now, not crash later.
  uint64_t handle = rc.call(libc.dlopen, {path_in_target.value(), RTLD_NOW | RTLD_LOCAL}, "dlopen(" + path + ")");
  if (handle == 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: dlopen of {} failed inside the target: {}", process.pid(),
                                                   shown_as.empty() ? path : shown_as, remote_dlerror(process, rc, libc)));
  return handle;
}

int64_t as_int(uint64_t v) { return static_cast<int64_t>(v); }

// Writes `bytes` into the target's memfd `fd` from here (through /proc/PID/task/TID/fd, which
// reopens that very file), then seals it: nobody, the target included, can change
// what will be mapped. Returns the memfd's inode.
uint64_t fill_memfd(pid_t pid, pid_t tid, int64_t fd, const std::vector<uint8_t>& bytes) {
  // Through the borrowed thread: /proc/PID/fd is gone once the thread-group leader
  // has exited (e2e/leader_exited); the descriptor table is the same.
  const std::string path = fmt::format("/proc/{}/task/{}/fd/{}", pid, tid, fd);
  int out = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (out < 0) throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot open its memfd {}", pid, path), errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(out, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      ::close(out);
      throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot write the patch into {}", pid, path), err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    int err = errno;
    ::close(out);
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot seal {}", pid, path), err));
  }
  struct stat st {};
  const int err = ::fstat(out, &st) == 0 ? 0 : errno;
  ::close(out);
  if (err) throw Error(ErrorKind::Target, errno_message(fmt::format("process {}: cannot stat {}", pid, path), err));
  return st.st_ino;
}

// Loads a patch with dlopen from the bytes read (and judged) when the command
// started, never from its path again (docs/security.md): they go into a sealed
// memfd of the target's, and the target's dlopen maps /proc/thread-self/fd/N. The
// descriptor is closed once mapped; /proc/PID/maps names the mapping
// "/memfd:hotpatch:ID (deleted)" (patch_mapping_name).
uint64_t dlopen_patch_bytes(Process& process, RemoteCall& rc, const LibcEntryPoints& libc, const PatchFile& patch) {
  const pid_t pid = process.pid();
  if (!patch.bytes) throw Error(ErrorKind::Internal, fmt::format("{}: the patch's bytes were not read", patch.path));
  const std::string name = "hotpatch:" + patch.id;
  // MFD_EXEC: since Linux 6.3 a memfd may be created without exec permission
  // (vm.memfd_noexec); older kernels refuse the flag, so ask again without it.
  int64_t fd = as_int(rc.call(libc.memfd_create, {rc.push_string(name).value(), MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC},
                              "memfd_create(" + name + ")"));
  if (fd < 0)
    fd = as_int(rc.call(libc.memfd_create, {rc.push_string(name).value(), MFD_CLOEXEC | MFD_ALLOW_SEALING},
                        "memfd_create(" + name + ")"));
  if (fd < 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: memfd_create failed inside it (a seccomp filter?); the "
                                                   "patch is loaded from a memfd only", pid));
  auto close_fd = [&] { rc.call(libc.close, {static_cast<uint64_t>(fd)}, "close(memfd)"); };
  try {
    const uint64_t inode = fill_memfd(pid, rc.thread().tid(), fd, *patch.bytes);
    // dlopen returns an object already loaded under the same name without opening
    // anything, and every earlier copy (reverted patches stay mapped: Patcher::dispose)
    // was loaded as /proc/thread-self/fd/N with a descriptor number reused since. The name
    // carries this memfd's inode (unique while any copy is mapped), one path step per
    // bit ("/." for 0, "/../fd" for 1: both stay in the fd directory), so no loaded copy
    // has it.
    // /proc/thread-self, not /proc/self: the latter is the thread-group leader's, whose
    // descriptors cannot be read once it has exited (e2e/leader_exited).
    std::string path = "/proc/thread-self/fd";
    for (uint64_t bits = inode; bits; bits >>= 1) path += (bits & 1) ? "/../fd" : "/.";
    path += fmt::format("/{}", fd);
    uint64_t handle = remote_dlopen(process, rc, libc, path, patch.path);
    close_fd();  // the mapping keeps the memfd
    return handle;
  } catch (...) {
    try {
      close_fd();
    } catch (const std::exception&) {
      // The call itself failed (the process died?): the first error says why.
    }
    throw;
  }
}

// Maps `length` bytes of fresh memory in a free gap within jump reach of `near`.
// MAP_FIXED_NOREPLACE never takes over someone's mapping; if the target mapped the
// gap meanwhile, look again.
RemoteAddr map_near(Process& process, RemoteCall& rc, const LibcEntryPoints& libc, RemoteAddr near, uint64_t length,
                    int prot, const std::string& what) {
  for (int tries = 0;; ++tries) {
    AddressSpace space = process.address_space();
    auto where = space.free_range_near(near, length, arch::kNearJumpReach - static_cast<int64_t>(length) - 2 * 4096);
    if (!where)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: no free address space within jump reach of {} for {}",
                                                     process.pid(), near, what));
    uint64_t got = rc.call(libc.mmap, {where->value(), length, static_cast<uint64_t>(prot), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                                       static_cast<uint64_t>(-1), 0},
                           "mmap(" + what + ")");
    if (got == where->value()) return *where;
    if (got != reinterpret_cast<uint64_t>(MAP_FAILED) && got != 0) rc.call(libc.munmap, {got, length}, "munmap(misplaced " + what + ")");
    if (tries >= 5) throw Error(ErrorKind::Internal, fmt::format("process {}: cannot map {} near {}", process.pid(), what, near));
  }
}

}  // namespace

void check_same_file_in_target(const Process& process, pid_t tid, const std::string& path) {
  struct stat ours{}, theirs{};
  if (::stat(path.c_str(), &ours) != 0)
    throw Error(ErrorKind::BadPatchFile, errno_message(fmt::format("cannot stat {}", path), errno));
  // The thread's root: /proc/PID/root is gone once the thread-group leader has exited.
  const std::string there = fmt::format("/proc/{}/task/{}/root{}", process.pid(), tid, path);
  if (::stat(there.c_str(), &theirs) != 0)
    throw Error(ErrorKind::DoesNotFit,
                errno_message(fmt::format("process {}: {} is not there in its mount namespace (a container?): {}",
                                          process.pid(), path, there), errno));
  if (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino)
    throw Error(ErrorKind::DoesNotFit,
                fmt::format("process {}: {} names another file in its mount namespace (a container, or a mount over "
                            "it) than the one checked here (device {}:{} inode {} there, {}:{} inode {} here); "
                            "refusing to load it",
                            process.pid(), path, major(theirs.st_dev), minor(theirs.st_dev), theirs.st_ino,
                            major(ours.st_dev), minor(ours.st_dev), ours.st_ino));
}

std::string patch_mapping_name(const std::string& id) { return "/memfd:hotpatch:" + id + " (deleted)"; }
bool is_loaded_code_mapping(const std::string& path) { return path.rfind("/memfd:hotpatch", 0) == 0; }

void unload_code(Process& process, const TargetObjects& objects, const LoadedCode& code) {
  if (code.empty()) return;
  const LibcEntryPoints libc = find_libc_entry_points(objects);
  auto thread = acquire_thread_for_calls(process, objects, Clock::now() + std::chrono::seconds(10));
  RemoteCall rc(process, *thread, objects);
  if (!code.unwind_tables.empty()) {
    // Never unmap a table the unwinder still walks: the next throw would read it.
    auto unwinder = TargetUnwinder::find(objects);
    if (!unwinder)
      throw Error(ErrorKind::Internal, fmt::format("process {}: the unwinder that holds the patch's unwind tables is gone; "
                                                   "the patch's memory stays mapped", process.pid()));
    for (uint64_t table : code.unwind_tables)
      rc.call(unwinder->deregister_frame, {table}, "__deregister_frame(patch)");
  }
  for (const auto& s : code.stubs) rc.call(libc.munmap, {s.start, s.length}, "munmap(stub page)");
  if (code.handle) rc.call(libc.dlclose, {code.handle}, "dlclose(patch)");
}

PatchLoad::PatchLoad(Process& process, const TargetObjects& objects) : process_(process), objects_(objects) {}

PatchLoad::~PatchLoad() {
  if (kept_ || code_.empty() || !process_.alive()) return;
  if (call_abandoned()) {
    fmt::print(stderr, "hotpatch: note: process {}: interrupted: the patch's code stays loaded, unused (nothing jumps "
                       "to it)\n", process_.pid());
    return;
  }
  try {
    unload_code(process_, objects_, code_);
  } catch (const std::exception& e) {
    if (process_.alive())  // else its death was the failure, and the caller says so
      fmt::print(stderr, "hotpatch: warning: process {}: could not unload the patch after the failure: {}\n",
                 process_.pid(), e.what());
  }
}

void PatchLoad::load(ApplyPlan& plan, Clock::time_point deadline) {
  Process& process = process_;
  const pid_t pid = process.pid();
  const PatchFile& patch = *plan.patch;
  const LibcEntryPoints libc = find_libc_entry_points(objects_);

  // Unwind tables are registered before any jump leads into the patch, so that a
  // throw in its code (or through one of its stubs) always finds them.
  const std::optional<TargetUnwinder> unwinder = TargetUnwinder::find(objects_);
  bool told_no_unwinder = false;
  auto no_unwinder_note = [&] {
    if (!std::exchange(told_no_unwinder, true))
      notes_.push_back("the process has no unwinder loaded (libgcc_s.so.1); unwind tables are not registered (a C++ "
                       "exception or a backtrace could not pass through the patched functions)");
  };
  auto register_unwind_table = [&](RemoteCall& rc, RemoteAddr table) {
    rc.call(unwinder->register_frame, {table.value()}, "__register_frame(patch)");
    code_.unwind_tables.push_back(table.value());
  };

  {
    auto thread = acquire_thread_for_calls(process, objects_, deadline);
    test_steps::reached("thread-seized");
    RemoteCall rc(process, *thread, objects_);
    if (!plan.runtime) {
      const auto started = Clock::now();
      check_same_file_in_target(process, rc.thread().tid(), plan.runtime_path);
      remote_dlopen(process, rc, libc, plan.runtime_path);
      runtime_load_ = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    }
    if (plan.near_linker) {
      RemoteAddr base = map_near(process, rc, libc, RemoteAddr(plan.redirects.front().record.patch_site),
                                 plan.near_linker->span(), PROT_READ, "patch " + patch.id);
      code_.stubs.push_back({base.value(), plan.near_linker->span()});
      auto protections = plan.near_linker->link(process, base, [&](uint64_t resolver) {
        return rc.call(RemoteAddr(resolver), {}, "IFUNC resolver");
      });
      for (const auto& prot : protections)
        if (rc.call(libc.mprotect, {prot.start.value(), prot.length, static_cast<uint64_t>(prot.prot)}, "mprotect(patch)") != 0)
          throw Error(ErrorKind::Internal, fmt::format("process {}: mprotect of patch '{}' at {} failed", pid, patch.id, prot.start));
      bias_ = static_cast<int64_t>(base.value());
      if (patch.unwind_vaddr && !patch.unwind_terminated)
        notes_.push_back(fmt::format("the unwind table of {} has no terminator; not registered: exceptions cannot pass "
                                     "through the patched functions", patch.path));
      else if (patch.unwind_vaddr && !unwinder)
        no_unwinder_note();
      else if (patch.unwind_vaddr)
        register_unwind_table(rc, base + static_cast<int64_t>(patch.unwind_vaddr));
    } else {
      code_.handle = dlopen_patch_bytes(process, rc, libc, patch);
      // dlopen's handle is the object's link_map, whose first field is its load bias.
      bias_ = static_cast<int64_t>(process.read_u64(RemoteAddr(code_.handle)));
    }

    struct StubPage { RemoteAddr start; size_t used = 0; };
    std::vector<StubPage> pages;
    std::vector<arch::StubUnwind> stub_frames;  // of the register-preserving stubs, which call
    for (auto& p : plan.redirects) {
      p.record.replacement = p.replacement_vaddr + bias_;
      std::vector<uint8_t> stub_code;
      arch::StubUnwind frame;
      if (!p.preserve.empty()) {
        stub_code = arch::encode_preserving_stub(RemoteAddr(p.record.replacement), p.preserve, &frame);
      } else if (!arch::near_jump_reaches(RemoteAddr(p.record.patch_site), RemoteAddr(p.record.replacement))) {
        stub_code = arch::encode_far_jump(RemoteAddr(p.record.replacement));
      } else {
        continue;  // a direct jump reaches and nothing needs saving
      }
      size_t slot_size = (stub_code.size() + kStubSlotSize - 1) / kStubSlotSize * kStubSlotSize;
      StubPage* page = nullptr;
      for (auto& candidate : pages) {
        RemoteAddr slot = candidate.start + static_cast<int64_t>(candidate.used);
        if (candidate.used + slot_size <= kStubPageSize && arch::near_jump_reaches(RemoteAddr(p.record.patch_site), slot))
          page = &candidate;
      }
      if (!page) {
        RemoteAddr start = map_near(process, rc, libc, RemoteAddr(p.record.patch_site), kStubPageSize,
                                    PROT_READ | PROT_EXEC, "stub page");
        code_.stubs.push_back({start.value(), kStubPageSize});
        pages.push_back({start, 0});
        page = &pages.back();
      }
      RemoteAddr slot = page->start + static_cast<int64_t>(page->used);
      page->used += slot_size;
      p.record.stub = slot.value();
      process.write_bytes(slot, stub_code);
      if (frame.code_size) {
        frame.start = slot;
        stub_frames.push_back(std::move(frame));
      }
    }
    if (!stub_frames.empty() && unwinder) {
      // A preserving stub calls the replacement, so its frame lies between the
      // replacement and the caller when an exception leaves the replacement.
      auto table = arch::encode_stub_unwind_table(stub_frames);
      uint64_t length = (table.size() + kStubPageSize - 1) / kStubPageSize * kStubPageSize;
      RemoteAddr start = map_near(process, rc, libc, RemoteAddr(stub_frames.front().start), length, PROT_READ,
                                  "stub unwind table");
      code_.stubs.push_back({start.value(), length});
      process.write_bytes(start, table);
      register_unwind_table(rc, start);
    } else if (!stub_frames.empty()) {
      no_unwinder_note();
    }
  }  // the borrowed thread runs again
  test_steps::reached("loaded");

  for (const auto& [slot_vaddr, address] : plan.refs)
    process.write_u64(RemoteAddr(slot_vaddr + bias_), address.value());
  for (auto& p : plan.redirects) {
    RemoteAddr site(p.record.patch_site);
    RemoteAddr dest(p.record.stub ? p.record.stub : p.record.replacement);
    p.record.written = *arch::encode_near_jump(site, dest);
  }

  // The runtime may have been loaded just now: find its registry.
  if (plan.runtime) {
    runtime_ = plan.runtime;
    before_ = plan.before;
  } else {
    TargetObjects after_load(process, process.address_space());
    runtime_ = RuntimeRegistry::find(after_load);
    if (!runtime_)
      throw Error(ErrorKind::Internal, fmt::format("process {}: {} was loaded but its registry is not visible", pid,
                                                   plan.runtime_path));
    before_ = runtime_->read(process);
  }
}

PatchRecord PatchLoad::record(const ApplyPlan& plan) const {
  const PatchFile& patch = *plan.patch;
  PatchRecord record;
  record.id = patch.id;
  record.description = patch.description;
  record.path = patch.path;
  record.applied_unix = static_cast<uint64_t>(std::time(nullptr));
  record.handle = code_.handle;
  record.stubs = code_.stubs;
  record.unwind_tables = code_.unwind_tables;
  record.code = {patch.text_vaddr_start + bias_, patch.text_vaddr_end - patch.text_vaddr_start};
  for (const auto& p : plan.redirects) record.redirects.push_back(p.record);
  return record;
}

}  // namespace hotpatch
