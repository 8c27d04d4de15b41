#include "trust/audit.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace hotpatch::trust {

namespace {

constexpr int kFacilityAuthpriv = 10;  // LOG_AUTHPRIV >> 3: security records, readable by admins only
constexpr int kPriorityNotice = 5, kPriorityWarning = 4;

std::string number(long long n) { return std::to_string(n); }

int priority_of(const AuditEvent& e) { return e.result == "ok" ? kPriorityNotice : kPriorityWarning; }

// key=value for the syslog line: quoted when it holds a blank, a quote or '='.
std::string syslog_value(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \t\"=\\\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

void append_journal_field(std::string& out, const std::string& key, const std::string& value) {
  if (value.find('\n') == std::string::npos) {
    out += key + "=" + value + "\n";
    return;
  }
  // Binary-safe form: KEY\n, 64-bit little-endian length, value, \n.
  out += key + "\n";
  uint64_t n = value.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>(n >> (8 * i));
  out += value + "\n";
}

int build_id_callback(dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    size_t left = ph.p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
      size_t name = (n->n_namesz + 3) & ~size_t{3}, desc = (n->n_descsz + 3) & ~size_t{3};
      size_t total = sizeof(ElfW(Nhdr)) + name + desc;
      if (total > left) break;
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(p + sizeof(ElfW(Nhdr)), "GNU", 4) == 0) {
        static const char digits[] = "0123456789abcdef";
        const uint8_t* d = p + sizeof(ElfW(Nhdr)) + name;
        for (size_t k = 0; k < n->n_descsz; ++k) {
          *out += digits[d[k] >> 4];
          *out += digits[d[k] & 15];
        }
        return 1;
      }
      p += total;
      left -= total;
    }
  }
  return 1;  // the first object is the program: stop after it
}

}  // namespace

std::string executable_of(pid_t pid) {
  char buf[PATH_MAX];
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

long long login_uid_of(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/loginuid";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[32];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(buf, &end, 10);
  if (end == buf || v >= 4294967295ULL) return -1;  // (uid_t)-1: no login session
  return static_cast<long long>(v);
}

std::string self_build_id() {
  std::string id;
  dl_iterate_phdr(build_id_callback, &id);
  return id;
}

void AuditEvent::caller_is_self() { caller_is(::getpid(), ::getuid()); }

void AuditEvent::caller_is(pid_t pid, uid_t uid) {
  caller_uid = uid;
  // SO_PEERCRED gives pid 0 for a peer outside our PID namespace (a CLI on the host
  // talking to a container's process): unknown here, not process 0 (nor whatever
  // our /proc/0 would be).
  if (pid <= 0) return;
  caller_pid = pid;
  caller_loginuid = login_uid_of(pid);
  caller_exe = executable_of(pid);
}

void AuditEvent::target_is_self() {
  target_pid = ::getpid();
  target_exe = executable_of(::getpid());
  target_build_id = self_build_id();
}

std::vector<std::pair<std::string, std::string>> AuditEvent::fields() const {
  std::vector<std::pair<std::string, std::string>> f;
  auto text = [&](const char* key, const std::string& v) {
    if (!v.empty()) f.emplace_back(key, v);
  };
  auto num = [&](const char* key, long long v) {
    if (v >= 0) f.emplace_back(key, number(v));
  };
  text("HOTPATCH_ACTION", action);
  text("HOTPATCH_RESULT", result);
  text("HOTPATCH_ERROR", error);
  num("HOTPATCH_CALLER_UID", caller_uid);
  num("HOTPATCH_CALLER_LOGINUID", caller_loginuid);
  num("HOTPATCH_CALLER_PID", caller_pid);
  text("HOTPATCH_CALLER_EXE", caller_exe);
  text("HOTPATCH_PATCH_ID", patch_id);
  text("HOTPATCH_PATCH_PATH", patch_path);
  text("HOTPATCH_PATCH_SHA256", sha256);
  if (!sha256.empty()) f.emplace_back("HOTPATCH_SIGNER", signer.empty() ? "none" : signer);
  text("HOTPATCH_REPLACED", replaced);
  num("HOTPATCH_TARGET_PID", target_pid);
  text("HOTPATCH_TARGET_EXE", target_exe);
  text("HOTPATCH_TARGET_BUILD_ID", target_build_id);
  num("HOTPATCH_PAUSE_US", pause_us);
  return f;
}

std::string AuditEvent::message() const {
  std::string m = action + " " + result;
  if (!patch_id.empty()) m += ": " + patch_id;
  else if (!patch_path.empty()) m += ": " + patch_path;
  if (!sha256.empty()) m += " (sha256 " + sha256.substr(0, 16) + ", " + (signer.empty() ? "unsigned" : "signed by " + signer) + ")";
  if (!replaced.empty()) m += " replacing " + replaced;
  if (target_pid >= 0) m += " in process " + number(target_pid) + (target_exe.empty() ? "" : " (" + target_exe + ")");
  if (caller_uid >= 0) m += " by uid " + number(caller_uid);
  if (caller_pid >= 0) m += " pid " + number(caller_pid);
  if (pause_us >= 0) m += ", paused " + number(pause_us) + " us";
  if (!error.empty()) m += ": " + error;
  return m;
}

std::string journal_datagram(const AuditEvent& event, const std::string& identifier) {
  std::string out;
  append_journal_field(out, "MESSAGE", event.message());
  append_journal_field(out, "PRIORITY", number(priority_of(event)));
  append_journal_field(out, "SYSLOG_FACILITY", number(kFacilityAuthpriv));
  append_journal_field(out, "SYSLOG_IDENTIFIER", identifier);
  for (const auto& [key, value] : event.fields()) append_journal_field(out, key, value);
  return out;
}

std::string syslog_datagram(const AuditEvent& event, const std::string& identifier, pid_t pid) {
  std::string out = "<" + number(kFacilityAuthpriv * 8 + priority_of(event)) + ">" + identifier + "[" + number(pid) + "]: ";
  std::string message = event.message();
  for (char& c : message)
    if (c == '\n') c = ' ';
  out += message;
  for (const auto& [key, value] : event.fields()) {
    std::string k = key.substr(9);  // without "HOTPATCH_"
    for (char& c : k) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    out += " " + k + "=" + syslog_value(value);
  }
  return out;
}

bool send_datagram(const std::string& socket_path, const std::string& data) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::sendto(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == static_cast<ssize_t>(data.size());
}

void audit(const AuditEvent& event, const std::string& identifier) {
  const int saved_errno = errno;  // the runtime logs from inside a program: leave its errno alone
  if (!send_datagram(kJournalSocket, journal_datagram(event, identifier)))
    send_datagram(kSyslogSocket, syslog_datagram(event, identifier, ::getpid()));
  errno = saved_errno;
}

}  // namespace hotpatch::trust
