#include "loader/patcher.h"

#include <elf.h>
#include <sys/mman.h>
#include <dlfcn.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <thread>
#include <utility>

#include "arch/arch.h"
#include "common/error.h"
#include "loader/activity.h"
#include "loader/address_space.h"
#include "loader/near_linker.h"
#include "loader/register_use.h"
#include "loader/target_unwinder.h"
#include "loader/process.h"
#include "loader/remote_call.h"
#include "loader/runtime_registry.h"
#include "loader/stop_retry.h"
#include "loader/target_objects.h"
#include "loader/test_steps.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kStubPageSize = 4096;
constexpr size_t kStubSlotSize = 16;  // stubs start 16-byte aligned
constexpr std::chrono::milliseconds kLoadPhaseTimeout(30000);

// Libc functions the loader calls inside the target.
struct LibcEntryPoints {
  RemoteAddr dlopen, dlclose, dlerror, mmap, munmap, mprotect;
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
  return e;
}

std::string remote_dlerror(Process& process, RemoteCall& rc, const LibcEntryPoints& libc) {
  uint64_t msg = rc.call(libc.dlerror, {}, "dlerror()");
  return msg ? process.read_cstring(RemoteAddr(msg), 1024) : std::string("unknown error");
}

uint64_t remote_dlopen(Process& process, RemoteCall& rc, const LibcEntryPoints& libc, const std::string& path) {
  RemoteAddr path_in_target = rc.push_string(path);
  // RTLD_NOW: every undefined symbol of the patch must resolve now, not crash later.
  uint64_t handle = rc.call(libc.dlopen, {path_in_target.value(), RTLD_NOW | RTLD_LOCAL}, "dlopen(" + path + ")");
  if (handle == 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: dlopen of {} failed inside the target: {}", process.pid(),
                                                   path, remote_dlerror(process, rc, libc)));
  return handle;
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

// What is left to undo if an apply fails after the patch was loaded.
struct LoadedPatch {
  uint64_t handle = 0;
  std::vector<MemoryBlock> stubs;
  std::vector<uint64_t> unwind_tables;  // registered with the target's unwinder
};

void unload(Process& process, const TargetObjects& objects, const LibcEntryPoints& libc, const LoadedPatch& loaded) {
  if (loaded.handle == 0 && loaded.stubs.empty()) return;
  auto thread = acquire_thread_for_calls(process, objects, Clock::now() + std::chrono::seconds(10));
  RemoteCall rc(process, *thread, objects);
  if (!loaded.unwind_tables.empty()) {
    // Never unmap a table the unwinder still walks: the next throw would read it.
    auto unwinder = TargetUnwinder::find(objects);
    if (!unwinder)
      throw Error(ErrorKind::Internal, fmt::format("process {}: the unwinder that holds the patch's unwind tables is gone; "
                                                   "the patch's memory stays mapped", process.pid()));
    for (uint64_t table : loaded.unwind_tables)
      rc.call(unwinder->deregister_frame, {table}, "__deregister_frame(patch)");
  }
  for (const auto& s : loaded.stubs) rc.call(libc.munmap, {s.start, s.length}, "munmap(stub page)");
  if (loaded.handle) rc.call(libc.dlclose, {loaded.handle}, "dlclose(patch)");
}

// Runs `change` with every thread stopped once no guarded range is active, retrying
// until the deadline. `change` gets the registry as it is inside the stop.
template <typename Change>
StopReport with_world_stopped(Process& process, const RuntimeRegistry& runtime, const RegistrySnapshot& before,
                              const std::vector<GuardedRange>& guarded, Clock::time_point deadline,
                              const std::string& action, Change&& change) {
  StopReport report;
  report.attempts = stop_until_idle(process, deadline, action, [&](AllThreadsStopped& world, std::optional<AddressSpace>& space)
                                                                   -> std::optional<std::string> {
    test_steps::reached("world-stopped");
    RegistrySnapshot snap = runtime.read(process, &before);
    if (snap.generation != before.generation)
      throw Error(ErrorKind::Conflict, fmt::format("process {}: its patches changed while {} was prepared (another "
                                                   "hotpatch?); nothing was changed, try again",
                                                   process.pid(), action));
    if (snap.lock_holder != 0) return fmt::format("the registry is being updated by thread {}", snap.lock_holder);
    if (auto active = ThreadActivity(process, world, space).find_active(guarded)) return active;
    change(snap);
    report.threads = world.threads().size();
    report.pause = world.release();
    test_steps::reached("released");
    return std::nullopt;
  });
  return report;
}

