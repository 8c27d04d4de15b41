// Shadow variables, through the functions libhotpatch.so really exports (dlopen +
// dlsym, as a patch's undefined references would bind): ownership by claimed id,
// zeroed blocks, get/alloc/free under many threads, release at revert.
#include <dlfcn.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <hotpatch/shadow.h>

namespace {

struct Stats {
  uint64_t live, bytes, claims;
};

// The runtime as a patch sees it: loaded once, functions found by name.
struct Runtime {
  void* handle = nullptr;
  decltype(&hotpatch_shadow_alloc) alloc;
  decltype(&hotpatch_shadow_get) get;
  decltype(&hotpatch_shadow_get_or_alloc) get_or_alloc;
  decltype(&hotpatch_shadow_free) free;
  decltype(&hotpatch_shadow_free_all) free_all;
  decltype(&hotpatch_shadow_count) count;
  int (*claim)(const char*, const uint64_t*, size_t);
  size_t (*release)(const char*);
  const Stats* stats;

  template <typename F>
  void find(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(handle, name));
    ASSERT_NE(f, nullptr) << name << " is not exported by libhotpatch.so";
  }
  void load() {
    handle = dlopen(HOTPATCH_RUNTIME_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    find(alloc, "hotpatch_shadow_alloc");
    find(get, "hotpatch_shadow_get");
    find(get_or_alloc, "hotpatch_shadow_get_or_alloc");
    find(free, "hotpatch_shadow_free");
    find(free_all, "hotpatch_shadow_free_all");
    find(count, "hotpatch_shadow_count");
    find(claim, "hotpatch_shadow_claim");
    find(release, "hotpatch_shadow_release");
    find(stats, "hotpatch_shadow_stats");
  }
};

Runtime& rt() {
  static Runtime r = [] {
    Runtime x;
    x.load();
    return x;
  }();
  return r;
}

class Shadow : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(rt().handle, nullptr); }
};

TEST_F(Shadow, AnIdNoPatchDeclaresCannotBeAllocated) {
  int obj;
  errno = 0;
  EXPECT_EQ(rt().alloc(&obj, 0x51, 8), nullptr);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(rt().get(&obj, 0x51), nullptr);
}

TEST_F(Shadow, AllocGetFree) {
  const uint64_t id = 0x100;
  ASSERT_EQ(rt().claim("unit-a", &id, 1), 0);
  int obj1, obj2;
  auto* p = static_cast<unsigned char*>(rt().alloc(&obj1, id, 40));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(p[i], 0) << "byte " << i;
  std::memset(p, 0xab, 40);
  EXPECT_EQ(rt().get(&obj1, id), p);
  EXPECT_EQ(rt().get(&obj2, id), nullptr) << "another object";
  EXPECT_EQ(rt().get(&obj1, id + 1), nullptr) << "another id";

  errno = 0;
  EXPECT_EQ(rt().alloc(&obj1, id, 40), nullptr);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(rt().get_or_alloc(&obj1, id, 40, nullptr, nullptr), p);
  EXPECT_EQ(rt().count(id), 1u);

  errno = 0;
  EXPECT_EQ(rt().alloc(&obj2, id, 0), nullptr);
  EXPECT_EQ(errno, EINVAL);

  static int dtor_calls;
  dtor_calls = 0;
  rt().free(&obj1, id, [](const void*, void* s) {
    EXPECT_EQ(static_cast<unsigned char*>(s)[0], 0xab);
    ++dtor_calls;
  });
  EXPECT_EQ(dtor_calls, 1);
  EXPECT_EQ(rt().get(&obj1, id), nullptr);
  EXPECT_EQ(rt().count(id), 0u);
  // A block freed and allocated again comes back zeroed.
  auto* q = static_cast<unsigned char*>(rt().alloc(&obj1, id, 40));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(q[i], 0) << "byte " << i;
  EXPECT_EQ(rt().release("unit-a"), 1u);
  EXPECT_EQ(rt().get(&obj1, id), nullptr);
}

