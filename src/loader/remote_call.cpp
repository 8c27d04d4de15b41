#include "loader/remote_call.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>
#include <thread>

#include <fmt/core.h>

#include "arch/arch.h"
#include "common/error.h"
#include "loader/interruption.h"
#include "loader/locking_code.h"
#include "loader/process.h"
#include "loader/runtime_registry.h"
#include "loader/target_objects.h"
#include "loader/test_steps.h"

namespace hotpatch {

namespace {

constexpr size_t kScratchSize = 8192;
// How often a remote call that takes long looks for a termination signal.
constexpr std::chrono::milliseconds kInterruptCheck(50);
constexpr uint64_t kPage = 4096;
// Where the pad may go when nothing is free near libc: anywhere.
constexpr int64_t kAnywhere = int64_t{1} << 47;

bool is_synchronous_fault(int sig, const siginfo_t& info) {
  // si_code > 0: raised by the kernel for an instruction of this thread, not sent.
  return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) && info.si_code > 0;
}

// "dlopen(/x/fix.so)" -> "dlopen": the call's name in test step names.
std::string step_label(const std::string& what) {
  std::string label;
  for (char c : what) {
    if (c == '(' || c == ' ') break;
    label += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return label.empty() ? "call" : label;
}

// Where this process's own libc put its signal restorer, relative to libc's
// lowest mapping, and that libc's build-id: glibc passes __restore_rt as
// sa_restorer with every sigaction, and the raw syscall reads it back.
struct OwnRestorer {
  uint64_t offset = 0;
  std::string build_id;
};

std::optional<OwnRestorer> find_own_restorer() {
  struct sigaction quiet{}, old{};
  quiet.sa_handler = [](int) {};
  sigemptyset(&quiet.sa_mask);
  if (::sigaction(SIGWINCH, &quiet, &old) != 0) return std::nullopt;
  struct {
    uint64_t handler, flags, restorer, mask;
  } kernel_action{};
  long rc = ::syscall(SYS_rt_sigaction, SIGWINCH, nullptr, &kernel_action, sizeof kernel_action.mask);
  ::sigaction(SIGWINCH, &old, nullptr);
  if (rc != 0 || kernel_action.restorer == 0) return std::nullopt;
  try {
    // The dynamic linker's idea of where our libc starts: /proc/self/maps could also
    // list the same file mapped again by an ElfImage (which maps what it reads).
    Dl_info info{};
    if (!::dladdr(reinterpret_cast<void*>(kernel_action.restorer), &info) || !info.dli_fname || !info.dli_fbase)
      return std::nullopt;
    auto id = ElfImage::open(info.dli_fname).build_id();
    if (!id) return std::nullopt;
    return OwnRestorer{kernel_action.restorer - reinterpret_cast<uint64_t>(info.dli_fbase), *id};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// libc's signal restorer in the target: at the offset ours has when the target's
// libc is the same build, else the one place in its code with the restorer's bytes.
RemoteAddr find_signal_restorer(const Process& process, const TargetObjects& objects) {
  const LoadedObject* libc = &objects.libc("run code in it");
  const auto code = arch::signal_restorer_code();
  const std::vector<uint8_t> expected(code.begin(), code.end());
  static const std::optional<OwnRestorer> own = find_own_restorer();
  if (own) {
    auto id = objects.image(*libc).build_id();
    RemoteAddr at = libc->base + static_cast<int64_t>(own->offset);
    if (id && *id == own->build_id && process.read_bytes(at, expected.size()) == expected) return at;
  }
  std::vector<RemoteAddr> found;
  for (const auto& range : libc->executable_ranges) {
    std::vector<uint8_t> text = process.read_bytes(range.start, range.size());
    for (auto it = text.begin(); (it = std::search(it, text.end(), expected.begin(), expected.end())) != text.end(); ++it)
      found.push_back(range.start + (it - text.begin()));
  }
  if (found.size() == 1) return found.front();
  throw Error(ErrorKind::DoesNotFit,
              fmt::format("process {}: cannot find the signal restorer (__restore_rt) in its {} ({} candidates); "
                          "hotpatch needs it to run code in the process safely",
                          process.pid(), libc->path, found.size()));
}

// A signal the return pad can send to its own thread to end a call that runs
// without syscall stops (arch::return_pad_code): one the program neither catches
// nor blocks on this thread, nor has pending, and whose default action is to be
// ignored, so that a pad running after the CLI died sends it to no effect. 0 when
// there is none: calls then stop at every syscall. HOTPATCH_REMOTE_CALLS=syscall-stops
// forces that (for comparisons and tests).
int pick_notice_signal(pid_t pid, pid_t tid, uint64_t blocked) {
  if (const char* env = std::getenv("HOTPATCH_REMOTE_CALLS"); env && std::strcmp(env, "syscall-stops") == 0) return 0;
  auto masks = signal_masks(pid, tid);
  if (!masks) return 0;
  for (int sig : {SIGURG, SIGWINCH}) {
    const uint64_t bit = signal_bit(sig);
    if (((masks->caught | blocked | masks->pending | masks->shared_pending) & bit) == 0) return sig;
  }
  return 0;
}

}  // namespace

RemoteCall::RemoteCall(Process& process, Thread& thread, const TargetObjects& objects)
    : process_(process), thread_(thread), objects_(objects) {
  if (call_abandoned())
    throw Error(ErrorKind::Internal, fmt::format("process {}: an earlier remote call of this command was abandoned; "
                                                 "running no more", process.pid()));
  restorer_ = find_signal_restorer(process_, objects);
  const LoadedObject* libc = &objects.libc("run code in it");
  mmap_ = objects.resolve("mmap", libc, true).address;
  munmap_ = objects.resolve("munmap", libc, true).address;

  context_ = thread_.registers();
  arch::settle_interrupted_syscall(context_);
  extended_ = thread_.read_extended_state();
  blocked_signals_ = thread_.blocked_signals();
  notice_signal_ = pick_notice_signal(process_.pid(), thread_.tid(), blocked_signals_);
  thread_.trace_syscalls();
  scratch_top_ = RemoteAddr((context_.sp().value() - arch::kRedZoneSize) & ~uint64_t{15});
  scratch_next_ = scratch_top_;
  try {
    map_return_pad();
  } catch (...) {
    if (thread_moved_) thread_.adopt_registers(context_);
    throw;
  }
}

RemoteCall::~RemoteCall() {
  if (abandoned_) return;  // the thread is still in the call: the pad and the frame are its way back
  if (pad_) {
    try {
      // Returns through libc's restorer: the pad is what goes away.
      run(munmap_, {pad_->value(), kPage}, "munmap(return pad)", restorer_,
          restorer_ + static_cast<int64_t>(arch::signal_restorer_syscall_end()), false, std::chrono::milliseconds(5000));
    } catch (const std::exception& e) {
      fmt::print(stderr, "hotpatch: warning: process {}: the page of remote calls at {} stays mapped: {}\n",
                 process_.pid(), *pad_, e.what());
    }
  }
  if (thread_moved_) thread_.adopt_registers(context_);
}

void RemoteCall::map_return_pad() {
  // The middle page of three free ones: nothing of anyone's can merge with it, so the
  // maps show exactly our page when the mmap worked. The program maps memory itself
  // meanwhile (dlopen, malloc): if it took the gap first, look again.
  for (int attempt = 1;; ++attempt) {
    AddressSpace space = process_.address_space();
    auto gap = space.free_range_near(restorer_, 3 * kPage, arch::kNearJumpReach);
    if (!gap) gap = space.free_range_near(restorer_, 3 * kPage, kAnywhere);
    if (!gap) throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: no free page for remote calls", process_.pid()));
    const RemoteAddr where = *gap + static_cast<int64_t>(kPage);
    run(mmap_,
        {where.value(), kPage, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
         static_cast<uint64_t>(-1), 0},
        "mmap(return pad)", restorer_, restorer_ + static_cast<int64_t>(arch::signal_restorer_syscall_end()), false,
        std::chrono::milliseconds(5000));
    // The restorer does not pass the result on: look at the maps instead.
    AddressSpace after = process_.address_space();
    const Mapping* m = after.find(where);
    if (m && m->range.start == where && m->range.end == where + static_cast<int64_t>(kPage) && m->executable &&
        !m->writable && m->inode == 0 && m->path.empty()) {
      process_.write_bytes(where, arch::return_pad_code(notice_signal_));
      pad_ = where;
      return;
    }
    if (attempt >= 5)
      throw Error(ErrorKind::Internal,
                  fmt::format("process {}: could not map a page for remote calls (last try at {}; the program keeps "
                              "mapping memory there)", process_.pid(), where));
  }
}

RemoteAddr RemoteCall::push_string(const std::string& s) {
  size_t len = s.size() + 1;
  if (scratch_top_ - scratch_next_ + static_cast<int64_t>(len) > static_cast<int64_t>(kScratchSize))
    throw Error(ErrorKind::Internal, "remote call scratch space exhausted");
  scratch_next_ = RemoteAddr((scratch_next_.value() - len) & ~uint64_t{15});
  process_.write(scratch_next_, s.c_str(), len);
  return scratch_next_;
}

uint64_t RemoteCall::call(RemoteAddr function, std::initializer_list<uint64_t> args, const std::string& what,
                          std::chrono::milliseconds warn_after) {
  return run(function, std::vector<uint64_t>(args), what, *pad_,
             *pad_ + static_cast<int64_t>(arch::return_pad_syscall_end(notice_signal_)), true, warn_after);
}

uint64_t RemoteCall::run(RemoteAddr function, const std::vector<uint64_t>& args, const std::string& what,
                         RemoteAddr return_to, RemoteAddr sigreturn_pc, bool wants_result,
                         std::chrono::milliseconds warn_after) {
  const pid_t pid = process_.pid();
  const pid_t tid = thread_.tid();
  const std::string step = test_steps::next_call(step_label(what));
  arch::SignalFrame frame = arch::build_signal_frame(context_, extended_, blocked_signals_, scratch_next_, return_to);
  arch::Registers regs = context_;
  arch::CallFrame call = arch::prepare_call(regs, function, args, frame.call_stack_top, return_to);
  if (call.stack_pointer != frame.start)
    throw Error(ErrorKind::Internal, fmt::format("process {}: call frame at {} is not the signal frame at {}", pid,
                                                 call.stack_pointer, frame.start));
  // The frame first: from the moment the thread has the new registers, a dying CLI
  // leaves it a way back.
  process_.write_bytes(frame.start, frame.bytes);
  thread_.set_registers(regs);
  thread_moved_ = true;
  thread_.resume_to_syscall(0);
  test_steps::reached(step + ":started");

  // Calls through a pad that sends a notice signal run free (PTRACE_CONT) after
  // their first syscall: a dlopen makes dozens of syscalls, and stopping at both
  // ends of each cost milliseconds on a loaded machine, with the borrowed thread's
  // own work (an accept loop, say) waiting all along. The first syscall still stops,
  // so that a test can kill the CLI with the thread inside the call.
  const int notice = (wants_result && return_to == pad_) ? notice_signal_ : 0;
  const RemoteAddr notice_pc = return_to + static_cast<int64_t>(arch::return_pad_notice_end());
  bool following_syscalls = true;
  auto resume = [&](int sig) {
    if (following_syscalls) thread_.resume_to_syscall(sig);
    else thread_.resume(sig);
  };
  bool inside_seen = false;
  auto started = std::chrono::steady_clock::now();
  auto next_warning = started + warn_after;
  for (;;) {
    auto status = thread_.wait_status(std::min(next_warning, std::chrono::steady_clock::now() + kInterruptCheck));
    if (!status) {
      if (pending_termination_signal()) {
        // The call cannot be abandoned half way; the thread finishes it on its own
        // and returns through the signal frame, as after a SIGKILL of the CLI. The
        // kernel detaches it when we exit.
        abandoned_ = true;
        note_call_abandoned();
        throw_if_interrupted(fmt::format("thread {} runs {} (left to finish it on its own)", tid, what));
      }
      if (std::chrono::steady_clock::now() < next_warning) continue;
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      fmt::print(stderr, "hotpatch: warning: process {} thread {}: {} has not returned after {} s; still waiting\n", pid,
                 tid, what, waited.count());
      next_warning += warn_after;
      continue;
    }
    int st = *status;
    if (WIFEXITED(st) || WIFSIGNALED(st))
      throw Error(ErrorKind::Target, fmt::format("process {}: exited during {} on thread {}", pid, what, tid));
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st);
    int event = st >> 16;
    if (sig == (SIGTRAP | 0x80)) {
      auto stop = thread_.syscall_stop();
      if (stop && stop->entry && stop->number == arch::sigreturn_syscall() && stop->pc == sigreturn_pc &&
          stop->sp == frame.sigreturn_sp) {
        // Our rt_sigreturn (a signal handler's own has another pc or stack).
        uint64_t result = wants_result ? process_.read_u64(frame.result_slot) : 0;
        test_steps::reached(step + ":returning");
        finish_sigreturn(what);
        return result;
      }
      if (!inside_seen) {
        inside_seen = true;
        test_steps::reached(step + ":inside");
        if (notice) following_syscalls = false;
      }
      resume(0);
      continue;
    }
    if (event == PTRACE_EVENT_STOP) {
      // A group-stop (SIGSTOP...) or a stray interrupt: finish the call first; the
      // kernel puts the thread back in the group-stop when we detach.
      resume(0);
      continue;
    }
    if (notice && sig == notice) {
      const arch::Registers now = thread_.read_registers();
      if (now.pc() == notice_pc && now.sp() == frame.sigreturn_sp) {
        // The pad's notice: swallow it and follow the rt_sigreturn that comes next.
        test_steps::reached(step + ":notice");
        following_syscalls = true;
        resume(0);
        continue;
      }
      if (now.pc() == context_.pc() && now.sp() == context_.sp()) {
        // The call itself blocked the signal when the pad sent it: the pad's
        // rt_sigreturn already put the thread back (and unblocked it). The result is
        // still in its slot; the signal is swallowed by the next resume.
        uint64_t result = process_.read_u64(frame.result_slot);
        test_steps::reached(step + ":notice-after-return");
        return result;
      }
      // Otherwise it is the program's own (a signal it ignores): delivered below.
    }
    siginfo_t info{};
    if (::ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) != 0)
      throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_GETSIGINFO during {}", pid,
                                                               tid, what), errno));
    if (is_synchronous_fault(sig, info)) {
      // The call crashed. Delivering the signal would kill the process; instead the
      // thread goes back to what it was doing. A lock the call held stays held (a
      // dlopen holds the dynamic loader's): when the fault's stack shows code that
      // takes such locks, nothing more is run in the process by this command, and
      // the user is told. A fault in the patch's own code (a callback) leaves none.
      const arch::Registers at_fault = thread_.read_registers();
      const std::string risk = fault_lock_risk(at_fault, frame.start);
      put_thread_back();
      if (risk.empty())
        throw Error(ErrorKind::Internal, fmt::format("process {} thread {}: {} faulted (signal {}) at pc {}; the thread "
                                                     "was put back to what it was doing",
                                                     pid, tid, what, strsignal(sig), at_fault.pc()));
      note_call_abandoned();
      throw Error(ErrorKind::Internal,
                  fmt::format("process {} thread {}: {} faulted (signal {}) at pc {} ({}); the thread was put back to "
                              "what it was doing and nothing more is run in the process. A lock the call held (the "
                              "dynamic loader's, malloc's) may stay held: its next dlopen or malloc may hang; restart "
                              "the process when you can",
                              pid, tid, what, strsignal(sig), at_fault.pc(), risk));
    }
    // A signal for the program: deliver it now, as it would be at any other point
    // of the program's own code; its handler returns into the call.
    resume(sig);
  }
}

