// ProcEvents: the kernel's process-events connector (netlink NETLINK_CONNECTOR,
// CN_IDX_PROC): a message for every execve() on the machine, sent from inside the
// execve, before the new program (or its dynamic loader) runs a single instruction
// in user space. Needs a kernel with CONFIG_PROC_EVENTS, the initial network
// namespace (the connector exists there only), and before Linux 6.6 CAP_NET_ADMIN.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace hotpatch::ops {

struct ExecEvent {
  pid_t pid = 0;                 // the process (thread group) that ran execve
  uint64_t timestamp_ns = 0;     // when, on CLOCK_MONOTONIC
};

class ProcEvents {
 public:
  // Subscribes, and waits for the kernel's acknowledgement. Throws Error(Target) with
  // what to do when the kernel refuses (no CAP_NET_ADMIN before 6.6: run as root; no
  // connector in this kernel or network namespace).
  ProcEvents();
  ~ProcEvents();
  ProcEvents(const ProcEvents&) = delete;
  ProcEvents& operator=(const ProcEvents&) = delete;

  // The exec events that arrived, waiting at most `timeout` for the first. Sets
  // `lost` when the kernel dropped events because we read too slowly (ENOBUFS).
  std::vector<ExecEvent> wait(std::chrono::milliseconds timeout, bool& lost);

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace hotpatch::ops
