#include "loader/code_writer.h"

#include <fmt/format.h>

#include "common/error.h"
#include "loader/process.h"
#include "loader/stop_retry.h"
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
  CodeWriteReport report;
  const std::string action =
      request.bytes.empty() ? "probe" : fmt::format("write {} bytes at {}", request.bytes.size(), request.at);
  report.attempts = stop_until_idle(process_, Clock::now() + timeout, action,
                                    [&](AllThreadsStopped& world, std::optional<AddressSpace>& space)
                                        -> std::optional<std::string> {
    // The guarded ranges and every probe, answered in one pass over the stacks.
    std::vector<std::vector<GuardedRange>> questions{request.guarded};
    for (const RemoteRange& probe : request.probes)
      questions.push_back({{probe, fmt::format("[{}, {})", probe.start, probe.end)}});
    auto answers = ThreadActivity(process_, world, space).find_active_each(questions, request.waiting_thread);
    if (answers.front()) return answers.front();
    std::vector<uint8_t> now =
        request.bytes.empty() ? std::vector<uint8_t>{} : process_.read_bytes(request.at, request.expected.size());
    if (now != request.expected)
      throw Error(ErrorKind::Conflict, fmt::format("process {}: the bytes at {} are {}, not the expected {}; "
                                                   "nothing was written",
                                                   pid, request.at, hex_bytes(now), hex_bytes(request.expected)));
    for (size_t i = 1; i < answers.size(); ++i) report.probe_users.push_back(answers[i].value_or(""));
    if (!request.bytes.empty()) process_.write_bytes(request.at, request.bytes);
    if (!request.bytes.empty() && process_.read_bytes(request.at, request.bytes.size()) != request.bytes)
      throw Error(ErrorKind::Internal, fmt::format("process {}: the bytes written at {} did not stick", pid, request.at));
    report.threads = world.threads().size();
    report.pause = world.release();
    return std::nullopt;
  });
  return report;
}

}  // namespace hotpatch
