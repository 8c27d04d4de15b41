// Where the time of a stop goes (a profiling aid for P2, not part of `make bench`).
//
//   stop_profile PID TRIALS
//
// Repeats, step by step and timed, what an apply does inside its stop: list
// /proc/PID/task, seize + interrupt every thread, wait for each stop (which reads its
// registers), list the threads again, read the registry-sized block and every
// thread's stack through /proc/PID/mem, then release everyone. Prints the median
// microseconds of each step, as the tracer times them.
//
//   stop_profile SPIN_TARGET THREADS TRIALS
//
// The same seen from the target: bench/spin_target.c with THREADS workers, stopped
// TRIALS times in each of three ways, interleaved: "stop" (AllThreadsStopped,
// released at once: the floor), "scan" (and the busy-code scan of every stack for
// bench_patch_me, as apply does it), "write" (and its 5 entry bytes written back as
// they are, as the commit writes a jump). Prints, per way, the median longest hold
// of one thread (as the tracer timed it) and the median longest gap the workers saw;
// the differences are what the scan and the write cost the program.
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loader/activity.h"
#include "loader/address_space.h"
#include "loader/process.h"
#include "loader/target_objects.h"
#include "loader/thread.h"
#include "spin_target.h"

namespace {
using Clock = std::chrono::steady_clock;
}

long median_of(std::vector<long> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int seen_from_target(const char* program, int threads, int trials) {
  bench::SpinTarget target(program, threads);
  hotpatch::Process process(target.pid());
  const hotpatch::TargetObjects objects(process, process.address_space());
  const auto f = objects.resolve("bench_patch_me", nullptr, true);
  const std::vector<hotpatch::GuardedRange> guarded = {
      {{f.address, f.address + static_cast<int64_t>(f.symbol.size)}, "function 'bench_patch_me'"}};
  const std::vector<uint8_t> entry = process.read_bytes(f.address, 5);
  const char* ways[] = {"stop", "scan", "write"};
  std::map<std::string, std::vector<long>> held, gap;
  for (int t = 0; t < trials; ++t) {
    for (int way = 0; way < 3; ++way) {
      std::optional<hotpatch::AddressSpace> space = process.address_space();
      hotpatch::ThreadActivity::prepare(process, *space);
      target.reset_gaps();
      {
        hotpatch::AllThreadsStopped world(process);
        if (way >= 1 && hotpatch::ThreadActivity(process, world, space).find_active(guarded)) {
          world.release();
          continue;  // the main thread happened to be in it: not a fair trial
        }
        if (way >= 2) process.write_bytes(f.address, entry);
        held[ways[way]].push_back(world.release().count());
      }
      gap[ways[way]].push_back(target.longest_gap_since_reset().count());
    }
  }
  std::printf("threads=%d trials=%d; median longest hold (tracer) / longest gap (target), us:", threads, trials);
  for (const char* way : ways) std::printf("  %s=%ld/%ld", way, median_of(held[way]), median_of(gap[way]));
  std::printf("\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4) {
    try {
      return seen_from_target(argv[1], std::atoi(argv[2]), std::atoi(argv[3]));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stop_profile: %s\n", e.what());
      return 1;
    }
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: stop_profile PID TRIALS | stop_profile SPIN_TARGET THREADS TRIALS\n");
    return 2;
  }
  pid_t pid = std::atoi(argv[1]);
  int trials = std::atoi(argv[2]);
  std::vector<std::string> order = {"list",  "seize+interrupt", "wait+getregs", "list again",
                                    "stacks", "stacks vm_readv", "stacks batched", "release",        "total"};
  std::map<std::string, std::vector<long>> steps;
  hotpatch::Process process(pid);
  size_t stack_bytes = 0, threads = 0;
  for (int t = 0; t < trials; ++t) {
    auto space = process.address_space();
    auto mark = Clock::now();
    auto start = mark;
    auto lap = [&](const std::string& name) {
      auto now = Clock::now();
      steps[name].push_back(std::chrono::duration_cast<std::chrono::microseconds>(now - mark).count());
      mark = now;
    };
    std::vector<pid_t> tids = process.thread_ids();
    lap("list");
    std::vector<std::unique_ptr<hotpatch::Thread>> seized;
    for (pid_t tid : tids) {
      auto th = std::make_unique<hotpatch::Thread>(pid, tid);
      if (th->seize_and_interrupt()) seized.push_back(std::move(th));
    }
    lap("seize+interrupt");
    for (auto& th : seized) th->wait_for_stop();
    lap("wait+getregs");
    (void)process.thread_ids();
    lap("list again");
    std::vector<uint64_t> buffer;
    stack_bytes = 0;
    for (auto& th : seized) {
      hotpatch::RemoteAddr sp = th->registers().sp();
      const hotpatch::Mapping* m = space.find(sp);
      if (!m) continue;
      buffer.resize((m->range.end - sp) / 8);
      stack_bytes += process.read_partial(sp, buffer.data(), buffer.size() * 8);
    }
    lap("stacks");
    // The same stacks with process_vm_readv: once per thread, then all in one call.
    std::vector<std::vector<uint64_t>> buffers(seized.size());
    std::vector<iovec> local, remote;
    for (size_t i = 0; i < seized.size(); ++i) {
      hotpatch::RemoteAddr sp = seized[i]->registers().sp();
      const hotpatch::Mapping* m = space.find(sp);
      if (!m) continue;
      buffers[i].resize((m->range.end - sp) / 8);
      local.push_back({buffers[i].data(), buffers[i].size() * 8});
      remote.push_back({reinterpret_cast<void*>(sp.value()), buffers[i].size() * 8});
    }
    mark = Clock::now();
    for (size_t i = 0; i < local.size(); ++i) ::process_vm_readv(pid, &local[i], 1, &remote[i], 1, 0);
    lap("stacks vm_readv");
    for (size_t i = 0; i < local.size(); i += 1024) {
      size_t n = std::min<size_t>(1024, local.size() - i);
      ::process_vm_readv(pid, &local[i], n, &remote[i], n, 0);
    }
    lap("stacks batched");
    for (auto& th : seized) th->release();
    lap("release");
    mark = start;
    lap("total");
    threads = seized.size();
    usleep(20000);
  }
  std::printf("threads=%zu stack_bytes=%zu (last trial); median us per step:", threads, stack_bytes);
  for (const auto& name : order) {
    auto& v = steps[name];
    std::sort(v.begin(), v.end());
    std::printf("  %s=%ld", name.c_str(), v[v.size() / 2]);
  }
  std::printf("\n");
  return 0;
}