// One planned redirect, decided before anything in the target changes.
struct PlannedRedirect {
  RedirectRecord record;
  const PatchRecord* below = nullptr;  // patch already redirecting this function
  arch::RegisterSet preserve;          // registers callers may keep across the old function
};


}  // namespace

struct Patcher::Impl {
  explicit Impl(pid_t pid) : process(pid) {}
  Process process;

  // The target's objects, read once per command: reading them (every ELF image and
  // its debug symbols) is the bulk of a `list`. Forgotten when code was loaded or
  // unloaded.
  const TargetObjects& objects() {
    if (!objects_) objects_.emplace(process, process.address_space());
    return *objects_;
  }
  void forget_objects() { objects_.reset(); }

 private:
  std::optional<TargetObjects> objects_;
};

namespace {
// Forgets the cached objects when a command that loads or unloads code ends;
// declared before any reference to them, so it runs after their last use.
struct ForgetObjectsAtEnd {
  Patcher::Impl* impl;
  ~ForgetObjectsAtEnd() { impl->forget_objects(); }
};
}  // namespace

Patcher::Patcher(pid_t pid) : impl_(new Impl(pid)) {}
Patcher::~Patcher() { delete impl_; }

Registry Patcher::applied() {
  auto runtime = RuntimeRegistry::find(impl_->objects());
  if (!runtime) return {};
  return runtime->read(impl_->process).registry;
}

