#include "agent/proc_events.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/error.h"

namespace hotpatch::ops {


namespace {

// The inode numbers of the initial PID and user namespaces (PROC_PID_INIT_INO,
// PROC_USER_INIT_INO in the kernel's proc_ns.h), fixed since Linux 3.8.
constexpr ino_t kInitialPidNamespace = 0xEFFFFFFCU;
constexpr ino_t kInitialUserNamespace = 0xEFFFFFFDU;

bool in_namespace(const char* link, ino_t inode) {
  struct stat st{};
  return ::stat(link, &st) != 0 || st.st_ino == inode;  // unknown: let the kernel say
}

}  // namespace

ProcEvents::ProcEvents() {
  // The kernel sends process events only to listeners in the initial PID and user
  // namespaces, and ignores the "listen" of any other without an error: an agent in
  // a container would wait for ever and see no process start.
  if (!in_namespace("/proc/self/ns/pid", kInitialPidNamespace) || !in_namespace("/proc/self/ns/user", kInitialUserNamespace))
    throw Error(ErrorKind::Target, "cannot watch process starts from here: the kernel sends process events only to the "
                                   "initial PID and user namespaces (this is a container, or `unshare --pid`); run the "
                                   "agent on the host, where it sees the processes of every container");
  fd_ = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd_ < 0)
    throw Error(ErrorKind::Target, errno_message("cannot open the kernel's process-events connector (netlink "
                                                 "NETLINK_CONNECTOR; a kernel with CONFIG_PROC_EVENTS?)", errno));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  addr.nl_pid = 0;  // the kernel picks a unique port: several agents (tests) may listen
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::Target, errno_message("cannot subscribe to process events (CN_IDX_PROC: run the agent as "
                                                 "root, outside containers)", err));
  }
  // One netlink message carrying one connector message: "listen".
  alignas(nlmsghdr) char req[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* nl = reinterpret_cast<nlmsghdr*>(req);
  nl->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
  nl->nlmsg_type = NLMSG_DONE;
  auto* cn = static_cast<cn_msg*>(NLMSG_DATA(nl));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  std::memcpy(cn->data, &op, sizeof op);
  if (::send(fd_, req, nl->nlmsg_len, 0) != static_cast<ssize_t>(nl->nlmsg_len)) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(ErrorKind::Target, errno_message("cannot subscribe to process events (PROC_CN_MCAST_LISTEN; the "
                                                 "connector answers in the initial network namespace only, and "
                                                 "before Linux 6.6 to CAP_NET_ADMIN only: run the agent as root, "
                                                 "outside containers)", err));
  }
  // The kernel acknowledges the subscription (PROC_EVENT_NONE with an error code)
  // before it sends anything else.
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 2000) == 1) {
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    auto* msg = reinterpret_cast<nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(msg, static_cast<size_t>(n)) &&
        msg->nlmsg_len >= NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_event))) {
      proc_event ev;
      std::memcpy(&ev, static_cast<const cn_msg*>(NLMSG_DATA(msg))->data, sizeof ev);
      if (ev.what == proc_event::PROC_EVENT_NONE && ev.event_data.ack.err != 0) {
        int err = static_cast<int>(ev.event_data.ack.err);
        ::close(fd_);
        fd_ = -1;
        throw Error(ErrorKind::Target, errno_message("the kernel refused to send process events (needs CAP_NET_ADMIN "
                                                     "before Linux 6.6: run the agent as root)", err));
      }
    }
  }
  // A busy machine starts processes in bursts; while we patch one, the others wait
  // here. Ask for a larger buffer (capped by net.core.rmem_max without privileges).
  int size = 4 << 20;
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

ProcEvents::~ProcEvents() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<ExecEvent> ProcEvents::wait(std::chrono::milliseconds timeout, bool& lost) {
  std::vector<ExecEvent> events;
  lost = false;
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return events;
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) {
        lost = true;
        continue;
      }
      if (errno == EINTR) continue;
      break;  // EAGAIN: all read
    }
    for (auto* nl = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nl, static_cast<size_t>(n)); nl = NLMSG_NEXT(nl, n)) {
      if (nl->nlmsg_type == NLMSG_NOOP || nl->nlmsg_type == NLMSG_ERROR) continue;
      if (nl->nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_event))) continue;
      const auto* cn = static_cast<const cn_msg*>(NLMSG_DATA(nl));
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      proc_event ev;
      std::memcpy(&ev, cn->data, sizeof ev);
      if (ev.what != proc_event::PROC_EVENT_EXEC) continue;
      events.push_back({static_cast<pid_t>(ev.event_data.exec.process_tgid), ev.timestamp_ns});
    }
  }
  return events;
}

}  // namespace hotpatch::ops