TEST_F(Shadow, ConstructorRunsBeforeTheShadowIsSeenAndCanRefuse) {
  const uint64_t id = 0x200;
  ASSERT_EQ(rt().claim("unit-b", &id, 1), 0);
  int obj;
  auto ctor = [](const void* o, void* s, void* data) {
    *static_cast<const void**>(s) = o;
    return *static_cast<int*>(data);
  };
  int refuse = 1;
  errno = 0;
  EXPECT_EQ(rt().get_or_alloc(&obj, id, 8, ctor, &refuse), nullptr);
  EXPECT_EQ(errno, ECANCELED);
  EXPECT_EQ(rt().get(&obj, id), nullptr);
  refuse = 0;
  void* s = rt().get_or_alloc(&obj, id, 8, ctor, &refuse);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(*static_cast<const void**>(s), &obj);
  rt().release("unit-b");
}

TEST_F(Shadow, LargeBlocks) {
  const uint64_t id = 0x300;
  ASSERT_EQ(rt().claim("unit-c", &id, 1), 0);
  int obj;
  const uint64_t before = rt().stats->bytes;
  auto* p = static_cast<unsigned char*>(rt().alloc(&obj, id, 100000));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[99999], 0);
  p[99999] = 1;
  EXPECT_EQ(rt().stats->bytes, before + 100000);
  rt().free(&obj, id, nullptr);
  EXPECT_EQ(rt().stats->bytes, before);
  rt().release("unit-c");
}

// The revert of the last patch that declares an id frees every shadow of it; an id
// that another patch still declares (a cumulative patch that replaced the first)
// keeps its shadows.
TEST_F(Shadow, ReleaseFreesWhatNoPatchClaims) {
  const uint64_t shared = 0x400, own = 0x401;
  const uint64_t old_ids[] = {shared, own};
  ASSERT_EQ(rt().claim("unit-old", old_ids, 2), 0);
  ASSERT_EQ(rt().claim("unit-old", old_ids, 2), 0) << "claiming again is a no-op";
  ASSERT_EQ(rt().claim("unit-new", &shared, 1), 0);
  std::vector<int> objs(100);
  for (auto& o : objs) {
    ASSERT_NE(rt().alloc(&o, shared, 16), nullptr);
    ASSERT_NE(rt().alloc(&o, own, 16), nullptr);
  }
  const uint64_t claims = rt().stats->claims;
  EXPECT_EQ(rt().release("unit-old"), 100u) << "only the ids nobody else claims";
  EXPECT_EQ(rt().stats->claims, claims - 2);
  EXPECT_EQ(rt().count(shared), 100u);
  EXPECT_EQ(rt().count(own), 0u);
  EXPECT_EQ(rt().get(&objs[5], own), nullptr);
  EXPECT_NE(rt().get(&objs[5], shared), nullptr);
  errno = 0;
  EXPECT_EQ(rt().alloc(&objs[0], own, 16), nullptr);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(rt().release("unit-new"), 100u);
  EXPECT_EQ(rt().count(shared), 0u);
  EXPECT_EQ(rt().release("unit-new"), 0u) << "releasing twice is harmless";
}

TEST_F(Shadow, ClaimChecksItsInput) {
  const uint64_t id = 1;
  EXPECT_EQ(rt().claim("", &id, 1), -EINVAL);
  EXPECT_EQ(rt().claim(std::string(65, 'x').c_str(), &id, 1), -EINVAL);
  EXPECT_EQ(rt().claim("unit-d", nullptr, 1), -EINVAL);
  std::vector<uint64_t> many(300, 0);
  for (size_t i = 0; i < many.size(); ++i) many[i] = 0x9000 + i;
  EXPECT_EQ(rt().claim("unit-d", many.data(), many.size()), -ENOSPC);
  EXPECT_EQ(rt().release("unit-d"), 0u);
}