ApplyReport Patcher::apply_one(const PatchFile& patch, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  const pid_t pid = process.pid();
  // --timeout bounds the wait for the functions to become inactive (the stop phase);
  // finding a thread that can load the patch gets its own, longer bound, since on a
  // loaded machine being scheduled alone can take a while.
  const auto load_deadline = Clock::now() + std::max<std::chrono::milliseconds>(timeout, kLoadPhaseTimeout);
  check_file_is_trusted(patch.path);

  // 1. Before: everything decided from files and /proc, target untouched.
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();
  auto runtime = RuntimeRegistry::find(objects);
  const bool had_runtime = runtime.has_value();
  RegistrySnapshot before;
  if (runtime) before = runtime->read(process);
  if (before.registry.find(patch.id))
    throw Error(ErrorKind::Conflict, fmt::format("process {}: a patch with id '{}' is already applied (revert it first, or "
                                                 "give the new one another HOTPATCH_ID)",
                                                 pid, patch.id));
  std::vector<std::string> excluded = {patch.path};
  if (runtime) excluded.push_back(runtime->runtime_path());
  for (const auto& p : before.registry.patches) excluded.push_back(p.path);

  const LoadedObject* pinned = nullptr;
  if (patch.object) {
    pinned = objects.find_object(*patch.object);
    if (!pinned) throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: has no loaded object '{}' (HOTPATCH_OBJECT)", pid, *patch.object));
  }
  if (patch.build_id) {
    const LoadedObject* checked = pinned ? pinned : objects.main_executable();
    if (!checked) throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: cannot find its main executable to check the build-id", pid));
    auto actual = objects.image(*checked).build_id();
    if (!actual || *actual != *patch.build_id)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: build-id mismatch: the patch is for {}, {} has {}", pid,
                                                     *patch.build_id, checked->path, actual ? *actual : "none"));
  }

  const ElfImage patch_image = ElfImage::open(patch.path);
  std::vector<PlannedRedirect> planned;
  for (const auto& rep : patch.replacements) {
    ResolvedSymbol target = objects.resolve(rep.target_symbol, pinned, true, excluded);
    if (target.symbol.type == STT_GNU_IFUNC)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: '{}' in {} is an IFUNC resolver; patch the implementation "
                                                     "it selects instead", pid, rep.target_symbol, target.object->path));
    if (target.symbol.size == 0)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: '{}' in {} has no size in the symbol table; cannot check "
                                                     "that a jump fits", pid, rep.target_symbol, target.object->path));
    for (const auto& other : planned)
      if (other.record.target == target.address.value())
        throw Error(ErrorKind::BadPatchFile, fmt::format("{}: replaces '{}' and '{}', which are the same function at {}",
                                                         patch.path, other.record.symbol, rep.target_symbol, target.address));
    auto entry = process.read_bytes(target.address, std::min<uint64_t>(target.symbol.size, 16));
    size_t keep = arch::entry_prologue_to_keep(entry);
    if (target.symbol.size < keep + arch::kNearJumpSize)
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: function '{}' at {} is {} bytes, too short for a {}-byte "
                                                     "jump", pid, rep.target_symbol, target.address, target.symbol.size,
                                                     keep + arch::kNearJumpSize));
    PlannedRedirect p;
    p.record.symbol = rep.target_symbol;
    p.record.replacement_name = rep.replacement_name;
    p.record.target = target.address.value();
    p.record.target_size = target.symbol.size;
    p.record.patch_site = target.address.value() + keep;
    p.record.replacement_size = rep.replacement_size;
    p.below = before.registry.top_patch_for(p.record.target);
    p.preserve = registers_to_preserve(objects.image(*target.object), target.symbol.value, target.symbol.size,
                                       patch_image, rep.replacement_vaddr, rep.replacement_size);
    p.record.preserved = p.preserve.to_mask();
    planned.push_back(std::move(p));
  }
  std::vector<std::pair<uint64_t, RemoteAddr>> refs;  // slot vaddr -> target address
  for (const auto& ref : patch.refs)
    refs.emplace_back(ref.slot_vaddr, objects.resolve(ref.target_symbol, pinned, false, excluded).address);

  std::optional<NearLinker> near_linker;
  if (patch.link_near) {
    near_linker.emplace(patch_image, patch);
    near_linker->resolve(objects, pinned, excluded);
  }

  const LibcEntryPoints libc = find_libc_entry_points(objects);
  const std::string runtime_path = runtime ? runtime->runtime_path() : locate_runtime_library();
  if (!runtime) check_file_is_trusted(runtime_path);

  // Unwind tables are registered before any jump leads into the patch, so that a
  // throw in its code (or through one of its stubs) always finds them.
  const std::optional<TargetUnwinder> unwinder = TargetUnwinder::find(objects);
  std::vector<std::string> notes;
  bool told_no_unwinder = false;
  auto no_unwinder_note = [&] {
    if (!std::exchange(told_no_unwinder, true))
      notes.push_back("the process has no unwinder loaded (libgcc_s.so.1); unwind tables are not registered (a C++ "
                      "exception or a backtrace could not pass through the patched functions)");
  };
  auto register_unwind_table = [&](RemoteCall& rc, LoadedPatch& loaded, RemoteAddr table) {
    rc.call(unwinder->register_frame, {table.value()}, "__register_frame(patch)");
    loaded.unwind_tables.push_back(table.value());
  };

  // 2. Load, while the other threads run.
  LoadedPatch loaded;
  try {
    int64_t patch_bias = 0;
    {
      auto thread = acquire_thread_for_calls(process, objects, load_deadline);
      test_steps::reached("thread-seized");
      RemoteCall rc(process, *thread, objects);
      if (!runtime) remote_dlopen(process, rc, libc, runtime_path);
      if (near_linker) {
        RemoteAddr base = map_near(process, rc, libc, RemoteAddr(planned.front().record.patch_site), near_linker->span(),
                                   PROT_READ, "patch " + patch.id);
        loaded.stubs.push_back({base.value(), near_linker->span()});
        auto protections = near_linker->link(process, base, [&](uint64_t resolver) {
          return rc.call(RemoteAddr(resolver), {}, "IFUNC resolver");
        });
        for (const auto& prot : protections)
          if (rc.call(libc.mprotect, {prot.start.value(), prot.length, static_cast<uint64_t>(prot.prot)}, "mprotect(patch)") != 0)
            throw Error(ErrorKind::Internal, fmt::format("process {}: mprotect of patch '{}' at {} failed", pid, patch.id, prot.start));
        patch_bias = static_cast<int64_t>(base.value());
        if (patch.unwind_vaddr && !patch.unwind_terminated)
          notes.push_back(fmt::format("the unwind table of {} has no terminator; not registered: exceptions cannot pass "
                                      "through the patched functions", patch.path));
        else if (patch.unwind_vaddr && !unwinder)
          no_unwinder_note();
        else if (patch.unwind_vaddr)
          register_unwind_table(rc, loaded, base + static_cast<int64_t>(patch.unwind_vaddr));
      } else {
        loaded.handle = remote_dlopen(process, rc, libc, patch.path);
        // dlopen's handle is the object's link_map, whose first field is its load bias.
        patch_bias = static_cast<int64_t>(process.read_u64(RemoteAddr(loaded.handle)));
      }

      struct StubPage { RemoteAddr start; size_t used = 0; };
      std::vector<StubPage> pages;
      std::vector<arch::StubUnwind> stub_frames;  // of the register-preserving stubs, which call
      for (auto& p : planned) {
        p.record.replacement = patch.replacements[&p - planned.data()].replacement_vaddr + patch_bias;
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
          loaded.stubs.push_back({start.value(), kStubPageSize});
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
        loaded.stubs.push_back({start.value(), length});
        process.write_bytes(start, table);
        register_unwind_table(rc, loaded, start);
      } else if (!stub_frames.empty()) {
        no_unwinder_note();
      }
    }  // the borrowed thread runs again
    test_steps::reached("loaded");

    for (const auto& [slot_vaddr, address] : refs)
      process.write_u64(RemoteAddr(slot_vaddr + patch_bias), address.value());
    for (auto& p : planned) {
      RemoteAddr site(p.record.patch_site);
      RemoteAddr dest(p.record.stub ? p.record.stub : p.record.replacement);
      p.record.written = *arch::encode_near_jump(site, dest);
    }

    // The runtime may have been loaded just now: find its registry.
    TargetObjects after_load(process, process.address_space());
    runtime = RuntimeRegistry::find(after_load);
    if (!runtime) throw Error(ErrorKind::Internal, fmt::format("process {}: {} was loaded but its registry is not visible", pid, runtime_path));
    if (!had_runtime) before = runtime->read(process);

    PatchRecord record;
    record.id = patch.id;
    record.description = patch.description;
    record.path = patch.path;
    record.applied_unix = static_cast<uint64_t>(std::time(nullptr));
    record.handle = loaded.handle;
    record.stubs = loaded.stubs;
    record.unwind_tables = loaded.unwind_tables;
    record.code = {patch.text_vaddr_start + patch_bias, patch.text_vaddr_end - patch.text_vaddr_start};

    // 3. Stop: the function being replaced (and whatever currently stands in for it)
    // must not be running anywhere.
    std::vector<GuardedRange> guarded;
    for (const auto& p : planned) {
      guarded.push_back({{RemoteAddr(p.record.target), RemoteAddr(p.record.target + p.record.target_size)},
                         fmt::format("function '{}'", p.record.symbol)});
      if (p.below)
        for (const auto& r : p.below->redirects)
          if (r.target == p.record.target && r.replacement_size)
            guarded.push_back({{RemoteAddr(r.replacement), RemoteAddr(r.replacement + r.replacement_size)},
                               fmt::format("function '{}' of patch '{}'", r.replacement_name.empty() ? r.symbol : r.replacement_name,
                                           p.below->id)});
    }
    StopReport stop = with_world_stopped(
        process, *runtime, before, guarded, Clock::now() + timeout, fmt::format("apply '{}'", patch.id),
        [&](RegistrySnapshot& snap) {
          // Every entry's current bytes in one read.
          std::vector<Process::ReadRequest> entries;
          for (auto& p : planned) {
            p.record.saved.assign(p.record.written.size(), 0);
            entries.push_back({RemoteAddr(p.record.patch_site), p.record.saved.data(), p.record.saved.size()});
          }
          process.read_many(entries);
          for (const auto& e : entries)
            if (e.got != e.len)
              throw Error(ErrorKind::Target, fmt::format("process {}: cannot read the {} bytes at {}", pid, e.len, e.addr));
          for (auto& p : planned) {
            const PatchRecord* below = snap.registry.top_patch_for(p.record.target);
            if (below) {
              for (const auto& r : below->redirects)
                if (r.target == p.record.target && r.written != p.record.saved)
                  throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is not what patch '{}' "
                                                               "wrote; refusing to touch it", pid, p.record.symbol,
                                                               RemoteAddr(p.record.patch_site), below->id));
            } else if (arch::decode_jump(RemoteAddr(p.record.patch_site), p.record.saved)) {
              throw Error(ErrorKind::Conflict, fmt::format("process {}: '{}' at {} already starts with a jump that no patch "
                                                           "of ours wrote (another patching tool?)", pid, p.record.symbol,
                                                           RemoteAddr(p.record.patch_site)));
            }
          }
          for (const auto& p : planned) record.redirects.push_back(p.record);
          // The journal first: a record that says "applying", with every saved byte.
          // A CLI killed from here on leaves it behind, and the next one (any
          // apply, revert or list) writes the jumps still missing (finish_interrupted).
          record.state = PatchState::Applying;
          snap.registry.patches.push_back(record);
          runtime->write(process, snap);
          test_steps::reached("journal-written");
          for (size_t i = 0; i < planned.size(); ++i) {
            process.write_bytes(RemoteAddr(planned[i].record.patch_site), planned[i].record.written);
            test_steps::reached(fmt::format("jump-{}-written", i + 1));
          }
          record.state = PatchState::Applied;
          snap.registry.patches.back().state = PatchState::Applied;
          runtime->write(process, snap);
          test_steps::reached("committed");
        });
    ApplyReport report;
    static_cast<StopReport&>(report) = stop;
    report.functions = planned.size();
    report.record = record;
    report.notes = notes;
    return report;
  } catch (...) {
    const Error exited(ErrorKind::Target, fmt::format("process {}: {} while '{}' was being applied", pid,
                                                  process.replaced_by_exec() ? "ran a new program (execve)" : "exited",
                                                  patch.id));
    if (!process.alive()) throw exited;
    try {
      unload(process, objects, libc, loaded);
    } catch (const std::exception& e) {
      if (!process.alive()) throw exited;  // it died meanwhile: that was the failure
      fmt::print(stderr, "hotpatch: warning: process {}: could not unload the patch after the failure: {}\n", pid, e.what());
    }
    throw;
  }
}

