#include "runtime/shadow.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <new>

#define HOTPATCH_EXPORT extern "C" __attribute__((visibility("default")))

extern "C" {
// Zero-initialised (.bss): `hotpatch list` reads it (no remote call).
__attribute__((visibility("default"))) struct hotpatch_shadow_stats hotpatch_shadow_stats;
}

namespace hotpatch::runtime {

struct ShadowTable::Node {
  std::atomic<Node*> next{nullptr};
  std::atomic<uint64_t> seq{1};  // odd: free, or being changed
  std::atomic<const void*> obj{nullptr};
  std::atomic<uint64_t> id{0};
  std::atomic<void*> data{nullptr};
  size_t size = 0;
  Node* free_next = nullptr;  // on the free list, or on a list of nodes being freed
};

struct ShadowTable::Bucket {
  std::atomic<Node*> head{nullptr};
  std::atomic<uint32_t> seq{0};   // odd while the chain is being changed
  std::atomic<uint32_t> lock{0};  // tid of the writer holding it, 0 if free
};

namespace {

using Node = ShadowTable::Node;
using Bucket = ShadowTable::Bucket;

void add_stat(uint64_t& field, int64_t delta) { __atomic_add_fetch(&field, static_cast<uint64_t>(delta), __ATOMIC_RELAXED); }

// Every signal blocked while a lock of ours is held: a handler that calls into the
// table on the same thread could otherwise spin forever on that lock.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};

uint32_t my_tid() { return static_cast<uint32_t>(::syscall(SYS_gettid)); }

// A spin lock holding the owner's tid. With signals blocked, the only way a thread
// meets a lock it holds itself is a call the Loader runs on it while it was stopped
// inside (a remote call: a patch callback, the release at revert). That fails
// instead of waiting for itself.
class SpinLock {
 public:
  explicit SpinLock(std::atomic<uint32_t>& word) : word_(word) {
    const uint32_t me = my_tid();
    for (int spins = 0;; ++spins) {
      uint32_t expected = 0;
      if (word_.compare_exchange_weak(expected, me, std::memory_order_acquire, std::memory_order_relaxed)) {
        held_ = true;
        return;
      }
      if (expected == me) return;  // held by the code we interrupted: not held_
      if (spins > 64) sched_yield();
    }
  }
  ~SpinLock() {
    if (held_) word_.store(0, std::memory_order_release);
  }
  bool held() const { return held_; }
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

 private:
  std::atomic<uint32_t>& word_;
  bool held_ = false;
};

// Memory for nodes and shadows: mmap'ed chunks, carved and kept on free lists.
// Nodes stay nodes forever (readers rely on it); shadow blocks of up to 2 KiB come
// from per-size free lists, larger ones are mapped and unmapped whole.
class ShadowMemory {
 public:
  static constexpr size_t kChunk = 64 * 1024;
  static constexpr size_t kClasses = 8;  // 16, 32, ... 2048 bytes
  static constexpr size_t kLargest = size_t{16} << (kClasses - 1);

  Node* take_node() {
    SpinLock l(lock_);
    if (!l.held()) return nullptr;
    if (Node* n = free_nodes_) {
      free_nodes_ = n->free_next;
      return n;
    }
    void* raw = carve(sizeof(Node), alignof(Node));
    return raw ? new (raw) Node : nullptr;  // seq starts odd: not live yet
  }
  void put_node(Node* n) {
    SpinLock l(lock_);  // a node that cannot be returned now is only lost, never reused wrongly
    if (!l.held()) return;
    n->free_next = free_nodes_;
    free_nodes_ = n;
  }

