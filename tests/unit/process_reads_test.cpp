// Process::read_many (bulk stack reads inside the stop) must give what read_partial
// gives range by range, including ranges that end in or start in unreadable memory.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "loader/process.h"

using namespace hotpatch;

namespace {

// A child that shares our memory layout (fork) and waits to be read.
class SleepingChild {
 public:
  SleepingChild() {
    pid_ = ::fork();
    if (pid_ == 0) {
      for (;;) ::pause();
    }
  }
  ~SleepingChild() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

}  // namespace

TEST(ProcessReads, ReadManyMatchesReadPartial) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  // Three pages: readable, inaccessible, readable.
  auto* area = static_cast<uint8_t*>(::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(area, MAP_FAILED);
  for (size_t i = 0; i < 3 * page; ++i) area[i] = static_cast<uint8_t>(i * 7 + 3);
  ASSERT_EQ(::mprotect(area + page, page, PROT_NONE), 0);
  // Unmapped memory right after: a range running into it is cut there.
  auto* gone = static_cast<uint8_t*>(::mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(gone, MAP_FAILED);
  ASSERT_EQ(::munmap(gone, page), 0);

  SleepingChild child;
  Process process(child.pid());
  auto at = [](const void* p) { return RemoteAddr(reinterpret_cast<uintptr_t>(p)); };
  struct Case {
    RemoteAddr addr;
    size_t len;
  };
  std::vector<Case> cases = {
      {at(area), 100},                     // plain
      {at(area + page - 64), 128},         // runs into the PROT_NONE page
      {at(area + 2 * page), page},         // after the hole
      {at(gone), 64},                      // unmapped
      {at(area + 10), 3 * page - 10},      // spans the hole
      {at(area + 2 * page + 5), 50},       // plain again, after failures
  };
  std::vector<std::vector<uint8_t>> bulk(cases.size()), single(cases.size());
  std::vector<Process::ReadRequest> requests;
  for (size_t i = 0; i < cases.size(); ++i) {
    bulk[i].assign(cases[i].len, 0);
    single[i].assign(cases[i].len, 0);
    requests.push_back({cases[i].addr, bulk[i].data(), cases[i].len, 12345});
  }
  process.read_many(requests);
  for (size_t i = 0; i < cases.size(); ++i) {
    size_t expected = process.read_partial(cases[i].addr, single[i].data(), cases[i].len);
    EXPECT_EQ(requests[i].got, expected) << "case " << i;
    EXPECT_EQ(std::memcmp(bulk[i].data(), single[i].data(), expected), 0) << "case " << i;
  }
  EXPECT_EQ(requests[0].got, 100u);
  EXPECT_EQ(requests[3].got, 0u);
  ::munmap(area, 3 * page);
}

TEST(ProcessReads, ThreadCountMatchesTaskDirectory) {
  SleepingChild child;
  Process process(child.pid());
  auto count = process.thread_count();
  ASSERT_TRUE(count.has_value());
  EXPECT_EQ(*count, process.thread_ids().size());
}