RevertReport Patcher::revert_one(const std::string& id, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  const pid_t pid = process.pid();
  const auto deadline = Clock::now() + timeout;
  ForgetObjectsAtEnd forget{impl_};
  const TargetObjects& objects = impl_->objects();
  auto runtime = RuntimeRegistry::find(objects);
  if (!runtime) throw Error(ErrorKind::Conflict, fmt::format("process {}: no patch '{}' is applied (no patch was ever applied)", pid, id));
  RegistrySnapshot before = runtime->read(process);
  const PatchRecord* found = before.registry.find(id);
  if (!found) throw Error(ErrorKind::Conflict, fmt::format("process {}: no patch '{}' is applied (see: hotpatch -p {} list)", pid, id, pid));
  const PatchRecord patch = *found;
  for (const auto& r : patch.redirects) {
    const PatchRecord* top = before.registry.top_patch_for(r.target);
    if (top && top->id != id)
      throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' is applied on top of '{}' (function '{}'); revert "
                                                   "'{}' first", pid, top->id, id, r.symbol, top->id));
  }
  const LibcEntryPoints libc = find_libc_entry_points(objects);

  std::vector<GuardedRange> guarded;
  if (patch.code.length) guarded.push_back({{RemoteAddr(patch.code.start), RemoteAddr(patch.code.start + patch.code.length)},
                                            fmt::format("code of patch '{}'", id)});
  for (const auto& s : patch.stubs)
    guarded.push_back({{RemoteAddr(s.start), RemoteAddr(s.start + s.length)}, fmt::format("a jump stub of patch '{}'", id)});

  StopReport stop = with_world_stopped(
      process, *runtime, before, guarded, deadline, fmt::format("revert '{}'", id), [&](RegistrySnapshot& snap) {
        for (const auto& r : patch.redirects) {
          auto now = process.read_bytes(RemoteAddr(r.patch_site), r.written.size());
          if (now != r.written && now != r.saved)
            throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is not what patch '{}' wrote; "
                                                         "refusing to restore it", pid, r.symbol, RemoteAddr(r.patch_site), id));
        }
        // The journal first, as for apply: "reverting"; a CLI killed from here on
        // leaves it behind, and the next one puts back the bytes still missing.
        for (auto& p : snap.registry.patches)
          if (p.id == id) p.state = PatchState::Reverting;
        runtime->write(process, snap);
        test_steps::reached("journal-written");
        for (size_t i = 0; i < patch.redirects.size(); ++i) {
          const auto& r = patch.redirects[i];
          process.write_bytes(RemoteAddr(r.patch_site), r.saved);
          test_steps::reached(fmt::format("jump-{}-restored", i + 1));
        }
        std::erase_if(snap.registry.patches, [&](const PatchRecord& p) { return p.id == id; });
        runtime->write(process, snap);
        test_steps::reached("committed");
      });

  // 4. After: no thread is in the patch and nothing jumps to it any more.
  LoadedPatch leftovers{patch.handle, patch.stubs, patch.unwind_tables};
  try {
    unload(process, objects, libc, leftovers);
    test_steps::reached("unloaded");
  } catch (const std::exception& e) {
    fmt::print(stderr, "hotpatch: warning: process {}: patch '{}' is reverted but its code could not be unloaded: {}\n", pid,
               id, e.what());
  }
  RevertReport report;
  static_cast<StopReport&>(report) = stop;
  report.functions = patch.redirects.size();
  report.id = id;
  return report;
}

