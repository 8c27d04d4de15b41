// ControlServer: the control socket of this process (docs/cooperative.md). Started
// only on request (hotpatch_init_server), never by loading the library: the same
// library is injected into arbitrary processes by the ptrace Loader.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "runtime/code_loading.h"

namespace hotpatch::runtime {

class ControlServer {
 public:
  static ControlServer& instance();

  // Creates the socket and starts the accepting thread; true if it runs (also when
  // it already did). False with `error` set otherwise; then nothing was left behind.
  bool start(std::string& error);
  // The socket path once started, else nullptr.
  const char* path() const { return running_.load() ? path_.c_str() : nullptr; }
  // Removes the socket file (at exit); the threads end with the process.
  void remove_socket();

  static constexpr int kMaxClients = 128;

 private:
  bool create_directory(const std::string& dir, std::string& error);
  bool listen_on(const std::string& path, std::string& error);
  static void* accept_main(void* self);
  static void* client_main(void* arg);
  void serve_client(int fd, const Peer& peer);

  std::mutex start_lock_;
  std::atomic<bool> running_{false};
  std::string path_;
  int listen_fd_ = -1;
  int owner_pid_ = 0;  // a forked child must not remove its parent's socket
  std::atomic<int> clients_{0};
};

}  // namespace hotpatch::runtime
