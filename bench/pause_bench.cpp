// P2: how long an apply holds the target's threads, against the physical floor.
//
//   pause_bench SPIN_TARGET PATCH_SO THREADS TRIALS
//
// Starts SPIN_TARGET with THREADS workers, then TRIALS times, interleaved so both
// see the same machine noise:
//   floor - AllThreadsStopped (the project's own stop: SEIZE + INTERRUPT all, wait
//           all, re-read /proc/PID/task) released at once: the bare ptrace cost;
//   apply - Patcher::apply of PATCH_SO (a real patch of bench_patch_me), whose
//           StopReport.pause is what `hotpatch apply` prints; then a revert.
// For both, the target's workers report the longest gap they saw in their loop:
// the pause as the program sees it, measured the same way for both.
// Prints "P2 pause threads=T floor_us=.. pause_us=.. target_gap_us=.. floor_gap_us=.."
// (medians; floor_us and pause_us are the longest hold of one thread as the tracer
// timed it, the gaps what the workers saw) on stdout, and the details (per-trial
// values, revert pause) on stderr.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "elf/patch_file.h"
#include "loader/patcher.h"
#include "loader/process.h"
#include "loader/thread.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Same layout as struct report in spin_target.c.
struct SharedReport {
  uint32_t threads_running;
  uint32_t period_us;
  uint64_t patched_calls;
  uint64_t max_gap_ns[];
};

class SpinTarget {
 public:
  SpinTarget(const std::string& program, int threads) : threads_(threads) {
    char path[] = "/dev/shm/hotpatch-bench-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("cannot create the report file");
    report_path_ = path;
    size_ = sizeof(SharedReport) + threads * sizeof(uint64_t);
    if (::ftruncate(fd, static_cast<off_t>(size_)) != 0) throw std::runtime_error("ftruncate");
    void* m = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) throw std::runtime_error("mmap");
    report_ = static_cast<SharedReport*>(m);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string count = std::to_string(threads);
      ::execl(program.c_str(), program.c_str(), count.c_str(), report_path_.c_str(), nullptr);
      ::_exit(127);
    }
    auto deadline = Clock::now() + 60s;
    while (load(report_->threads_running) < static_cast<uint32_t>(threads)) {
      if (Clock::now() > deadline || ::waitpid(pid_, nullptr, WNOHANG) != 0)
        throw std::runtime_error("spin_target did not start its threads");
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(300ms);  // let every worker settle into its loop
  }
  ~SpinTarget() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::munmap(report_, size_);
    ::unlink(report_path_.c_str());
  }
  pid_t pid() const { return pid_; }
  std::chrono::microseconds period() const { return std::chrono::microseconds(load(report_->period_us)); }
  uint64_t patched_calls() const { return load(report_->patched_calls); }
  void reset_gaps() {
    for (int i = 0; i < threads_; ++i) __atomic_store_n(&report_->max_gap_ns[i], 0, __ATOMIC_RELAXED);
  }
  // Waits until every worker has run an iteration after the stop, then reads the gaps.
  std::chrono::microseconds longest_gap_since_reset() {
    std::this_thread::sleep_for(period() * 2 + 20ms);
    uint64_t worst = 0;
    for (int i = 0; i < threads_; ++i) worst = std::max(worst, load(report_->max_gap_ns[i]));
    return std::chrono::microseconds(worst / 1000);
  }

 private:
  template <typename T>
  static T load(const T& v) { return __atomic_load_n(&v, __ATOMIC_RELAXED); }
  int threads_;
  pid_t pid_ = -1;
  std::string report_path_;
  size_t size_ = 0;
  SharedReport* report_ = nullptr;
};

long median(std::vector<long> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string join(const std::vector<long>& v) {
  std::string s;
  for (long x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: pause_bench SPIN_TARGET PATCH_SO THREADS TRIALS\n");
    return 2;
  }
  const int threads = std::atoi(argv[3]);
  const int trials = std::max(1, std::atoi(argv[4]));
  try {
    hotpatch::PatchFile patch = hotpatch::read_patch_file(argv[2]);
    SpinTarget target(argv[1], threads);
    hotpatch::Patcher patcher(target.pid());

    // Warm-up, not counted: the first apply also loads the Core Runtime.
    patcher.apply(patch, 10s);
    patcher.revert(patch.id, 10s);

    std::vector<long> floor_us, floor_gap_us, pause_us, gap_us, revert_us, attempts;
    for (int t = 0; t < trials; ++t) {
      {
        hotpatch::Process process(target.pid());
        target.reset_gaps();
        hotpatch::AllThreadsStopped world(process);
        floor_us.push_back(world.release().count());
      }
      floor_gap_us.push_back(target.longest_gap_since_reset().count());

      target.reset_gaps();
      hotpatch::ApplyReport applied = patcher.apply(patch, 10s);
      gap_us.push_back(target.longest_gap_since_reset().count());
      pause_us.push_back(applied.pause.count());
      attempts.push_back(applied.attempts);
      if (applied.threads < static_cast<size_t>(threads))
        throw std::runtime_error("apply stopped fewer threads than the target has");
      hotpatch::RevertReport reverted = patcher.revert(patch.id, 10s);
      revert_us.push_back(reverted.pause.count());
    }
    // The gap wait after each apply leaves the main thread time to call the patched
    // function: if it never saw the new code, the patch did not take effect.
    if (target.patched_calls() == 0) throw std::runtime_error("the target never ran the patched function");
    std::printf("P2 pause threads=%d floor_us=%ld pause_us=%ld target_gap_us=%ld floor_gap_us=%ld\n", threads,
                median(floor_us), median(pause_us), median(gap_us), median(floor_gap_us));
    std::fflush(stdout);
    std::fprintf(stderr,
                 "P2 detail threads=%d worker_sleep_us=%ld floor_us=[%s] floor_gap_us=[%s] pause_us=[%s] "
                 "target_gap_us=[%s] revert_pause_us=[%s] attempts=[%s]\n",
                 threads, static_cast<long>(target.period().count()), join(floor_us).c_str(),
                 join(floor_gap_us).c_str(), join(pause_us).c_str(), join(gap_us).c_str(), join(revert_us).c_str(),
                 join(attempts).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pause_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
