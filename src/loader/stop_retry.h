// Stopping the world until the code to change is idle: the retry loop that apply,
// revert and write-code share.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "common/error.h"
#include "loader/activity.h"
#include "loader/address_space.h"
#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

// How long one attempt waits for a thread in uninterruptible sleep to reach its
// stop before it lets every thread go again: a normal stop takes ~30 us per thread
// on a loaded machine; a thread in D that takes much longer may take seconds, and
// the others should not be held waiting for it (a running one is waited for until
// the deadline: it stops once it gets a CPU). Doubled after each attempt that ran
// out of it, never past the command's deadline.
inline std::chrono::milliseconds first_stop_wait(size_t threads) {
  return std::chrono::milliseconds(20 + threads / 20);
}

// Stops every thread and calls attempt(world, space) -> std::optional<std::string>:
// what is busy (everyone is resumed, we back off 1 ms doubling to 50 ms and try
// again), or nullopt once it has done its work inside the stop. `space` is the
// address space read just before the stop (reading maps inside it would lengthen it).
// A thread in uninterruptible sleep is busy too: seen before the stop (nobody is
// stopped then), or found not stopping within the attempt's wait (everyone else is
// resumed at once).
// Past `deadline`: Error(Busy) "process PID: cannot ACTION: BUSY until the timeout".
// Returns how many attempts it took.
template <typename Attempt>
int stop_until_idle(Process& process, std::chrono::steady_clock::time_point deadline, const std::string& action,
                    Attempt&& attempt) {
  using Clock = std::chrono::steady_clock;
  auto backoff = std::chrono::milliseconds(1);
  std::optional<std::chrono::milliseconds> stop_wait;
  // What the last attempt that did stop everyone found busy: on a loaded machine the
  // final attempt, cut short by the deadline, may only learn that a running thread
  // was slow to stop, which says less than the busy function an earlier one named.
  std::optional<std::string> code_busy;
  for (int attempts = 1;; ++attempts) {
    std::optional<AddressSpace> space = process.address_space();
    ThreadActivity::prepare(process, *space);
    std::optional<std::string> busy;
    if (auto sleeper = process.thread_in_uninterruptible_sleep()) {
      busy = fmt::format("thread {} cannot stop now ({})", *sleeper,
                         describe_thread_state(process.pid(), *sleeper));
    } else {
      if (!stop_wait) stop_wait = first_stop_wait(process.thread_count().value_or(1));
      try {
        // The deadline bounds the wait, but even a last attempt gets a few ms.
        const auto now = Clock::now();
        const auto left = std::max<Clock::duration>(deadline - now, std::chrono::milliseconds(5));
        AllThreadsStopped world(process, now + std::min<Clock::duration>(*stop_wait, left), now + left);
        busy = attempt(world, space);
        if (!busy) return attempts;
        code_busy = busy;
      } catch (const ThreadsNotStopped& late) {
        busy = late.reason();
        if (code_busy) busy = *code_busy;
        *stop_wait *= 2;
      }
    }
    if (Clock::now() + backoff >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: cannot {}: {} until the timeout ({} attempt{}); nothing "
                                               "was changed",
                                               process.pid(), action, *busy, attempts, attempts == 1 ? "" : "s"));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace hotpatch
