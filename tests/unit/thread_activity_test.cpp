// ThreadActivity: "is this code in use?" answered from every thread's pc and stack
// words, on a real stopped child. The stacks pass through a fixed buffer in pieces,
// so a word far from a deep thread's stack pointer (beyond one buffer-full) must
// still be found, and several questions in one pass must each get their own answer.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "arch/arch.h"
#include "loader/activity.h"
#include "loader/process.h"
#include "loader/thread.h"

using namespace hotpatch;

namespace {

// Values planted on the child's stacks. Nothing maps them; the scan is conservative,
// so any word counts, code address or not.
constexpr uint64_t kDeepWord = 0x5a5a000010000ull;     // 600 KiB above the deep thread's sp
constexpr uint64_t kShallowWord = 0x5a5a000020000ull;  // near the shallow thread's sp
constexpr uint64_t kAbsentWord = 0x5a5a000030000ull;   // on no stack

struct Planted {
  int ready_pipe[2];
  std::atomic<int> ready{0};
  pid_t deep_tid = 0, shallow_tid = 0;
};

void park(Planted* p, pid_t* tid) {
  *tid = static_cast<pid_t>(::syscall(SYS_gettid));
  p->ready.fetch_add(1);
  for (;;) ::pause();
}

void* deep_thread(void* arg) {
  auto* p = static_cast<Planted*>(arg);
  // A frame larger than the scan buffer, the word at its far (high) end.
  volatile uint64_t frame[600 * 1024 / 8];
  for (auto& w : frame) w = 0;
  frame[sizeof frame / 8 - 1] = kDeepWord;
  park(p, &p->deep_tid);
  return nullptr;
}

void* shallow_thread(void* arg) {
  auto* p = static_cast<Planted*>(arg);
  volatile uint64_t frame[4] = {kShallowWord, 0, 0, 0};
  (void)frame;
  park(p, &p->shallow_tid);
  return nullptr;
}

// A forked child with a deep and a shallow thread; their tids come back through a pipe.
class PlantedChild {
 public:
  PlantedChild() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      static Planted planted;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setstacksize(&attr, 4u << 20);
      pthread_t a, b;
      pthread_create(&a, &attr, deep_thread, &planted);
      pthread_create(&b, nullptr, shallow_thread, &planted);
      while (planted.ready.load() < 2) ::usleep(1000);
      pid_t tids[2] = {planted.deep_tid, planted.shallow_tid};
      if (::write(fds[1], tids, sizeof tids) != sizeof tids) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(fds[1]);
    EXPECT_EQ(::read(fds[0], tids_, sizeof tids_), static_cast<ssize_t>(sizeof tids_));
    ::close(fds[0]);
  }
  ~PlantedChild() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  pid_t deep_tid() const { return tids_[0]; }
  pid_t shallow_tid() const { return tids_[1]; }

 private:
  pid_t pid_ = 0;
  pid_t tids_[2] = {0, 0};
};

GuardedRange around(uint64_t word, const std::string& what) {
  return {{RemoteAddr(word - 8), RemoteAddr(word + 8)}, what};
}

// The planted child, stopped, and what ThreadActivity sees of it.
struct StoppedChild {
  PlantedChild child;
  Process process{child.pid()};
  AllThreadsStopped world{process};
  std::optional<AddressSpace> space = process.address_space();
  ThreadActivity activity{process, world, space};
};

}  // namespace

TEST(ThreadActivity, FindsWordsNearAndFarFromTheStackPointer) {
  StoppedChild stopped;
  const PlantedChild& child = stopped.child;
  const ThreadActivity& activity = stopped.activity;

  auto deep = activity.find_active({around(kDeepWord, "deep")});
  ASSERT_TRUE(deep.has_value());
  EXPECT_NE(deep->find("deep is on the stack of thread " + std::to_string(child.deep_tid())), std::string::npos) << *deep;

  auto shallow = activity.find_active({around(kShallowWord, "shallow")});
  ASSERT_TRUE(shallow.has_value());
  EXPECT_NE(shallow->find("on the stack of thread " + std::to_string(child.shallow_tid())), std::string::npos) << *shallow;

  EXPECT_FALSE(activity.find_active({around(kAbsentWord, "absent")}).has_value());
  EXPECT_FALSE(activity.find_active({}).has_value());
}

TEST(ThreadActivity, AnswersSeveralQuestionsInOnePass) {
  StoppedChild stopped;
  const PlantedChild& child = stopped.child;
  const ThreadActivity& activity = stopped.activity;

  std::vector<std::vector<GuardedRange>> questions = {
      {around(kAbsentWord, "absent"), around(kDeepWord, "deep")},  // the second range answers
      {around(kAbsentWord, "absent")},
      {},
      {around(kShallowWord, "shallow")},
  };
  auto answers = activity.find_active_each(questions);
  ASSERT_EQ(answers.size(), questions.size());
  ASSERT_TRUE(answers[0].has_value());
  EXPECT_EQ(answers[0]->rfind("deep is on the stack", 0), 0u) << *answers[0];
  EXPECT_FALSE(answers[1].has_value());
  EXPECT_FALSE(answers[2].has_value());
  ASSERT_TRUE(answers[3].has_value());
  EXPECT_EQ(answers[3]->rfind("shallow is on the stack", 0), 0u) << *answers[3];

  // The thread that asked is skipped: its own stack does not make the code busy.
  auto ignoring = activity.find_active_each(questions, child.deep_tid());
  EXPECT_FALSE(ignoring[0].has_value()) << *ignoring[0];
  EXPECT_TRUE(ignoring[3].has_value());
}

