#include "loader/code_writer.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "common/error.h"
#include "loader/process.h"
#include "loader/thread.h"

namespace hotpatch {

namespace {

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

CodeWriteReport CodeWriter::write(const CodeWriteRequest& request, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const pid_t pid = process_.pid();
  if (request.bytes.size() != request.expected.size())
    throw Error(ErrorKind::Usage, fmt::format("process {}: the bytes to write ({}) and the bytes expected ({}) must "
                                              "have the same length",
                                              pid, request.bytes.size(), request.expected.size()));
  const Clock::time_point deadline = Clock::now() + timeout;
  CodeWriteReport report;
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    ++report.attempts;
    std::string busy;
    std::optional<AddressSpace> space = process_.address_space();
    {
      AllThreadsStopped world(process_);
      ThreadActivity activity(process_, world, space);
      if (auto active = activity.find_active(request.guarded, request.waiting_thread)) {
        busy = *active;
      } else {
        std::vector<uint8_t> now =
            request.bytes.empty() ? std::vector<uint8_t>{} : process_.read_bytes(request.at, request.expected.size());
        if (now != request.expected)
          throw Error(ErrorKind::Conflict, fmt::format("process {}: the bytes at {} are {}, not the expected {}; "
                                                       "nothing was written",
                                                       pid, request.at, hex_bytes(now), hex_bytes(request.expected)));
        for (const RemoteRange& probe : request.probes) {
          auto user = activity.find_active({{probe, fmt::format("[{}, {})", probe.start, probe.end)}},
                                           request.waiting_thread);
          report.probe_users.push_back(user.value_or(""));
        }
        if (!request.bytes.empty()) process_.write_bytes(request.at, request.bytes);
        if (!request.bytes.empty() && process_.read_bytes(request.at, request.bytes.size()) != request.bytes)
          throw Error(ErrorKind::Internal, fmt::format("process {}: the bytes written at {} did not stick", pid, request.at));
        report.threads = world.threads().size();
        report.pause = world.release();
        return report;
      }
    }
    if (Clock::now() + backoff >= deadline)
      throw Error(ErrorKind::Busy, fmt::format("process {}: cannot write {} bytes at {}: {} until the timeout ({} "
                                               "attempt{}); nothing was written",
                                               pid, request.bytes.size(), request.at, busy, report.attempts,
                                               report.attempts == 1 ? "" : "s"));
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace hotpatch