  void* take_block(size_t size) {
    if (size > kLargest) {
      void* p = mmap(nullptr, round_pages(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return p == MAP_FAILED ? nullptr : p;  // zeroed by the kernel
    }
    size_t c = class_of(size);
    void* p = nullptr;
    {
      SpinLock l(lock_);
      if (!l.held()) return nullptr;
      if (free_blocks_[c]) {
        p = free_blocks_[c];
        free_blocks_[c] = *static_cast<void**>(p);
      } else {
        p = carve(size_t{16} << c, 16);
      }
    }
    if (p) std::memset(p, 0, size_t{16} << c);
    return p;
  }
  void put_block(void* p, size_t size) {
    if (size > kLargest) {
      munmap(p, round_pages(size));
      return;
    }
    size_t c = class_of(size);
    SpinLock l(lock_);
    if (!l.held()) return;
    *static_cast<void**>(p) = free_blocks_[c];
    free_blocks_[c] = p;
  }

 private:
  static size_t round_pages(size_t n) { return (n + 4095) & ~size_t{4095}; }
  static size_t class_of(size_t size) {
    size_t c = 0;
    while ((size_t{16} << c) < size) ++c;
    return c;
  }
  // Called with lock_ held.
  void* carve(size_t size, size_t align) {
    uintptr_t at = (cursor_ + align - 1) & ~(align - 1);
    if (!cursor_ || at + size > chunk_end_) {
      void* chunk = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (chunk == MAP_FAILED) return nullptr;
      cursor_ = reinterpret_cast<uintptr_t>(chunk);
      chunk_end_ = cursor_ + kChunk;
      at = cursor_;
    }
    cursor_ = at + size;
    return reinterpret_cast<void*>(at);
  }

  std::atomic<uint32_t> lock_{0};
  Node* free_nodes_ = nullptr;
  void* free_blocks_[kClasses] = {};
  uintptr_t cursor_ = 0, chunk_end_ = 0;
};

constinit ShadowMemory memory;

size_t bucket_of(const void* obj, uint64_t id) {
  uint64_t h = (reinterpret_cast<uintptr_t>(obj) >> 3) * 0x9E3779B97F4A7C15ull;
  h ^= id * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  return h & (ShadowTable::kBuckets - 1);
}

// A bucket's chain changes between these two (its seq is odd meanwhile).
struct ChainWrite {
  explicit ChainWrite(Bucket& b) : bucket(b), lock(b.lock) {
    if (lock.held()) bucket.seq.fetch_add(1, std::memory_order_acq_rel);
  }
  ~ChainWrite() {
    if (lock.held()) bucket.seq.fetch_add(1, std::memory_order_release);
  }
  Bucket& bucket;
  SpinLock lock;
};

// The node's fields as one consistent snapshot, or false if it changed meanwhile.
bool read_node(const Node* n, uint64_t& seq, const void*& obj, uint64_t& id, void*& data) {
  seq = n->seq.load(std::memory_order_acquire);
  if (seq & 1) return false;
  obj = n->obj.load(std::memory_order_relaxed);
  id = n->id.load(std::memory_order_relaxed);
  data = n->data.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  return n->seq.load(std::memory_order_relaxed) == seq;
}

// Nodes already unlinked (odd seq): destructors first, with the caller's signal
// mask and no lock, then the memory goes back.
void release_nodes(Node* list, hotpatch_shadow_dtor dtor) {
  if (dtor)
    for (Node* n = list; n; n = n->free_next) dtor(n->obj.load(std::memory_order_relaxed), n->data.load(std::memory_order_relaxed));
  SignalsBlocked quiet;
  while (list) {
    Node* next = list->free_next;
    add_stat(hotpatch_shadow_stats.live, -1);
    add_stat(hotpatch_shadow_stats.bytes, -static_cast<int64_t>(list->size));
    memory.put_block(list->data.load(std::memory_order_relaxed), list->size);
    memory.put_node(list);
    list = next;
  }
}

}  // namespace

// Constant-initialised: no constructor runs when the runtime is loaded.
constinit ShadowTable the_table;

ShadowTable& ShadowTable::instance() { return the_table; }

ShadowTable::Bucket* ShadowTable::buckets(bool create) const {
  Bucket* b = buckets_.load(std::memory_order_acquire);
  if (b || !create) return b;
  // 1 MiB of address space; the kernel gives pages only as buckets are touched.
  void* fresh = mmap(nullptr, kBuckets * sizeof(Bucket), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) return nullptr;
  Bucket* expected = nullptr;
  if (buckets_.compare_exchange_strong(expected, static_cast<Bucket*>(fresh), std::memory_order_acq_rel)) {
    return static_cast<Bucket*>(fresh);
  }
  munmap(fresh, kBuckets * sizeof(Bucket));  // another thread was first
  return expected;
}

void* ShadowTable::get(const void* obj, uint64_t id) const {
  Bucket* table = buckets(false);
  if (!table) return nullptr;
  Bucket& b = table[bucket_of(obj, id)];
  for (int tries = 0;; ++tries) {
    if (tries > 64) sched_yield();
    uint32_t before = b.seq.load(std::memory_order_acquire);
    // A writer is in the middle of this chain: wait, unless that writer is the code
    // this thread was running when the Loader borrowed it for a remote call (a
    // callback): then look once, without the check.
    const bool own_writer = (before & 1) && b.lock.load(std::memory_order_relaxed) == my_tid();
    if ((before & 1) && !own_writer) continue;
    bool changed = false;
    size_t steps = 0;
    for (Node* n = b.head.load(std::memory_order_acquire); n; n = n->next.load(std::memory_order_acquire)) {
      if (++steps > (size_t{1} << 22)) {  // followed recycled nodes for too long: start over
        changed = true;
        break;
      }
      uint64_t seq, nid;
      const void* nobj;
      void* data;
      if (!read_node(n, seq, nobj, nid, data)) continue;  // free or changing: not ours to return
      if (nobj == obj && nid == id) return data;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (own_writer || (!changed && b.seq.load(std::memory_order_relaxed) == before)) return nullptr;
  }
}

void* ShadowTable::alloc(const void* obj, uint64_t id, size_t size, Mode mode, hotpatch_shadow_ctor ctor,
                         void* ctor_data) {
  if (size == 0 || size > kMaxSize) {
    errno = EINVAL;
    return nullptr;
  }
  if (!claimed(id)) {
    errno = ENOENT;
    return nullptr;
  }
  if (mode == Mode::GetOrNew)
    if (void* existing = get(obj, id)) return existing;
  Bucket* table = buckets(true);
  Node* node = nullptr;
  void* data = nullptr;
  if (table) {
    SignalsBlocked quiet;
    node = memory.take_node();
    data = node ? memory.take_block(size) : nullptr;
    if (node && !data) memory.put_node(node);
  }
  if (!table || !node || !data) {
    errno = ENOMEM;
    return nullptr;
  }
  auto discard = [&] {
    SignalsBlocked quiet;
    memory.put_block(data, size);
    memory.put_node(node);
  };
  // The constructor runs before the shadow is visible, with no lock held.
  if (ctor && ctor(obj, data, ctor_data) != 0) {
    discard();
    errno = ECANCELED;
    return nullptr;
  }
  Bucket& b = table[bucket_of(obj, id)];
  void* existing = nullptr;
  {
    SignalsBlocked quiet;
    ChainWrite write(b);
    if (!write.lock.held()) {
      existing = reinterpret_cast<void*>(1);  // interrupted inside our own lock: give up
    } else {
      for (Node* n = b.head.load(std::memory_order_relaxed); n && !existing; n = n->next.load(std::memory_order_relaxed))
        if ((n->seq.load(std::memory_order_relaxed) & 1) == 0 && n->obj.load(std::memory_order_relaxed) == obj &&
            n->id.load(std::memory_order_relaxed) == id)
          existing = n->data.load(std::memory_order_relaxed);
      if (!existing) {
        uint64_t seq = node->seq.load(std::memory_order_relaxed);  // odd: free
        node->obj.store(obj, std::memory_order_relaxed);
        node->id.store(id, std::memory_order_relaxed);
        node->data.store(data, std::memory_order_relaxed);
        node->size = size;
        node->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
        node->seq.store(seq + 1, std::memory_order_release);  // live
        b.head.store(node, std::memory_order_release);
      }
    }
  }
  if (existing == reinterpret_cast<void*>(1)) {
    discard();
    errno = EDEADLK;
    return nullptr;
  }
  if (existing) {
    discard();
    if (mode == Mode::GetOrNew) return existing;
    errno = EEXIST;
    return nullptr;
  }
  add_stat(hotpatch_shadow_stats.live, 1);
  add_stat(hotpatch_shadow_stats.bytes, static_cast<int64_t>(size));
  return data;
}

// Unlinks the live nodes of `id` (and `obj`, unless any_obj) from the chain, which
// the caller has locked, onto *freed. Each one's seq turns odd first, so a reader
// that is looking at it drops it.
ShadowTable::Node* ShadowTable::unlink_matching(Bucket& b, const void* obj, uint64_t id, bool any_obj, Node** freed) {
  std::atomic<Node*>* link = &b.head;
  for (Node* n = link->load(std::memory_order_relaxed); n; n = link->load(std::memory_order_relaxed)) {
    uint64_t seq = n->seq.load(std::memory_order_relaxed);
    bool match = (seq & 1) == 0 && n->id.load(std::memory_order_relaxed) == id &&
                 (any_obj || n->obj.load(std::memory_order_relaxed) == obj);
    if (!match) {
      link = &n->next;
      continue;
    }
    n->seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    link->store(n->next.load(std::memory_order_relaxed), std::memory_order_release);
    n->free_next = *freed;
    *freed = n;
    if (!any_obj) break;
  }
  return *freed;
}

void ShadowTable::free(const void* obj, uint64_t id, hotpatch_shadow_dtor dtor) {
  Bucket* table = buckets(false);
  if (!table) return;
  Node* freed = nullptr;
  {
    SignalsBlocked quiet;
    ChainWrite write(table[bucket_of(obj, id)]);
    if (!write.lock.held()) return;
    unlink_matching(write.bucket, obj, id, false, &freed);
  }
  release_nodes(freed, dtor);
}

size_t ShadowTable::free_all(uint64_t id, hotpatch_shadow_dtor dtor) {
  Bucket* table = buckets(false);
  if (!table) return 0;
  Node* freed = nullptr;
  {
    SignalsBlocked quiet;
    for (size_t i = 0; i < kBuckets; ++i) {
      if (!table[i].head.load(std::memory_order_acquire)) continue;
      ChainWrite write(table[i]);
      if (write.lock.held()) unlink_matching(write.bucket, nullptr, id, true, &freed);
    }
  }
  size_t n = 0;
  for (Node* f = freed; f; f = f->free_next) ++n;
  release_nodes(freed, dtor);
  return n;
}

size_t ShadowTable::count(uint64_t id) const {
  Bucket* table = buckets(false);
  if (!table) return 0;
  size_t n = 0;
  for (size_t i = 0; i < kBuckets; ++i)
    for (Node* node = table[i].head.load(std::memory_order_acquire); node; node = node->next.load(std::memory_order_acquire)) {
      uint64_t seq, nid;
      const void* nobj;
      void* data;
      if (read_node(node, seq, nobj, nid, data) && nid == id) ++n;
    }
  return n;
}

bool ShadowTable::claimed(uint64_t id) const {
  for (const Claim& c : claims_)
    if (c.used.load(std::memory_order_acquire) && c.id.load(std::memory_order_relaxed) == id) return true;
  return false;
}

int ShadowTable::claim(const char* patch_id, const uint64_t* ids, size_t count) {
  if (!patch_id || !*patch_id || std::strlen(patch_id) > kMaxPatchId || (count && !ids)) return -EINVAL;
  SignalsBlocked quiet;
  SpinLock lock(claims_lock_);
  if (!lock.held()) return -EDEADLK;
  size_t free_slots = 0;
  for (const Claim& c : claims_) free_slots += c.used.load(std::memory_order_relaxed) == 0;
  if (free_slots < count) return -ENOSPC;
  for (size_t k = 0; k < count; ++k) {
    bool have = false;
    for (const Claim& c : claims_)
      have |= c.used.load(std::memory_order_relaxed) && c.id.load(std::memory_order_relaxed) == ids[k] &&
              std::strcmp(c.patch, patch_id) == 0;
    if (have) continue;
    for (Claim& c : claims_) {
      if (c.used.load(std::memory_order_relaxed)) continue;
      std::strcpy(c.patch, patch_id);
      c.id.store(ids[k], std::memory_order_relaxed);
      c.used.store(1, std::memory_order_release);
      add_stat(hotpatch_shadow_stats.claims, 1);
      break;
    }
  }
  return 0;
}

size_t ShadowTable::release(const char* patch_id) {
  if (!patch_id) return 0;
  uint64_t dropped[kMaxClaims];
  size_t n = 0;
  {
    SignalsBlocked quiet;
    SpinLock lock(claims_lock_);
    if (!lock.held()) return 0;
    for (Claim& c : claims_) {
      if (!c.used.load(std::memory_order_relaxed) || std::strcmp(c.patch, patch_id) != 0) continue;
      dropped[n++] = c.id.load(std::memory_order_relaxed);
      c.used.store(0, std::memory_order_release);
      add_stat(hotpatch_shadow_stats.claims, -1);
    }
  }
  size_t freed = 0;
  for (size_t k = 0; k < n; ++k)
    if (!claimed(dropped[k])) freed += free_all(dropped[k], nullptr);
  return freed;
}

}  // namespace hotpatch::runtime

using hotpatch::runtime::ShadowTable;

HOTPATCH_EXPORT void* hotpatch_shadow_alloc(const void* obj, uint64_t id, size_t size) {
  return ShadowTable::instance().alloc(obj, id, size, ShadowTable::Mode::New, nullptr, nullptr);
}
HOTPATCH_EXPORT void* hotpatch_shadow_get(const void* obj, uint64_t id) { return ShadowTable::instance().get(obj, id); }
HOTPATCH_EXPORT void* hotpatch_shadow_get_or_alloc(const void* obj, uint64_t id, size_t size, hotpatch_shadow_ctor ctor,
                                                   void* ctor_data) {
  return ShadowTable::instance().alloc(obj, id, size, ShadowTable::Mode::GetOrNew, ctor, ctor_data);
}
HOTPATCH_EXPORT void hotpatch_shadow_free(const void* obj, uint64_t id, hotpatch_shadow_dtor dtor) {
  ShadowTable::instance().free(obj, id, dtor);
}
HOTPATCH_EXPORT void hotpatch_shadow_free_all(uint64_t id, hotpatch_shadow_dtor dtor) {
  ShadowTable::instance().free_all(id, dtor);
}
HOTPATCH_EXPORT size_t hotpatch_shadow_count(uint64_t id) { return ShadowTable::instance().count(id); }
HOTPATCH_EXPORT int hotpatch_shadow_claim(const char* patch_id, const uint64_t* ids, size_t count) {
  return ShadowTable::instance().claim(patch_id, ids, count);
}
HOTPATCH_EXPORT size_t hotpatch_shadow_release(const char* patch_id) { return ShadowTable::instance().release(patch_id); }
