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
#include "spin_target.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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
    bench::SpinTarget target(argv[1], threads);
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