// Many threads attach and read shadows of objects they share: each object gets
// exactly one shadow, and every get returns its own object's shadow.
TEST_F(Shadow, ManyThreadsShareObjects) {
  const uint64_t id = 0x500;
  ASSERT_EQ(rt().claim("unit-threads", &id, 1), 0);
  constexpr int kObjects = 512, kThreads = 8, kRounds = 4000;
  std::vector<long> objs(kObjects);
  std::vector<std::atomic<void*>> first(kObjects);
  std::atomic<int> wrong{0};
  auto ctor = [](const void* o, void* s, void*) {
    *static_cast<const void**>(s) = o;
    return 0;
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      unsigned seed = 1234u + t;
      for (int r = 0; r < kRounds; ++r) {
        int k = rand_r(&seed) % kObjects;
        void* s = (r & 1) ? rt().get(&objs[k], id) : rt().get_or_alloc(&objs[k], id, 24, ctor, nullptr);
        if (!s) {
          if (!(r & 1)) ++wrong;  // get_or_alloc never fails here
          continue;
        }
        if (*static_cast<const void**>(s) != &objs[k]) ++wrong;
        void* expected = nullptr;
        if (!first[k].compare_exchange_strong(expected, s) && expected != s) ++wrong;  // one shadow per object
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  size_t attached = 0;
  for (auto& f : first) attached += f.load() != nullptr;
  EXPECT_EQ(rt().count(id), attached);
  EXPECT_EQ(rt().release("unit-threads"), attached);
  EXPECT_EQ(rt().count(id), 0u);
}

// Threads attach and free shadows of their own objects as fast as they can; the
// objects' shadows share buckets with the other threads' (the hash mixes them), so
// chains change under every reader. A get returns exactly what its thread did.
TEST_F(Shadow, ManyThreadsAttachAndFree) {
  const uint64_t id = 0x501;
  ASSERT_EQ(rt().claim("unit-churn", &id, 1), 0);
  constexpr int kPerThread = 256, kThreads = 8, kRounds = 20000;
  std::vector<long> objs(kPerThread * kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      unsigned seed = 99u + t;
      std::vector<bool> have(kPerThread);
      for (int r = 0; r < kRounds; ++r) {
        int k = rand_r(&seed) % kPerThread;
        long* o = &objs[t * kPerThread + k];
        void* s = rt().get(o, id);
        if ((s != nullptr) != have[k] || (s && *static_cast<long**>(s) != o)) ++wrong;
        if (have[k]) {
          rt().free(o, id, nullptr);
        } else {
          void* fresh = rt().alloc(o, id, 8 + 8 * (k % 5));
          if (!fresh) ++wrong;
          else *static_cast<long**>(fresh) = o;
        }
        have[k] = !have[k];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  rt().release("unit-churn");
  EXPECT_EQ(rt().count(id), 0u);
}

// A signal handler may read shadows while the thread it interrupted allocates them.
TEST_F(Shadow, GetFromASignalHandler) {
  static const uint64_t id = 0x600;
  ASSERT_EQ(rt().claim("unit-signal", &id, 1), 0);
  static long target_obj;
  static std::atomic<int> seen{0}, wrong{0};
  static void* expected;
  expected = rt().alloc(&target_obj, id, 8);
  ASSERT_NE(expected, nullptr);
  struct sigaction sa = {}, old = {};
  sa.sa_handler = [](int) {
    if (rt().get(&target_obj, id) == expected) ++seen;
    else ++wrong;
  };
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  std::atomic<bool> done{false};
  pthread_t self = pthread_self();
  std::thread kicker([&] {
    while (!done) {
      pthread_kill(self, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  // Until the handler has run often enough (the kicker may start late on a busy machine).
  std::vector<long> objs(500);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (seen < 200 && std::chrono::steady_clock::now() < until) {
    for (auto& o : objs) ASSERT_NE(rt().alloc(&o, id, 32), nullptr);
    for (auto& o : objs) rt().free(&o, id, nullptr);
  }
  done = true;
  kicker.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GE(seen.load(), 200);
  rt().release("unit-signal");
}

}  // namespace