ApplyReport Patcher::apply(const PatchFile& patch, std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("apply");
  return apply_one(patch, timeout);
}

RevertReport Patcher::revert(const std::string& id, std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("revert");
  return revert_one(id, timeout);
}

std::vector<RevertReport> Patcher::revert_all(std::chrono::milliseconds timeout) {
  finish_interrupted(timeout);
  test_steps::Phase phase("revert");
  std::vector<RevertReport> reports;
  for (;;) {
    Registry reg = applied();
    if (reg.patches.empty()) return reports;
    reports.push_back(revert_one(reg.patches.back().id, timeout));
  }
}

void Patcher::finish_interrupted(std::chrono::milliseconds timeout) {
  test_steps::Phase phase("recover");
  Process& process = impl_->process;
  for (;;) {
    Registry reg = applied();
    auto pending = std::find_if(reg.patches.rbegin(), reg.patches.rend(),
                                [](const PatchRecord& p) { return p.state != PatchState::Applied; });
    if (pending == reg.patches.rend()) return;
    const std::string id = pending->id;
    if (pending->state == PatchState::Applying) {
      complete_apply(id, timeout);
      fmt::print(stderr, "hotpatch: note: process {}: finished applying '{}', which an interrupted hotpatch had left "
                         "half done\n", process.pid(), id);
    } else {
      revert_one(id, timeout);
      fmt::print(stderr, "hotpatch: note: process {}: finished reverting '{}', which an interrupted hotpatch had left "
                         "half done\n", process.pid(), id);
    }
  }
}

