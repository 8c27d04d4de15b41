// SpinTarget: bench/spin_target.c started with THREADS workers, and the longest gap
// each worker saw in its loop, read from the file they share: the pause as the
// program itself sees it (pause_bench, stop_profile).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace bench {

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

}  // namespace bench