void RemoteCall::finish_sigreturn(const std::string& what) {
  // The kernel's rt_sigreturn would put the thread back from the frame, but it also
  // resets the thread's restart block (restore_sigcontext), and a sleep we stopped
  // with -ERESTART_RESTARTBLOCK (nanosleep, clock_nanosleep, poll, a futex wait with
  // a timeout: sem_timedwait, pthread_cond_timedwait) would then fail with EINTR when
  // it restarts. So, with us alive, the thread is put back by ptrace instead, and the
  // rt_sigreturn skipped: extended state and signal mask first, the registers last,
  // with orig_rax = -1 (context_ is settled), which makes the kernel skip the
  // syscall. Killed before that last write, the kernel's rt_sigreturn does it all.
  thread_.write_extended_state(extended_);
  uint64_t mask = blocked_signals_;
  if (::ptrace(PTRACE_SETSIGMASK, thread_.tid(), reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    throw Error(ErrorKind::Target, errno_message(fmt::format("process {} thread {}: PTRACE_SETSIGMASK", process_.pid(),
                                                             thread_.tid()), errno));
  thread_.set_registers(context_);
  thread_.resume_to_syscall(0);
  for (;;) {
    auto status = thread_.wait_status(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (!status)
      throw Error(ErrorKind::Internal, fmt::format("process {} thread {}: rt_sigreturn after {} did not come back",
                                                   process_.pid(), thread_.tid(), what));
    int st = *status;
    if (WIFEXITED(st) || WIFSIGNALED(st))
      throw Error(ErrorKind::Target, fmt::format("process {}: exited after {} on thread {}", process_.pid(), what, thread_.tid()));
    if (!WIFSTOPPED(st)) continue;
    if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
      auto stop = thread_.syscall_stop();
      if (stop && !stop->entry) break;
    }
    // Nothing else can stop the thread between the two halves of a syscall; if
    // something did, let it go on to the exit stop.
    thread_.resume_to_syscall(0);
  }
  arch::Registers now = thread_.read_registers();
  if (now.pc() != context_.pc() || now.sp() != context_.sp()) {
    // The skipped rt_sigreturn did not leave the registers as written: say so, and
    // put the thread back by ptrace so that it is whole in any case.
    put_thread_back();
    throw Error(ErrorKind::Internal, fmt::format("process {} thread {}: after {}, rt_sigreturn left pc {} sp {} instead of "
                                                 "pc {} sp {}", process_.pid(), thread_.tid(), what, now.pc(), now.sp(),
                                                 context_.pc(), context_.sp()));
  }
}

void RemoteCall::put_thread_back() {
  thread_.set_registers(context_);
  thread_.write_extended_state(extended_);
}

// --------------------------------------------------------------------------------

namespace {

bool syscall_is_memory_management(int64_t nr) {
  switch (nr) {
    case SYS_mmap: case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_brk: case SYS_madvise:
      return true;  // malloc may hold an arena lock around these
    default:
      return false;
  }
}

bool is_dynamic_loader(const LoadedObject& o) {
  std::string base = o.basename();
  return base.rfind("ld-linux", 0) == 0 || base.rfind("ld-", 0) == 0;
}

// Libraries whose locks our remote calls take: libc (malloc), the dynamic loader
// (dlopen) and libgcc's unwinder (__register_frame, for near-linked patches).
bool is_runtime_library(const LoadedObject& o) {
  std::string base = o.basename();
  return base.rfind("libc.so", 0) == 0 || base.rfind("ld-linux", 0) == 0 || base.rfind("libc-", 0) == 0 ||
         base.rfind("ld-", 0) == 0 || base.rfind("libgcc_s.so", 0) == 0;
}

// glibc's fork() holds its atfork lock, stdio's list lock and the malloc arena
// locks from before its first rt_sigprocmask (blocking all signals) until after
// the clone and the second rt_sigprocmask (restoring them); it takes and drops
// the arena locks one by one, in libc's own lock code (futex wait and wake),
// while holding the others. A thread stopped in any of those syscalls holds
// locks that a call run on it needs (malloc in dlopen, __unregister_atfork in
// dlclose): the call waits for the thread itself, forever. Seen, each of them,
// in tests/e2e/fork_during_apply. None of these syscalls blocks for long (but
// the lock wait), so passing such a thread over costs nothing.
bool syscall_may_be_inside_fork(int64_t nr) {
  return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork || nr == SYS_rt_sigprocmask;
}

// libc's code that waits for and wakes waiters of its internal locks (malloc's,
// stdio's, fork's, ...): a thread in a syscall there is inside some libc
// function that may hold other such locks.
std::vector<RemoteRange> libc_internal_lock_code(const TargetObjects& objects) {
  std::vector<RemoteRange> ranges;
  const LoadedObject* libc = objects.find_object("libc.so.6");
  if (!libc) return ranges;
  for (const char* name : {"__lll_lock_wait_private", "__lll_lock_wake_private"}) {
    auto f = objects.try_resolve(name, libc, true);
    if (f && f->symbol.size) ranges.push_back({f->address, f->address + static_cast<int64_t>(f->symbol.size)});
  }
  return ranges;
}

// Why this thread is not a good place to run loader code right now, or "" if it is.
std::string unsafe_reason(const Thread& t, const TargetObjects& objects, const std::vector<RemoteRange>& libc_lock_code) {
  if (t.stop_kind() == StopKind::SignalDelivery) return "a signal is being delivered to it";
  const arch::Registers& regs = t.registers();
  int64_t nr = regs.syscall_number();
  if (nr >= 0) {
    if (syscall_is_memory_management(nr)) return "it is in a memory-management syscall";
    if (syscall_may_be_inside_fork(nr)) return "it may be inside fork(), which holds malloc's locks";
    for (const auto& r : libc_lock_code)
      if (r.contains(regs.pc())) return "it is in libc's internal locking and may hold libc's locks";
    // ld.so makes its own syscalls (openat, read, fstat, close) only while it loads
    // or unloads an object, holding its lock, with a link map half made: a dlopen of
    // ours on that thread would nest inside the program's (the lock is recursive).
    if (const LoadedObject* where = objects.object_containing(regs.pc()); where && is_dynamic_loader(*where))
      return "it is inside the dynamic loader (a dlopen or dlclose of the program's is in progress)";
    return "";
  }
  const LoadedObject* where = objects.object_containing(regs.pc());
  if (where && is_runtime_library(*where)) return "it is running libc, dynamic-loader or unwinder code";
  return "";
}

// Stack a remote call needs below the thread's stack pointer: the red zone (128
// bytes), our scratch strings (kScratchSize), the signal frame with the XSAVE image
// (up to ~11 KiB with AVX-512), and the called function's own frames: dlopen, the
// constructors it runs, malloc (a few KiB each; the margin is deliberate).
constexpr uint64_t kCallStackRoom = 64 * 1024;
// What the kernel keeps free below a growing [stack] (stack_guard_gap: 256 pages).
constexpr uint64_t kStackGuardGap = 256 * 4096;

const Mapping* mapping_below(const AddressSpace& space, const Mapping& m) {
  const Mapping* below = nullptr;
  for (const Mapping& other : space.mappings())
    if (other.range.end <= m.range.start) below = &other;
  return below;
}

// Why a call would not fit on this thread's stack, or "" if it does. A thread stack
// is the process's [stack], which the kernel grows down to the mapping below it, or
// an anonymous writable mapping with an inaccessible guard right below it, as
// pthread_create makes them. Anything else (the heap, a mapping without a guard)
// may be a signal stack in allocated memory whose real end we cannot see: a call
// there could overwrite the program's data without a fault.
std::string stack_room_problem(const arch::Registers& regs, const AddressSpace& space) {
  const RemoteAddr sp = regs.sp();
  const Mapping* m = space.find(sp);
  if (!m) return fmt::format("its stack pointer {} is in no mapping", sp);
  const Mapping* below = mapping_below(space, *m);
  uint64_t room = 0;
  if (m->path == "[stack]") {
    const uint64_t floor = below ? below->range.end.value() + kStackGuardGap : 0;
    room = sp.value() > floor ? sp.value() - floor : 0;
  } else {
    const bool anonymous = m->path.empty() || m->path.rfind("[anon:", 0) == 0;
    const bool guarded = below && below->range.end == m->range.start && !below->readable && !below->writable &&
                         !below->executable;
    if (!anonymous || !m->writable || !guarded)
      return fmt::format("its stack pointer {} is in {} with no guard page below it (a signal stack in allocated "
                         "memory?): the end of its stack is unknown", sp,
                         m->path.empty() ? std::string("an anonymous mapping") : m->path);
    room = sp - m->range.start;
  }
  if (room < kCallStackRoom)
    return fmt::format("it has {} bytes of stack left below {}, and a remote call needs {}", room, sp, kCallStackRoom);
  return "";
}

}  // namespace

std::unique_ptr<Thread> acquire_thread_for_calls(Process& process, const TargetObjects& objects,
                                                 std::chrono::steady_clock::time_point deadline) {
  std::string last_reason;
  const std::vector<RemoteRange> libc_lock_code = libc_internal_lock_code(objects);
  const LockingCode locking = LockingCode::find(objects);
  std::optional<AddressSpace> space;  // read again when a thread's stack is not in it (a thread born since)
  // The runtime's control thread first, when it runs one: it exists to serve us, and
  // while it runs our calls every thread of the program goes on with its own work.
  const std::optional<pid_t> control = runtime_control_thread(process, objects);
  for (int round = 0;; ++round) {
    std::vector<pid_t> tids = process.thread_ids();
    if (tids.empty()) throw Error(ErrorKind::Target, fmt::format("process {}: exited", process.pid()));
    if (auto it = control ? std::find(tids.begin(), tids.end(), *control) : tids.end(); it != tids.end())
      std::rotate(tids.begin(), it, it + 1);
    for (pid_t tid : tids) {
      if (thread_state(process.pid(), tid) == 'D') {  // could not stop for us now: not even tried
        last_reason = fmt::format("thread {}: {}", tid, describe_thread_state(process.pid(), tid));
        continue;
      }
      auto t = std::make_unique<Thread>(process.pid(), tid);
      if (!t->seize_and_interrupt()) continue;
      if (!t->wait_for_stop()) continue;
      std::string reason = unsafe_reason(*t, objects, libc_lock_code);
      if (reason.empty()) {
        if (!space || !space->find(t->registers().sp())) space = process.address_space();
        reason = stack_room_problem(t->registers(), *space);
      }
      if (reason.empty()) reason = locking.inside(process, *t, *space);
      if (reason.empty()) {
        test_steps::reached(control && tid == *control ? "borrowed-control-thread" : "borrowed-program-thread");
        return t;
      }
      last_reason = fmt::format("thread {}: {}", tid, reason);
      t->release();
    }
    throw_if_interrupted("looking for a thread that can run code safely; nothing was changed");
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: no thread reached a point where code can be loaded safely "
                                               "({})", process.pid(), last_reason));
    std::this_thread::sleep_for(std::chrono::microseconds(round < 10 ? 200 : 2000));
  }
}

std::string RemoteCall::fault_lock_risk(const arch::Registers& at_fault, RemoteAddr frame_start) const {
  const LockingCode locking = LockingCode::find(objects_);
  auto locking_at = [&](RemoteAddr addr) -> std::string {
    if (const LoadedObject* o = objects_.object_containing(addr); o && is_runtime_library(*o)) return o->path;
    return locking.code_at(addr);
  };
  if (std::string where = locking_at(at_fault.pc()); !where.empty()) return "in " + where;
  // The call's own frames: from the fault's stack pointer up to our signal frame.
  const RemoteAddr sp = at_fault.sp();
  constexpr int64_t kMaxScan = 1024 * 1024;
  if (!(sp < frame_start) || frame_start - sp > kMaxScan)
    return fmt::format("its stack pointer {} is outside the call's stack", sp);
  std::vector<uint64_t> words(static_cast<size_t>(frame_start - sp) / 8);
  const size_t got = process_.read_partial(sp, words.data(), words.size() * 8) / 8;
  for (size_t i = 0; i < got; ++i)
    if (std::string where = locking_at(RemoteAddr(words[i])); !where.empty())
      return fmt::format("called from {}", where);
  return "";
}

}  // namespace hotpatch
