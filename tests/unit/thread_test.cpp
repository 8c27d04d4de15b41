// Thread and AllThreadsStopped on real children: a thread that cannot stop (a vfork
// parent, state D) must not hold the others for longer than the attempt's deadline,
// and must be let go once its stop comes.
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "loader/process.h"
#include "loader/thread.h"

using namespace hotpatch;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Shared with the child: a worker thread's counter, proof that it runs.
struct Shared {
  std::atomic<uint64_t> worker_loops{0};
  std::atomic<pid_t> worker_tid{0};
};

void* worker(void* arg) {
  auto* shared = static_cast<Shared*>(arg);
  shared->worker_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  for (;;) {
    shared->worker_loops.fetch_add(1);
    ::usleep(1000);
  }
  return nullptr;
}

// A child whose main thread sits in vfork() for `seconds` (its own child sleeps,
// then exits) while a worker thread counts.
class VforkParent {
 public:
  explicit VforkParent(int seconds) {
    void* m = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(m, MAP_FAILED);
    shared_ = new (m) Shared;
    pid_ = ::fork();
    if (pid_ == 0) {
      pthread_t t;
      pthread_create(&t, nullptr, worker, shared_);
      while (shared_->worker_loops.load() == 0) ::usleep(1000);
      if (::vfork() == 0) {
        struct timespec ts = {seconds, 0};
        ::syscall(SYS_nanosleep, &ts, nullptr);
        ::_exit(0);
      }
      for (;;) ::pause();
    }
    auto until = Clock::now() + 10s;
    while (thread_state(pid_, pid_) != 'D' && Clock::now() < until) std::this_thread::sleep_for(1ms);
  }
  ~VforkParent() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::munmap(shared_, sizeof(Shared));
  }
  pid_t pid() const { return pid_; }
  const Shared& shared() const { return *shared_; }

 private:
  pid_t pid_ = 0;
  Shared* shared_ = nullptr;
};

}  // namespace

TEST(AllThreadsStopped, GivesUpOnAThreadInUninterruptibleSleepAndResumesTheOthers) {
  VforkParent child(2);
  ASSERT_EQ(thread_state(child.pid(), child.pid()), 'D');
  Process process(child.pid());
  EXPECT_EQ(process.thread_in_uninterruptible_sleep(), child.pid());

  const auto started = Clock::now();
  try {
    AllThreadsStopped world(process, Clock::now() + 50ms);
    FAIL() << "every thread stopped, the vfork parent too";
  } catch (const ThreadsNotStopped& e) {
    EXPECT_NE(e.reason().find("thread " + std::to_string(child.pid()) + " did not stop within"), std::string::npos)
        << e.reason();
    EXPECT_NE(e.reason().find("state D"), std::string::npos) << e.reason();
    EXPECT_EQ(e.kind(), ErrorKind::Busy);
  }
  EXPECT_LT(Clock::now() - started, 1s);

  // The worker was resumed: it counts again, and nobody traces it.
  const uint64_t before = child.shared().worker_loops.load();
  std::this_thread::sleep_for(50ms);
  EXPECT_GT(child.shared().worker_loops.load(), before);
  EXPECT_NE(thread_state(child.pid(), child.shared().worker_tid.load()), 't');

  // When the vfork is over, the main thread's pending interrupt stops it; the next
  // stop (or settle_late) lets it go instead of leaving it stopped.
  auto until = Clock::now() + 10s;
  while (thread_state(child.pid(), child.pid()) != 't' && Clock::now() < until) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(thread_state(child.pid(), child.pid()), 't');
  Thread::settle_late();
  EXPECT_NE(thread_state(child.pid(), child.pid()), 't');

  // And the process can be stopped whole again.
  AllThreadsStopped world(process, Clock::now() + 2s);
  EXPECT_EQ(world.threads().size(), 2u);
}

TEST(AllThreadsStopped, TakesBackALateThreadThatIsStillNotStopped) {
  VforkParent child(2);
  Process process(child.pid());
  EXPECT_THROW(AllThreadsStopped(process, Clock::now() + 20ms), ThreadsNotStopped);
  // Still ours, interrupt pending: a second attempt must not fail to seize it
  // ("already traced") but wait for it again.
  EXPECT_THROW(AllThreadsStopped(process, Clock::now() + 20ms), ThreadsNotStopped);
  AllThreadsStopped world(process, Clock::now() + 10s);  // the vfork ends within 2 s
  EXPECT_EQ(world.threads().size(), 2u);
}

TEST(Thread, AThreadIdOfAnotherProcessIsLetGoNotTaken) {
  // What a tid read from /proc/PID/task becomes when its thread exits before the
  // seize and the number goes to a new thread elsewhere: not a thread of PID.
  VforkParent ours(1);
  pid_t stranger = ::fork();
  if (stranger == 0) {
    for (;;) ::pause();
  }
  Thread t(ours.pid(), stranger);
  EXPECT_FALSE(t.seize_and_interrupt());
  EXPECT_FALSE(t.seized());
  // Not left stopped: once let go it runs on to pause() (on a loaded machine that
  // takes a while, so wait for the state rather than a fixed time).
  char state = 0;
  for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(5ms))
    if ((state = thread_state(stranger, stranger)) == 'S') break;
  EXPECT_EQ(state, 'S');
  EXPECT_EQ(::ptrace(PTRACE_SEIZE, stranger, nullptr, nullptr), 0) << "still traced by us";
  ::kill(stranger, SIGKILL);
  ::waitpid(stranger, nullptr, 0);
}
