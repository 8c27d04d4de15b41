// Audit records (src/trust/audit.*): the journal's native datagram, the syslog line,
// and delivery to a datagram socket (a private one here).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "trust/audit.h"

namespace hotpatch::trust {
namespace {

AuditEvent sample() {
  AuditEvent e;
  e.action = "apply";
  e.result = "ok";
  e.caller_uid = 0;
  e.caller_loginuid = 1000;
  e.caller_pid = 42;
  e.caller_exe = "/usr/bin/hotpatch";
  e.patch_id = "fix-1";
  e.patch_path = "/srv/patches/fix 1.so";
  e.sha256 = std::string(64, 'a');
  e.signer = "0123456789abcdef";
  e.target_pid = 4242;
  e.target_exe = "/usr/sbin/app";
  e.target_build_id = "3f2a";
  e.pause_us = 143;
  return e;
}

TEST(Audit, JournalDatagramHasEveryField) {
  const std::string d = journal_datagram(sample(), "hotpatch");
  for (const char* line :
       {"PRIORITY=5\n", "SYSLOG_FACILITY=10\n", "SYSLOG_IDENTIFIER=hotpatch\n", "HOTPATCH_ACTION=apply\n",
        "HOTPATCH_RESULT=ok\n", "HOTPATCH_CALLER_UID=0\n", "HOTPATCH_CALLER_LOGINUID=1000\n", "HOTPATCH_CALLER_PID=42\n",
        "HOTPATCH_CALLER_EXE=/usr/bin/hotpatch\n", "HOTPATCH_PATCH_ID=fix-1\n", "HOTPATCH_PATCH_PATH=/srv/patches/fix 1.so\n",
        "HOTPATCH_SIGNER=0123456789abcdef\n", "HOTPATCH_TARGET_PID=4242\n", "HOTPATCH_TARGET_EXE=/usr/sbin/app\n",
        "HOTPATCH_TARGET_BUILD_ID=3f2a\n", "HOTPATCH_PAUSE_US=143\n"})
    EXPECT_NE(d.find(line), std::string::npos) << "missing " << line << " in:\n" << d;
  EXPECT_NE(d.find("HOTPATCH_PATCH_SHA256=" + std::string(64, 'a') + "\n"), std::string::npos);
  EXPECT_EQ(d.rfind("MESSAGE=apply ok: fix-1 (sha256 aaaaaaaaaaaaaaaa, signed by 0123456789abcdef) in process 4242 "
                    "(/usr/sbin/app) by uid 0 pid 42, paused 143 us\n", 0), 0u)
      << d;
  EXPECT_EQ(d.find("HOTPATCH_ERROR"), std::string::npos) << "unset fields are left out";
}

TEST(Audit, ApplyReplaceNamesThePatchItReverted) {
  AuditEvent e = sample();
  e.replaced = "fix-0";
  const std::string d = journal_datagram(e, "hotpatch");
  EXPECT_NE(d.find("HOTPATCH_REPLACED=fix-0\n"), std::string::npos) << d;
  EXPECT_NE(d.find("MESSAGE=apply ok: fix-1 (sha256 aaaaaaaaaaaaaaaa, signed by 0123456789abcdef) replacing fix-0 in "
                   "process 4242"),
            std::string::npos)
      << d;
}

TEST(Audit, UnsignedAndRefusedAndMultiLine) {
  AuditEvent e = sample();
  e.signer.clear();
  e.result = "refused";
  e.error = "first line\nsecond line";
  const std::string d = journal_datagram(e, "libhotpatch");
  EXPECT_NE(d.find("HOTPATCH_SIGNER=none\n"), std::string::npos);
  EXPECT_NE(d.find("PRIORITY=4\n"), std::string::npos);
  // A value with a newline goes in the binary-safe form: KEY\n, 64-bit length, value.
  std::string binary = std::string("HOTPATCH_ERROR\n") + std::string("\x16\0\0\0\0\0\0\0", 8) + "first line\nsecond line\n";
  EXPECT_NE(d.find(binary), std::string::npos);
}

TEST(Audit, SyslogLineIsKeyValueText) {
  AuditEvent e = sample();
  const std::string line = syslog_datagram(e, "hotpatch", 77);
  EXPECT_EQ(line.rfind("<85>hotpatch[77]: apply ok: fix-1 ", 0), 0u) << line;  // authpriv.notice
  EXPECT_NE(line.find(" action=apply result=ok caller_uid=0 caller_loginuid=1000 caller_pid=42 "), std::string::npos) << line;
  EXPECT_NE(line.find(" patch_path=\"/srv/patches/fix 1.so\" "), std::string::npos) << line;
  EXPECT_NE(line.find(" target_pid=4242 target_exe=/usr/sbin/app target_build_id=3f2a pause_us=143"), std::string::npos);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  e.result = "failed";
  EXPECT_EQ(syslog_datagram(e, "hotpatch", 77).rfind("<84>", 0), 0u);  // authpriv.warning
}

// A datagram socket bound at PATH (a journal of the test's own), or -1.
int bound_datagram_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(Audit, DeliveredToADatagramSocket) {
  char dir[] = "/tmp/hotpatch-audit-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/log";
  int fd = bound_datagram_socket(path);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(send_datagram(path, "HOTPATCH_ACTION=apply\n"));
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), "HOTPATCH_ACTION=apply\n");
  close(fd);
  EXPECT_FALSE(send_datagram(path, "nobody listens")) << "a socket nobody reads is reported, not waited for";
  EXPECT_FALSE(send_datagram(std::string(dir) + "/none", "x"));
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

// A journal that does not keep up never holds up a patch: once the socket's queue is
// full, a record is dropped at once (MSG_DONTWAIT), not waited for.
TEST(Audit, AFullJournalDoesNotBlock) {
  char dir[] = "/tmp/hotpatch-audit-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/journal";
  int fd = bound_datagram_socket(path);
  ASSERT_GE(fd, 0);
  int sent = 0;
  while (sent < 100000 && send_datagram(path, std::string(1024, 'x'))) ++sent;  // never read
  EXPECT_GT(sent, 0);
  ASSERT_LT(sent, 100000) << "the socket's queue never filled";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(send_datagram(path, "HOTPATCH_ACTION=apply\n"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  close(fd);
  std::system(("rm -rf '" + std::string(dir) + "'").c_str());
}

TEST(Audit, SelfDescription) {
  AuditEvent e;
  e.caller_is_self();
  e.target_is_self();
  EXPECT_EQ(e.caller_pid, getpid());
  EXPECT_EQ(e.caller_uid, static_cast<long long>(getuid()));
  EXPECT_NE(e.caller_exe.find("hotpatch_unit_tests"), std::string::npos) << e.caller_exe;
  EXPECT_EQ(e.target_exe, e.caller_exe);
  EXPECT_EQ(e.target_build_id.size() % 2, 0u);
  EXPECT_FALSE(e.target_build_id.empty()) << "the unit tests are linked with a build-id";
}

}  // namespace
}  // namespace hotpatch::trust