void Patcher::complete_apply(const std::string& id, std::chrono::milliseconds timeout) {
  Process& process = impl_->process;
  const pid_t pid = process.pid();
  const TargetObjects& objects = impl_->objects();
  auto runtime = RuntimeRegistry::find(objects);
  if (!runtime) return;
  RegistrySnapshot before = runtime->read(process);
  const PatchRecord* found = before.registry.find(id);
  if (!found || found->state != PatchState::Applying) return;
  // What the apply guarded: each replaced function, and what stood in for it below.
  std::vector<GuardedRange> guarded;
  for (const auto& r : found->redirects) {
    guarded.push_back({{RemoteAddr(r.target), RemoteAddr(r.target + r.target_size)}, fmt::format("function '{}'", r.symbol)});
    for (const auto& below : before.registry.patches) {
      if (below.id == id) break;
      for (const auto& b : below.redirects)
        if (b.target == r.target && b.replacement_size)
          guarded.push_back({{RemoteAddr(b.replacement), RemoteAddr(b.replacement + b.replacement_size)},
                             fmt::format("function '{}' of patch '{}'", b.replacement_name.empty() ? b.symbol : b.replacement_name,
                                         below.id)});
    }
  }
  with_world_stopped(process, *runtime, before, guarded, Clock::now() + timeout,
                     fmt::format("finish applying '{}'", id), [&](RegistrySnapshot& snap) {
                       auto it = std::find_if(snap.registry.patches.begin(), snap.registry.patches.end(),
                                              [&](const PatchRecord& p) { return p.id == id; });
                       if (it == snap.registry.patches.end() || it->state != PatchState::Applying)
                         throw Error(ErrorKind::Conflict, fmt::format("process {}: patch '{}' changed meanwhile", pid, id));
                       std::vector<bool> missing;
                       for (const auto& r : it->redirects) {
                         auto now = process.read_bytes(RemoteAddr(r.patch_site), r.written.size());
                         if (now != r.written && now != r.saved)
                           throw Error(ErrorKind::Conflict, fmt::format("process {}: the entry of '{}' at {} is neither what "
                                                                        "patch '{}' wrote nor what it saved; refusing to touch it",
                                                                        pid, r.symbol, RemoteAddr(r.patch_site), id));
                         missing.push_back(now != r.written);
                       }
                       for (size_t i = 0; i < it->redirects.size(); ++i) {
                         if (!missing[i]) continue;
                         process.write_bytes(RemoteAddr(it->redirects[i].patch_site), it->redirects[i].written);
                         test_steps::reached(fmt::format("jump-{}-written", i + 1));
                       }
                       it->state = PatchState::Applied;
                       runtime->write(process, snap);
                       test_steps::reached("committed");
                     });
}

}  // namespace hotpatch
