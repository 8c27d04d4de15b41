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
#include "loader/address_space.h"
#include "loader/interruption.h"
#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

// Stops every thread and calls attempt(world, space) -> std::optional<std::string>:
// what is busy (everyone is resumed, we back off 1 ms doubling to 50 ms and try
// again), or nullopt once it has done its work inside the stop. `space` is the
// address space read just before the stop (reading maps inside it would lengthen it).
// Past `deadline`: Error(Busy) "process PID: cannot ACTION: BUSY until the timeout".
// Returns how many attempts it took.
template <typename Attempt>
int stop_until_idle(Process& process, std::chrono::steady_clock::time_point deadline, const std::string& action,
                    Attempt&& attempt) {
  auto backoff = std::chrono::milliseconds(1);
  for (int attempts = 1;; ++attempts) {
    std::optional<AddressSpace> space = process.address_space();
    std::optional<std::string> busy;
    {
      AllThreadsStopped world(process);
      busy = attempt(world, space);
      if (!busy) return attempts;
    }
    throw_if_interrupted(fmt::format("waiting to {} ({}); nothing was changed", action, *busy));
    if (std::chrono::steady_clock::now() + backoff >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: cannot {}: {} until the timeout ({} attempt{}); nothing "
                                               "was changed",
                                               process.pid(), action, *busy, attempts, attempts == 1 ? "" : "s"));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace hotpatch