TEST(ThreadActivity, ReportsAThreadRunningInARangeByItsPc) {
  StoppedChild stopped;
  const ThreadActivity& activity = stopped.activity;
  // Every address: the first thread's pc is in it before any stack word is looked at.
  auto everything = activity.find_active({{{RemoteAddr(0x1000), RemoteAddr(~uint64_t{0})}, "all code"}});
  ASSERT_TRUE(everything.has_value());
  EXPECT_NE(everything->find("all code is running on thread"), std::string::npos) << *everything;
}

TEST(StackFramesEnd, TrustsAControlBlockOnlyAtTheTopOfTheMapping) {
  user_regs_struct raw{};
  raw.rsp = 0x7f0000100000;
  const RemoteAddr mapping_end(0x7f0000200000);
  raw.fs_base = 0x7f0000200000 - 0x900;  // glibc: struct pthread at the top
  EXPECT_EQ(arch::Registers(raw).stack_frames_end(mapping_end), RemoteAddr(raw.fs_base));
  raw.fs_base = 0x7f0000180000;  // in the middle of the mapping: scan it all
  EXPECT_EQ(arch::Registers(raw).stack_frames_end(mapping_end), mapping_end);
  raw.fs_base = 0x7f00000f0000;  // below sp (another mapping): scan it all
  EXPECT_EQ(arch::Registers(raw).stack_frames_end(mapping_end), mapping_end);
  raw.fs_base = 0x555555560000;  // the main thread: its block is elsewhere
  EXPECT_EQ(arch::Registers(raw).stack_frames_end(mapping_end), mapping_end);
}

namespace {

constexpr uint64_t kBehindSignalWord = 0x5a5a000040000ull;  // on the normal stack, below a handler on an alternate one

std::atomic<pid_t> g_handler_tid{0};

void wait_on_alternate_stack(int) {
  g_handler_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  for (;;) ::pause();
}

void* interrupted_thread(void*) {
  stack_t ss{};
  ss.ss_size = 64 * 1024;
  ss.ss_sp = ::mmap(nullptr, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ::sigaltstack(&ss, nullptr);
  volatile uint64_t frame[4] = {0, 0, 0, 0};
  frame[0] = kBehindSignalWord;
  // Nothing may keep the word in a register: the signal frame saves the registers
  // (on the alternate stack), and the word must be found below it, not in it.
  asm volatile("" ::: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
               "memory");
  ::pthread_kill(::pthread_self(), SIGUSR1);  // the handler never returns
  (void)frame[0];
  return nullptr;
}

// A child whose second thread runs a signal handler on an alternate signal stack
// (its own mapping), with a word planted on its normal stack below the signal frame.
class HandlerOnAlternateStack {
 public:
  HandlerOnAlternateStack() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      struct sigaction sa {};
      sa.sa_handler = wait_on_alternate_stack;
      sa.sa_flags = SA_ONSTACK;
      ::sigaction(SIGUSR1, &sa, nullptr);
      pthread_t t;
      pthread_create(&t, nullptr, interrupted_thread, nullptr);
      while (g_handler_tid.load() == 0) ::usleep(1000);
      ::usleep(20000);  // into its pause()
      pid_t tid = g_handler_tid.load();
      if (::write(fds[1], &tid, sizeof tid) != sizeof tid) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(fds[1]);
    EXPECT_EQ(::read(fds[0], &tid_, sizeof tid_), static_cast<ssize_t>(sizeof tid_));
    ::close(fds[0]);
  }
  ~HandlerOnAlternateStack() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  pid_t tid() const { return tid_; }

 private:
  pid_t pid_ = 0;
  pid_t tid_ = 0;
};

}  // namespace

TEST(ThreadActivity, FollowsASignalFrameFromAnAlternateStackToTheInterruptedFrames) {
  HandlerOnAlternateStack child;
  Process process(child.pid());
  AllThreadsStopped world(process);
  std::optional<AddressSpace> space = process.address_space();
  ThreadActivity activity(process, world, space);
  auto found = activity.find_active({around(kBehindSignalWord, "interrupted")});
  ASSERT_TRUE(found.has_value()) << "the frames the handler interrupted were not scanned";
  EXPECT_NE(found->find("interrupted is on the stack of thread " + std::to_string(child.tid())), std::string::npos)
      << *found;
  EXPECT_NE(found->find("below a signal handler's frame"), std::string::npos) << *found;
  EXPECT_FALSE(activity.find_active({around(kAbsentWord, "absent")}).has_value());
}

// A stack word equal to a whole function's first byte is a pointer to it (a callback),
// never a return address into it: it does not make the function active. Inside the
// function, or for a range that is not a whole function, it does. Last in the file:
// the ranges leave kDeepWord itself in this process's stack, which the next planted
// child (a fork) would inherit in its main thread.
TEST(ThreadActivity, AFunctionsFirstByteOnTheStackIsAPointerNotAFrame) {
  StoppedChild stopped;
  const ThreadActivity& activity = stopped.activity;
  GuardedRange function{{RemoteAddr(kDeepWord), RemoteAddr(kDeepWord + 8)}, "function 'f'", true};
  EXPECT_FALSE(activity.find_active({function}).has_value());
  GuardedRange code{{RemoteAddr(kDeepWord), RemoteAddr(kDeepWord + 8)}, "code", false};
  EXPECT_TRUE(activity.find_active({code}).has_value());
  GuardedRange around_it{{RemoteAddr(kDeepWord - 8), RemoteAddr(kDeepWord + 8)}, "function 'g'", true};
  EXPECT_TRUE(activity.find_active({around_it}).has_value());
}
